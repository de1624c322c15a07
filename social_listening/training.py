"""Training and evaluation of the sentiment classifier from public corpora plus the center's labels.

:func:`train_sentiment` combines the public corpora (each with a weight) with the center's own labelled
comments (weighted up) and evaluates the result on the fixed held-out split of
:mod:`social_listening.evaluation` (``eval_macro_f1`` ...: the same texts and names for every version),
optionally on a held-back part of the center's labels (``center_eval_*``, not comparable between versions:
the labels grow) and on each public test set. The metrics are a flat ``{name: float}`` dict, ready for
MLflow: ``{prefix}_macro_f1``, ``{prefix}_weighted_f1``, ``{prefix}_accuracy``, ``{prefix}_f1_negative``
..., ``{prefix}_n`` where ``prefix`` is ``eval``, ``eval_challenge``, ``eval_public``, ``center_eval``
(configurable) or ``<corpus>_test`` with dashes as underscores (``uit_vsfc_test``, ...).

A missing public-corpus folder is an error (:class:`~social_listening.errors.PublicCorpusNotFoundError`,
also a ``FileNotFoundError``), never a silent fallback to less data: the caller opts out explicitly with
``public_dir=None`` or ``TrainingOptions(missing_public="skip")``, and the result then says so
(``public_corpus_texts == 0`` and a sentence in ``warnings``).

Macro-F1 is averaged over the classes present in the reference labels (AIVIVN has no neutral class,
UIT-ViHSD only negatives, for which it equals the negative F1).

:func:`review_candidates` orders texts by how unsure the model is (smallest margin between the two most
probable classes first) for analysts to label.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from social_listening.classifier import LABELS, SentimentClassifier
from social_listening.corpora import CORPORA, check_public_dir, load_corpus
from social_listening.errors import PublicCorpusNotFoundError, SocialListeningError
from social_listening.evaluation import EvalSplit, evaluate, heldout_keys, heldout_split
from social_listening.normalize import normalize

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
        eval_corpora: public corpora evaluated on their test split (VLSP on ``all`` when not trained on),
            and sampled for the ``eval_public`` part of the held-out split.
        corpus_weights: sample weight of each public corpus's texts.
        center_weight: sample weight of each center-labelled text (16: with 8 the seed set's praise could
            not outweigh public-corpus confounds such as UIT-VSFC's negative "quá").
        eval_fraction: share of the center labels held back for the ``center_eval_*`` metrics when
            ``center_eval`` is not given (stratified by label; 0, the default, trains on all of them: the
            comparable evaluation is the fixed ``eval_*`` split).
        eval_prefix: metric name prefix of the center evaluation.
        random_state: seed of the held-back split.
        balance_per_source: balance the classes within each source (each public corpus, the center's
            labels) instead of over the whole mixture (see :meth:`SentimentClassifier.fit` ``groups``).
        classifier_params: keyword arguments of :class:`SentimentClassifier` (default ``C=2``: stronger
            regularisation than the classifier's 8, so rare topic n-grams carry less weight; see
            ``experiments/results/sentiment_topic_audit.md``).
        missing_public: what a missing public-corpus folder or file does: ``"raise"`` (default,
            :class:`PublicCorpusNotFoundError`) or ``"skip"`` (train without the public corpora and say
            so in :attr:`TrainingResult.warnings`).
    """

    train_corpora: tuple[str, ...] = SHIPPABLE_CORPORA
    eval_corpora: tuple[str, ...] = CORPORA
    corpus_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CORPUS_WEIGHTS))
    center_weight: float = 16.0
    eval_fraction: float = 0.0
    eval_prefix: str = "center_eval"
    random_state: int = 0
    balance_per_source: bool = False
    classifier_params: Mapping[str, Any] = field(default_factory=lambda: {"C": 2.0})
    missing_public: Literal["raise", "skip"] = "raise"


@dataclass(frozen=True)
class TrainingResult:
    """What :func:`train_sentiment` returns. Still unpacks as ``classifier, metrics``.

    Attributes:
        classifier: the fitted model.
        metrics: flat ``{name: float}`` (module docstring), including the counts below as ``n_*``.
        center_texts: center-labelled texts trained on (``center`` minus held-back and held-out ones).
        center_excluded: center texts left out because they are in the fixed held-out split (same text
            after :func:`~social_listening.normalize.normalize`).
        center_eval_texts: center texts evaluated on as ``center_eval_*`` (given or held back).
        public_corpus_texts: public-corpus texts trained on, all corpora together (0 without them).
        public_texts_by_corpus: the same per corpus name.
        eval_fingerprint: :attr:`social_listening.evaluation.EvalSplit.fingerprint` of the split the
            ``eval*`` metrics were computed on (log it with the version).
        warnings: sentences to record on the version (e.g. trained without the public corpora).
    """

    classifier: SentimentClassifier
    metrics: dict[str, float]
    center_texts: int = 0
    center_excluded: int = 0
    center_eval_texts: int = 0
    public_corpus_texts: int = 0
    public_texts_by_corpus: Mapping[str, int] = field(default_factory=dict)
    eval_fingerprint: str = ""
    warnings: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Any]:
        """``classifier, metrics = train_sentiment(...)`` keeps working."""
        return iter((self.classifier, self.metrics))


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


