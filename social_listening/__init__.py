"""Social listening: Vietnamese comments -> normalised -> sentiment / topics -> trends and alerts.

A pure library (no web, no MLflow). Heavy modules (scikit-learn, transformers) load on first use.

Example::

    >>> from social_listening import SentimentClassifier, normalize, tag_topics
    >>> normalize("Đường đèo Prenn kẹt xe quá, mn đi đường khác nha")
    'đường đèo prenn kẹt xe quá mọi người đi đường khác nha'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from social_listening.errors import (
    CorpusError,
    ModelFormatError,
    PublicCorpusNotFoundError,
    SocialListeningError,
    TextError,
)
from social_listening.normalize import normalize, strip_diacritics, validate_text, validate_texts

if TYPE_CHECKING:
    from social_listening.classifier import LABELS, SentimentClassifier, load_classifier
    from social_listening.encoder import EncoderSentimentClassifier
    from social_listening.priors import PriorShift, adapt_priors
    from social_listening.topics import TOPIC_NAMES, TOPICS, tag_topics, topic_name
    from social_listening.training import TrainingOptions, review_candidates, train_sentiment
    from social_listening.trends import Alert, AlertOptions, TrendSummary, detect_spikes, summarize_trends

__all__ = [
    "LABELS",
    "TOPICS",
    "TOPIC_NAMES",
    "Alert",
    "AlertOptions",
    "CorpusError",
    "EncoderSentimentClassifier",
    "ModelFormatError",
    "PriorShift",
    "PublicCorpusNotFoundError",
    "SentimentClassifier",
    "SocialListeningError",
    "TextError",
    "TrainingOptions",
    "TrendSummary",
    "adapt_priors",
    "detect_spikes",
    "load_classifier",
    "normalize",
    "review_candidates",
    "strip_diacritics",
    "summarize_trends",
    "tag_topics",
    "topic_name",
    "train_sentiment",
    "validate_text",
    "validate_texts",
]

_LAZY = {
    "LABELS": "classifier",
    "SentimentClassifier": "classifier",
    "load_classifier": "classifier",
    "EncoderSentimentClassifier": "encoder",
    "PriorShift": "priors",
    "adapt_priors": "priors",
    "TOPICS": "topics",
    "TOPIC_NAMES": "topics",
    "topic_name": "topics",
    "tag_topics": "topics",
    "TrainingOptions": "training",
    "review_candidates": "training",
    "train_sentiment": "training",
    "Alert": "trends",
    "AlertOptions": "trends",
    "TrendSummary": "trends",
    "detect_spikes": "trends",
    "summarize_trends": "trends",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'social_listening' has no attribute {name!r}")
    return getattr(importlib.import_module(f"social_listening.{module}"), name)
