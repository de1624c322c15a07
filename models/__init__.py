"""The model lifecycle: MLflow tracking and registry, pyfunc wrappers, shipped defaults.

This is the only package that talks to MLflow. Three registered models: ``forecasting`` (a pipeline
configuration), ``sentiment`` (a classifier stored with skops) and ``speech`` (a CTranslate2 Whisper
directory). Servers use the version carrying the ``champion`` alias.
"""

from models.registry import CHAMPION, MODEL_NAMES, ModelRegistry, ModelVersionInfo
from models.serving import ChampionCache, ModelUnavailable, ServedModel

__all__ = [
    "CHAMPION",
    "MODEL_NAMES",
    "ChampionCache",
    "ModelRegistry",
    "ModelUnavailable",
    "ModelVersionInfo",
    "ServedModel",
]
