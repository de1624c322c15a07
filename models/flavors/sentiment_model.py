"""MLflow pyfunc for the ``sentiment`` model: a classifier stored with skops (``model.skops``)."""

from __future__ import annotations

from typing import Any

from mlflow.models import set_model
from mlflow.pyfunc import PythonModel


class SentimentModel(PythonModel):
    """Input: a DataFrame with a ``text`` column (or a list of str); output: label and class probabilities."""

    # No type-hint validation of predict(): its inputs are checked by the libraries, and without this MLflow
    # warned "Add type hints to the `predict` method" every time a flavor file ran (each log and each load).
    _skip_type_hint_validation = True

    def load_context(self, context: Any) -> None:
        from social_listening import SentimentClassifier

        self.classifier = SentimentClassifier.load(context.artifacts["classifier"])

    def predict(self, context: Any, model_input, params=None):  # type: ignore[no-untyped-def]  # no hints: MLflow would validate them
        import pandas as pd

        texts = list(model_input["text"]) if hasattr(model_input, "columns") else list(model_input)
        proba = self.classifier.predict_proba(texts)
        classes = list(self.classifier.classes_)
        frame = pd.DataFrame(proba, columns=classes)
        frame.insert(0, "label", [classes[i] for i in proba.argmax(axis=1)])
        return frame


set_model(SentimentModel())
