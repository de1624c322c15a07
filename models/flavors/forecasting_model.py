"""MLflow pyfunc for the ``forecasting`` model: a pipeline configuration (``config.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class ForecastingModel(PythonModel):
    """Input: long DataFrame ``unique_id, ds, y``; params ``horizon``, ``levels``, ``freq``."""

    # No type-hint validation of predict(): its inputs are checked by the libraries, and without this MLflow
    # warned "Add type hints to the `predict` method" every time a flavor file ran (each log and each load).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        from forecasting.config import PipelineConfig

        self.config = PipelineConfig.from_dict(json.loads(Path(context.artifacts["config"]).read_text("utf-8")))

    def predict(self, context: Any, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow would validate them
        from forecasting import forecast_frame

        params = params or {}
        return forecast_frame(
            model_input,
            horizon=int(params.get("horizon", 12)),
            levels=list(params.get("levels", [80, 95])),
            freq=params.get("freq"),
            config=self.config,
            n_jobs=1,
        )


set_model(ForecastingModel())
