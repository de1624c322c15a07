"""MLflow models-from-code wrappers, one source file per registered model (logged as code, never pickled)."""