def _public_available(public_dir: str | Path | None, options: TrainingOptions) -> tuple[Path | None, list[str]]:
    if public_dir is None:
        return None, [
            "trained without the public corpora (public_dir=None): only the center's labels, "
            "expect weaker generic sentiment vocabulary"
        ]
    try:
        return check_public_dir(public_dir, tuple(dict.fromkeys(options.train_corpora + options.eval_corpora))), []
    except PublicCorpusNotFoundError as e:
        if options.missing_public != "skip":
            raise
        logger.warning("training without the public corpora: %s", e)
        return None, [f"trained without the public corpora (missing_public='skip'): {e}"]


def train_sentiment(
    public_dir: str | Path | None,
    center: tuple[Sequence[str], Sequence[str]] = ((), ()),
    *,
    center_eval: tuple[Sequence[str], Sequence[str]] | None = None,
    options: TrainingOptions | None = None,
    eval_split: EvalSplit | None = None,
) -> TrainingResult:
    """Train a :class:`SentimentClassifier` on public corpora plus the center's labels and evaluate it.

    Args:
        public_dir: folder of the public corpora (``IOC_SOCIAL__PUBLIC_DATA_DIR``, layout of
            ``../shared/data/sentiment``), or ``None`` to train on the center labels alone (an explicit
            opt-out, recorded in ``warnings``).
        center: the center's labelled comments ``(texts, labels)``, e.g. the seed set's ``train`` split
            plus the analysts' labels; labels from :data:`LABELS`. Texts that are in the fixed held-out
            split are left out (counted in ``center_excluded``).
        center_eval: labelled comments evaluated on as ``center_eval_*`` only. When ``None``,
            ``options.eval_fraction`` of ``center`` is held back (stratified) instead (default 0: none).
        options: data mix and weights; defaults to :class:`TrainingOptions`.
        eval_split: the held-out split; default :func:`social_listening.evaluation.heldout_split` of the
            public corpora used (seed parts only without them).

    Returns:
        :class:`TrainingResult`; ``metrics`` hold ``eval_*``, ``eval_challenge_*``, ``eval_public_*``
        (with the public corpora), ``center_eval_*`` (when there is a center evaluation), ``<corpus>_test_*``
        and the counts ``n_train_texts``, ``n_center_train``, ``n_center_excluded``, ``n_center_eval``,
        ``n_public_train``, ``n_train_<corpus>``.

    Raises:
        PublicCorpusNotFoundError: ``public_dir`` or a corpus file is missing (unless
            ``options.missing_public == "skip"``); also a ``FileNotFoundError``.
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
    if options.missing_public not in ("raise", "skip"):
        raise SocialListeningError(f"missing_public: expected 'raise' or 'skip'. Got: {options.missing_public!r}")
    public, warnings = _public_available(public_dir, options)
    split = eval_split or heldout_split(public, corpora=options.eval_corpora)

    held_out = heldout_keys(split)
    keep = [normalize(t) not in held_out for t in c_texts]
    excluded = keep.count(False)
    if excluded:
        logger.info("left out %d center texts that are in the held-out evaluation split", excluded)
        c_texts = [t for t, k in zip(c_texts, keep, strict=True) if k]
        c_labels = [y for y, k in zip(c_labels, keep, strict=True) if k]

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
    by_corpus: dict[str, int] = {}
    if public is not None:
        for name in options.train_corpora:
            corpus = load_corpus(public, name, "train")
            w = float(options.corpus_weights.get(name, 1.0))
            texts.extend(corpus.texts)
            labels.extend(corpus.labels)
            weights.extend([w] * len(corpus))
            groups.extend([name] * len(corpus))
            by_corpus[name] = len(corpus)
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

    n_public = sum(by_corpus.values())
    metrics.update(
        {
            "n_train_texts": float(len(texts)),
            "n_center_train": float(len(c_texts)),
            "n_center_excluded": float(excluded),
            "n_center_eval": float(len(e_texts)),
            "n_public_train": float(n_public),
        }
    )
    for part in split.parts:
        metrics.update(evaluate(classifier, part.texts, part.labels, part.prefix))
    metrics.update(evaluate(classifier, e_texts, e_labels, options.eval_prefix))
    if public is not None:
        for name in options.eval_corpora:
            split_name = "all" if name == "vlsp2016-sa" and name not in options.train_corpora else "test"
            corpus = load_corpus(public, name, split_name)
            metrics.update(evaluate(classifier, corpus.texts, corpus.labels, _metric_prefix(name, split_name)))
    return TrainingResult(
        classifier=classifier,
        metrics=metrics,
        center_texts=len(c_texts),
        center_excluded=excluded,
        center_eval_texts=len(e_texts),
        public_corpus_texts=n_public,
        public_texts_by_corpus=by_corpus,
        eval_fingerprint=split.fingerprint,
        warnings=tuple(warnings),
    )


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
