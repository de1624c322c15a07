"""Training and evaluation of the sentiment classifier from public corpora plus the center's labels.

:func:`train_sentiment` combines the public corpora (each with a weight) with the center's own labelled
comments (weighted up), holds back part of the center's labels for evaluation only, and evaluates on
that part and on each public test set. The metrics are a flat ``{name: float}`` dict, ready for MLflow:
``{prefix}_macro_f1``, ``{prefix}_weighted_f1``, ``{prefix}_accuracy``, ``{prefix}_f1_negative`` ...,
``{prefix}_n`` where ``prefix`` is ``center_eval`` (configurable) or ``<corpus>_test`` with dashes as
underscores (``uit_vsfc_test``, ``vlsp2016_sa_test``, ...).

Macro-F1 is averaged over the classes present in the reference labels (AIVIVN has no neutral class,
UIT-ViHSD only negatives, for which it equals the negative F1).

:func:`review_candidates` orders texts by how unsure the model is (smallest margin between the two most
probable classes first) for analysts to label.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from social_listening.classifier import LABELS, SentimentClassifier
from social_listening.corpora import CORPORA, load_corpus
from social_listening.errors import SocialListeningError

__all__ = [
    "DEFAULT_CORPUS_WEIGHTS",
    "SHIPPABLE_CORPORA",
    "ReviewCandidate",
    "TrainingOptions",
    "TrainingResult",
    "evaluate",
    "review_candidates",
    "train_sentiment",
]

logger = logging.getLogger(__name__)

SHIPPABLE_CORPORA: tuple[str, ...] = ("uit-vsfc", "uit-vsmec", "uit-vihsd", "aivivn-2019-sa")
"""Corpora the shipped default is trained on. VLSP 2016 is left out: its terms forbid shipping models
trained on it without VLSP's permission (it is still used for evaluation)."""

DEFAULT_CORPUS_WEIGHTS: Mapping[str, float] = {
    "uit-vsfc": 1.0,
    "vlsp2016-sa": 1.0,
    "uit-vsmec": 1.0,
    # Hate-speech negatives push every text about people, police or officials to "negative".
    "uit-vihsd": 0.2,
    # Product reviews: large and polar; halved so they do not dominate.
    "aivivn-2019-sa": 0.5,
}


@dataclass(frozen=True)
class TrainingOptions:
    """How to combine and weigh the training data.

    Attributes:
        train_corpora: public corpora whose training split is used.
        eval_corpora: public corpora evaluated on their test split (VLSP on ``all`` when not trained on).
        corpus_weights: sample weight of each public corpus's texts.
        center_weight: sample weight of each center-labelled text (16: with 8 the seed set's praise could
            not outweigh public-corpus confounds such as UIT-VSFC's negative "quá").
        eval_fraction: share of the center labels held back for evaluation when ``center_eval`` is not
            given (stratified by label; 0 disables).
        eval_prefix: metric name prefix of the center evaluation.
        random_state: seed of the held-back split.
        balance_per_source: balance the classes within each source (each public corpus, the center's
            labels) instead of over the whole mixture (see :meth:`SentimentClassifier.fit` ``groups``).
        classifier_params: keyword arguments of :class:`SentimentClassifier` (default ``C=2``: stronger
            regularisation than the classifier's 8, so rare topic n-grams carry less weight; see
            ``experiments/results/sentiment_topic_audit.md``).
    """

    train_corpora: tuple[str, ...] = SHIPPABLE_CORPORA
    eval_corpora: tuple[str, ...] = CORPORA
    corpus_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CORPUS_WEIGHTS))
    center_weight: float = 16.0
    eval_fraction: float = 0.25
    eval_prefix: str = "center_eval"
    random_state: int = 0
    balance_per_source: bool = False
    classifier_params: Mapping[str, Any] = field(default_factory=lambda: {"C": 2.0})


class TrainingResult(NamedTuple):
    """What :func:`train_sentiment` returns; unpacks as ``classifier, metrics``."""

    classifier: SentimentClassifier
    metrics: dict[str, float]


@dataclass(frozen=True)
class ReviewCandidate:
    """A text the model is unsure of. ``margin`` = top-1 minus top-2 probability (0 = undecided);
    ``entropy`` in nats; ``probabilities`` by label."""

    index: int
    label: str
    margin: float
    entropy: float
    probabilities: Mapping[str, float]


def _metric_prefix(name: str, split: str) -> str:
    return f"{name.replace('-', '_')}_{split}"


def evaluate(classifier: Any, texts: Sequence[str], labels: Sequence[str], prefix: str) -> dict[str, float]:
    """Accuracy, macro-F1 (over classes present in ``labels``), weighted F1 and per-class F1.

    Returns:
        ``{f"{prefix}_accuracy": ..., f"{prefix}_macro_f1": ..., f"{prefix}_weighted_f1": ...,
        f"{prefix}_f1_<label>": ..., f"{prefix}_n": n}``; empty for no texts.
    """
    from sklearn.metrics import accuracy_score, f1_score

    if len(texts) == 0:
        return {}
    predicted = list(classifier.predict(list(texts)))
    present = [label for label in LABELS if label in set(labels)]
    per_class = f1_score(labels, predicted, labels=list(LABELS), average=None, zero_division=0)
    out = {
        f"{prefix}_accuracy": float(accuracy_score(labels, predicted)),
        f"{prefix}_macro_f1": float(f1_score(labels, predicted, labels=present, average="macro", zero_division=0)),
        f"{prefix}_weighted_f1": float(f1_score(labels, predicted, average="weighted", zero_division=0)),
        f"{prefix}_n": float(len(texts)),
    }
    for label, value in zip(LABELS, per_class, strict=True):
        if label in present:
            out[f"{prefix}_f1_{label}"] = float(value)
    return out


