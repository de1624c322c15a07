"""Job kinds, trainers and first-start steps; importing this package registers them all."""

from api.tasks import forecasting, social, speech, training  # noqa: F401
