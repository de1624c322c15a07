"""The fixed held-out evaluation of every sentiment model version, under one set of metric names.

Every version (the shipped default, each retraining) is scored on the same texts:

- ``eval_*``: the seed set's ``eval`` split (``data/seed/seed_comments.tsv``, 310 comments about
  provincial matters, shipped with the package, never trained on). Always available, so every version has
  it: ``eval_macro_f1`` is the number to compare versions by.
- ``eval_challenge_*``: the seed set's ``challenge`` split (short minimal pairs; evaluation only).
- ``eval_public_*``: when the public corpora are at hand, a fixed sample of ``per_corpus`` texts of each
  corpus's test split (drawn with a fixed seed, so the same files give the same sample). Only comparable
  between versions whose ``eval_fingerprint`` is the same (the fingerprint covers all three parts).

Each part gives ``{part}_accuracy``, ``{part}_macro_f1`` (over the classes present), ``{part}_weighted_f1``,
``{part}_f1_negative`` / ``_neutral`` / ``_positive`` and ``{part}_n``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from social_listening.classifier import LABELS
from social_listening.corpora import CORPORA, check_public_dir, load_corpus, load_seed
from social_listening.normalize import normalize

__all__ = [
    "EVAL_PER_CORPUS",
    "EVAL_PREFIX",
    "EVAL_SEED",
    "EvalPart",
    "EvalSplit",
    "evaluate",
    "evaluate_heldout",
    "heldout_keys",
    "heldout_split",
]

EVAL_PREFIX = "eval"
"""Prefix of the metrics every version reports on the seed ``eval`` split (``eval_macro_f1``, ...)."""

EVAL_SEED = 20261125
"""Seed of the public-corpus sample; never change it, or versions stop being comparable."""

EVAL_PER_CORPUS = 200
"""Texts drawn from each public corpus's test split (all of it when smaller)."""


@dataclass(frozen=True)
class EvalPart:
    """One part of the held-out split: metric ``prefix``, parallel ``texts`` and ``labels``."""

    prefix: str
    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class EvalSplit:
    """The held-out split: its parts (``eval``, ``eval_challenge``, optionally ``eval_public``) and a
    fingerprint (sha256 hex of every part's prefix, texts and labels) to log with each version."""

    parts: tuple[EvalPart, ...]
    fingerprint: str

    @property
    def texts(self) -> tuple[str, ...]:
        """All held-out texts (to keep out of training)."""
        return tuple(t for part in self.parts for t in part.texts)

    def part(self, prefix: str) -> EvalPart | None:
        """The part with this metric prefix, or ``None`` when the split has none (``eval_public``)."""
        return next((p for p in self.parts if p.prefix == prefix), None)


def _sample(texts: Sequence[str], labels: Sequence[str], n: int, seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if len(texts) <= n:
        return tuple(texts), tuple(labels)
    keep = np.sort(np.random.default_rng(seed).choice(len(texts), size=n, replace=False))
    return tuple(texts[i] for i in keep), tuple(labels[i] for i in keep)


def heldout_split(
    public_dir: str | Path | None = None,
    *,
    per_corpus: int = EVAL_PER_CORPUS,
    corpora: Sequence[str] = CORPORA,
    seed: int = EVAL_SEED,
) -> EvalSplit:
    """The fixed evaluation split (see the module docstring); deterministic for the same files.

    Args:
        public_dir: folder of the public corpora, or ``None`` for the seed parts only.
        per_corpus: texts sampled from each corpus's test split (``0``: no public part).
        corpora: the corpora sampled, in this order.
        seed: sampling seed (keep the default: it is what makes versions comparable).

    Raises:
        PublicCorpusNotFoundError: ``public_dir`` is given but the folder or a test file is missing.
    """
    seed_set = load_seed()
    parts = [
        EvalPart(EVAL_PREFIX, seed_set.subset("eval").texts, seed_set.subset("eval").labels),
        EvalPart(f"{EVAL_PREFIX}_challenge", seed_set.subset("challenge").texts, seed_set.subset("challenge").labels),
    ]
    if public_dir is not None and per_corpus > 0:
        check_public_dir(public_dir, corpora)
        texts: list[str] = []
        labels: list[str] = []
        for k, name in enumerate(corpora):
            corpus = load_corpus(public_dir, name, "test")
            t, y = _sample(corpus.texts, corpus.labels, per_corpus, seed + k)
            texts.extend(t)
            labels.extend(y)
        parts.append(EvalPart(f"{EVAL_PREFIX}_public", tuple(texts), tuple(labels)))
    digest = hashlib.sha256()
    for part in parts:
        digest.update(f"#{part.prefix}\n".encode())
        for text, label in zip(part.texts, part.labels, strict=True):
            digest.update(f"{text}\t{label}\n".encode())
    return EvalSplit(parts=tuple(parts), fingerprint=digest.hexdigest())


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


def evaluate_heldout(classifier: Any, split: EvalSplit | None = None) -> dict[str, float]:
    """Metrics of ``classifier`` (anything with ``predict`` over raw texts) on every part of ``split``
    (default: :func:`heldout_split` without public corpora), named as in the module docstring."""
    split = split or heldout_split()
    metrics: dict[str, float] = {}
    for part in split.parts:
        metrics.update(evaluate(classifier, part.texts, part.labels, part.prefix))
    return metrics


def heldout_keys(split: EvalSplit) -> frozenset[str]:
    """Normalised forms of the held-out texts: a training text with one of these forms is left out."""
    return frozenset(normalize(t) for t in split.texts)