def _stratified_holdout(labels: Sequence[str], fraction: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    arr = np.asarray(labels)
    for label in LABELS:
        idx = np.flatnonzero(arr == label)
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2 and n > 0:
            held[rng.choice(idx, size=min(n, len(idx) - 1), replace=False)] = True
    return held


def train_sentiment(
    public_dir: str | Path | None,
    center: tuple[Sequence[str], Sequence[str]] = ((), ()),
    *,
    center_eval: tuple[Sequence[str], Sequence[str]] | None = None,
    options: TrainingOptions | None = None,
) -> TrainingResult:
    """Train a :class:`SentimentClassifier` on public corpora plus the center's labels and evaluate it.

    Args:
        public_dir: folder of the public corpora (``../shared/data/sentiment``), or ``None`` to train on
            the center labels alone.
        center: the center's labelled comments ``(texts, labels)``; labels from :data:`LABELS`.
        center_eval: labelled comments used for evaluation only. When ``None``, ``options.eval_fraction``
            of ``center`` is held back (stratified) instead.
        options: data mix and weights; defaults to :class:`TrainingOptions`.

    Returns:
        ``(classifier, metrics)``: metrics include ``n_train_texts``, ``n_center_train``,
        ``n_center_eval``, ``{eval_prefix}_*`` and ``<corpus>_test_*`` (see module docstring).

    Raises:
        SocialListeningError: mismatched lengths, unknown labels or corpora, no training data.
    """
    options = options or TrainingOptions()
    c_texts, c_labels = list(center[0]), list(center[1])
    if len(c_texts) != len(c_labels):
        raise SocialListeningError(
            f"center: expected as many labels as texts. Got: {len(c_texts)} texts, {len(c_labels)} labels"
        )
    unknown = sorted((set(options.train_corpora) | set(options.eval_corpora)) - set(CORPORA))
    if unknown:
        raise SocialListeningError(f"expected corpus names from {CORPORA}. Got: {unknown}")

    if center_eval is not None:
        e_texts, e_labels = list(center_eval[0]), list(center_eval[1])
    elif options.eval_fraction > 0 and len(c_texts) >= 20:
        held = _stratified_holdout(c_labels, options.eval_fraction, options.random_state)
        e_texts = [t for t, h in zip(c_texts, held, strict=True) if h]
        e_labels = [t for t, h in zip(c_labels, held, strict=True) if h]
        c_texts = [t for t, h in zip(c_texts, held, strict=True) if not h]
        c_labels = [t for t, h in zip(c_labels, held, strict=True) if not h]
    else:
        e_texts, e_labels = [], []

    texts: list[str] = list(c_texts)
    labels: list[str] = list(c_labels)
    weights: list[float] = [options.center_weight] * len(c_texts)
    groups: list[str] = ["center"] * len(c_texts)
    metrics: dict[str, float] = {}
    if public_dir is not None:
        for name in options.train_corpora:
            split = "train"
            corpus = load_corpus(public_dir, name, split)
            w = float(options.corpus_weights.get(name, 1.0))
            texts.extend(corpus.texts)
            labels.extend(corpus.labels)
            weights.extend([w] * len(corpus))
            groups.extend([name] * len(corpus))
            metrics[f"n_train_{name.replace('-', '_')}"] = float(len(corpus))
    if not texts:
        raise SocialListeningError("expected training data. Got: no public corpora and no center labels")

    classifier = SentimentClassifier(**dict(options.classifier_params))
    logger.info("training on %d texts (%d from the center)", len(texts), len(c_texts))
    classifier.fit(
        texts,
        labels,
        sample_weight=np.asarray(weights),
        groups=groups if options.balance_per_source else None,
    )

    metrics.update(
        {
            "n_train_texts": float(len(texts)),
            "n_center_train": float(len(c_texts)),
            "n_center_eval": float(len(e_texts)),
        }
    )
    metrics.update(evaluate(classifier, e_texts, e_labels, options.eval_prefix))
    if public_dir is not None:
        for name in options.eval_corpora:
            split = "all" if name == "vlsp2016-sa" and name not in options.train_corpora else "test"
            corpus = load_corpus(public_dir, name, split)
            metrics.update(evaluate(classifier, corpus.texts, corpus.labels, _metric_prefix(name, split)))
    return TrainingResult(classifier, metrics)


def review_candidates(classifier: Any, texts: Sequence[str], k: int = 20) -> list[ReviewCandidate]:
    """The ``k`` texts the model is least sure of, least confident first.

    Ordered by the margin between the two most probable classes (ascending), ties broken by entropy
    (descending). ``classifier`` is anything with ``predict_proba`` over raw texts in :data:`LABELS`
    column order.
    """
    if k <= 0 or len(texts) == 0:
        return []
    proba = np.asarray(classifier.predict_proba(list(texts)), dtype=np.float64)
    top2 = np.sort(proba, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    entropy = -(proba * np.log(np.clip(proba, 1e-12, 1.0))).sum(axis=1)
    order = np.lexsort((-entropy, margin))[:k]
    return [
        ReviewCandidate(
            index=int(i),
            label=LABELS[int(np.argmax(proba[i]))],
            margin=float(margin[i]),
            entropy=float(entropy[i]) if math.isfinite(entropy[i]) else 0.0,
            probabilities={label: float(p) for label, p in zip(LABELS, proba[i], strict=True)},
        )
        for i in order
    ]
