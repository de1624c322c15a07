"""Where the models shipped with the project lie (package data, read-only)."""

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent
#: The default sentiment classifier (``model.skops``), its metrics and model card.
SENTIMENT_DIR = SHIPPED_DIR / "sentiment"
#: The clip and reference text every speech version is evaluated on.
SPEECH_EVAL_DIR = SHIPPED_DIR / "speech_eval"

__all__ = ["SENTIMENT_DIR", "SHIPPED_DIR", "SPEECH_EVAL_DIR"]
