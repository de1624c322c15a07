"""Job kinds and model trainers; importing this package registers them all."""

from api.tasks import training  # noqa: F401
