"""MLflow pyfunc for the ``speech`` model: a CTranslate2 Whisper directory (``model_dir``).

Loading only checks the directory; the Whisper model itself is created by the worker that transcribes
(``model_dir`` is what it needs), so API processes never hold Whisper in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

REQUIRED = ("model.bin", "config.json")


class SpeechModel(PythonModel):
    # No type-hint validation of predict(): its inputs are checked by the libraries, and without this MLflow
    # warned "Add type hints to the `predict` method" every time a flavor file ran (each log and each load).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        model_dir = Path(context.artifacts["model_dir"])
        missing = [f for f in REQUIRED if not (model_dir / f).is_file()]
        if missing:
            raise ValueError(f"{model_dir} is not a CTranslate2 Whisper directory: missing {', '.join(missing)}")
        if not any((model_dir / f).is_file() for f in ("tokenizer.json", "vocabulary.json", "vocabulary.txt")):
            raise ValueError(f"{model_dir} has no tokenizer.json or vocabulary file")
        self.model_dir = model_dir

    def predict(self, context: Any, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow would validate them
        from speech import Transcriber

        transcriber = Transcriber(self.model_dir)
        paths = list(model_input["path"]) if hasattr(model_input, "columns") else list(model_input)
        return [" ".join(seg.text for seg in transcriber.transcribe(p)) for p in paths]


set_model(SpeechModel())
