"""Scoring texts with a fitted classifier: label, class probabilities and topics, one value per text.

The service, ``ioc sentiment`` and the MLflow flavor all score through :func:`score_texts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class ProbabilisticClassifier(Protocol):
    classes_: Any

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class TextScore:
    """One scored text.

    Attributes:
        label: the most probable class, ``"negative"``, ``"neutral"`` or ``"positive"``.
        scores: probability of each class (sums to 1), rounded to 6 decimals.
        topics: topic codes the text mentions (see :func:`social_listening.tag_topics`).
    """

    label: str
    scores: dict[str, float]
    topics: tuple[str, ...]


def score_texts(classifier: ProbabilisticClassifier, texts: Sequence[str]) -> list[TextScore]:
    """Score validated texts (see :func:`social_listening.validate_texts`) with ``classifier``."""
    from social_listening.topics import tag_topics

    if not texts:
        return []
    proba = np.asarray(classifier.predict_proba(list(texts)))
    classes = [str(c) for c in classifier.classes_]
    out = []
    for text, row in zip(texts, proba, strict=True):
        scores = {c: round(float(p), 6) for c, p in zip(classes, row, strict=True)}
        out.append(TextScore(classes[int(np.argmax(row))], scores, tuple(tag_topics(text))))
    return out
