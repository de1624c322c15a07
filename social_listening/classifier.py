"""Three-class sentiment classifier: word and character n-grams with a linear model.

:class:`SentimentClassifier` is a scikit-learn style estimator over raw texts. Every text goes through
:func:`social_listening.normalize.normalize` (the same call in ``fit`` and ``predict``); training also
sees a diacritics-free copy of each text so that comments typed without tone marks are understood.
Features are hashed (no vocabulary to store; :mod:`social_listening.features`), TF-IDF weighted and
L2-normalised per block (words, characters); the model is a multinomial logistic regression whose
probabilities are calibrated by temperature scaling on a held-out slice of the training data.

The fitted state is plain numpy arrays (float32), saved with skops (:meth:`SentimentClassifier.save`)
and loaded with an explicit list of trusted types; no pickle.
"""

from __future__ import annotations

import logging
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from social_listening.errors import ModelFormatError, SocialListeningError
from social_listening.features import char_ngram_counts, word_ngram_counts
from social_listening.labels import LABELS, label_indices
from social_listening.normalize import normalize, strip_diacritics

__all__ = ["LABELS", "SentimentClassifier", "load_classifier"]

logger = logging.getLogger(__name__)

FORMAT_NAME = "social_listening.SentimentClassifier"
FORMAT_VERSION = 1

# Everything a saved SentimentClassifier may contain; skops refuses anything else on load.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
)


class SentimentClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Negative / neutral / positive classifier over raw Vietnamese comments.

    Args:
        word_ngrams: (min_n, max_n) of word (syllable) n-grams.
        char_ngrams: (min_n, max_n) of character n-grams inside word boundaries; ``None`` disables them.
        n_features: hash space size of each block (words, characters); a power of two.
        C: inverse L2 regularisation strength of the logistic regression.
        class_weight: ``"balanced"`` (classes weighted to equal total weight) or ``None``.
        diacritics_free_copies: also train on the diacritics-stripped copy of each text.
        calibrate: fit a softmax temperature on ``calibration_fraction`` of the training texts.
        calibration_fraction: share of texts held out to fit the temperature (then refit on all).
        max_iter: iterations of the L-BFGS solver.
        random_state: seed of the calibration split.

    Fitted attributes: ``classes_`` (labels, shape (3,)), ``coef_`` (float32, shape (3, n_blocks *
    n_features)), ``intercept_`` (float32, shape (3,)), ``idf_`` (float32, shape (n_blocks *
    n_features,)), ``temperature_`` (float), ``n_train_texts_`` (int), ``class_prior_`` (float64, shape
    (3,): the class mix the probabilities carry, i.e. each class's share of the training weight after class
    weighting; uniform over the trained classes with ``class_weight="balanced"``; the ``train_prior`` of
    :func:`social_listening.priors.adapt_priors`).
    """

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 4),
        n_features: int = 2**18,
        C: float = 8.0,
        class_weight: str | None = "balanced",
        diacritics_free_copies: bool = True,
        calibrate: bool = True,
        calibration_fraction: float = 0.1,
        max_iter: int = 300,
        random_state: int = 0,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.n_features = n_features
        self.C = C
        self.class_weight = class_weight
        self.diacritics_free_copies = diacritics_free_copies
        self.calibrate = calibrate
        self.calibration_fraction = calibration_fraction
        self.max_iter = max_iter
        self.random_state = random_state

    # ------------------------------------------------------------------ features
    def _blocks(self, normalized: Sequence[str]) -> list[sp.csr_matrix]:
        """Sublinear term counts per block (words, then characters), each shape (n, n_features)."""
        blocks = [word_ngram_counts(normalized, _pair(self.word_ngrams), self.n_features)]
        if self.char_ngrams is not None:
            blocks.append(char_ngram_counts(normalized, _pair(self.char_ngrams), self.n_features))
        for block in blocks:
            block.data = 1.0 + np.log(block.data)
        return blocks

    def _weigh(self, blocks: list[sp.csr_matrix], idf: NDArray[np.float32]) -> sp.csr_matrix:
        """TF-IDF, L2-normalised per block (so words and characters weigh the same), side by side."""
        scale = 1.0 / math.sqrt(len(blocks))
        out = []
        for j, block in enumerate(blocks):
            x = block.copy()
            x.data = x.data * idf[j * self.n_features + x.indices]
            rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
            norms = np.sqrt(np.bincount(rows, weights=x.data.astype(np.float64) ** 2, minlength=x.shape[0]))
            norms[norms == 0] = 1.0
            x.data = (x.data / norms[rows] * scale).astype(np.float32)
            out.append(x)
        return sp.hstack(out, format="csr", dtype=np.float32)

    def _idf(self, blocks: list[sp.csr_matrix], weights: NDArray[np.float64]) -> NDArray[np.float32]:
        # Smoothed idf over (weighted) documents, as TfidfTransformer(smooth_idf=True).
        n = float(weights.sum())
        parts = []
        for block in blocks:
            rows = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
            df = np.bincount(block.indices, weights=weights[rows], minlength=self.n_features)
            parts.append(np.log((1.0 + n) / (1.0 + df)) + 1.0)
        return np.concatenate(parts).astype(np.float32)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        sample_weight: Sequence[float] | NDArray[np.floating[Any]] | None = None,
        groups: Sequence[str] | None = None,
    ) -> SentimentClassifier:
        """Fit on raw texts and labels from :data:`LABELS`.

        Args:
            texts: raw comments, shape (n,).
            labels: "negative" / "neutral" / "positive", shape (n,).
            sample_weight: non-negative weight per text, shape (n,); default 1.
            groups: source of each text (corpus name, "center"), shape (n,). With
                ``class_weight="balanced"`` the classes are balanced *within* each group (each group keeps
                its total weight) instead of over the whole mixture, so that a class that is rare in the
                public corpora (neutral) does not inflate the weight of one source's texts of that class
                (and with them that source's topic words).

        Returns:
            self
        """
        texts = list(texts)
        y = label_indices(list(labels))
        if len(texts) != len(y):
            raise SocialListeningError(f"expected as many labels as texts. Got: {len(texts)} texts, {len(y)} labels")
        w = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (len(texts),) or (w < 0).any():
            raise SocialListeningError(f"expected {len(texts)} non-negative sample weights. Got: shape {w.shape}")
        present = set(np.unique(y[w > 0]).tolist())
        if len(present) < 2:
            raise SocialListeningError(f"expected at least two classes with weight > 0. Got: {sorted(present)}")
        w_fit = w
        if groups is not None:
            groups = list(groups)
            if len(groups) != len(texts):
                raise SocialListeningError(
                    f"expected one group per text. Got: {len(groups)} groups, {len(texts)} texts"
                )
            if self.class_weight == "balanced":
                w_fit = _balance_within_groups(y, w, groups)
        balance_all = groups is None
        normalized = [normalize(t) for t in texts]
        temperature = 1.0
        if self.calibrate and len(texts) >= 50:
            rng = np.random.default_rng(self.random_state)
            held = rng.random(len(texts)) < self.calibration_fraction
            if held.any() and (~held).any():
                coef, intercept, idf = self._fit_linear(
                    [t for t, h in zip(normalized, held, strict=True) if not h],
                    y[~held],
                    w_fit[~held],
                    balance_all,
                )
                held_texts = [t for t, h in zip(normalized, held, strict=True) if h]
                logits = self._logits(held_texts, coef, intercept, idf)
                temperature = _fit_temperature(logits, y[held], w[held])
        self.coef_, self.intercept_, self.idf_ = self._fit_linear(normalized, y, w_fit, balance_all)
        self.class_prior_ = _class_prior(y, w_fit, self.class_weight == "balanced" and balance_all)
        self.temperature_ = float(temperature)
        self.classes_ = np.array(LABELS)
        self.n_train_texts_ = len(texts)
        logger.info("fitted SentimentClassifier on %d texts (temperature %.3f)", len(texts), temperature)
        return self

    def _fit_linear(
        self, normalized: list[str], y: NDArray[np.int64], w: NDArray[np.float64], balance: bool = True
    ) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
        if self.diacritics_free_copies:
            stripped = [strip_diacritics(t) for t in normalized]
            keep = np.array([s != t for s, t in zip(stripped, normalized, strict=True)], dtype=bool)
            normalized = normalized + [s for s, k in zip(stripped, keep, strict=True) if k]
            y = np.concatenate([y, y[keep]])
            w = np.concatenate([w, w[keep]])
        blocks = self._blocks(normalized)
        idf = self._idf(blocks, w)
        x = self._weigh(blocks, idf)
        weights = w.copy()
        if self.class_weight == "balanced" and balance:
            totals = np.bincount(y, weights=w, minlength=len(LABELS))
            present = totals > 0
            factors = np.zeros(len(LABELS))
            factors[present] = totals[present].sum() / (present.sum() * totals[present])
            weights = w * factors[y]
        elif self.class_weight not in (None, "balanced"):
            raise SocialListeningError(f"class_weight: expected 'balanced' or None. Got: {self.class_weight!r}")
        weights = weights * (len(weights) / weights.sum())  # keep C's meaning independent of the scale
        model = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=1e-4)
        model.fit(x, y, sample_weight=weights)
        coef = np.zeros((len(LABELS), x.shape[1]), dtype=np.float32)
        intercept = np.zeros(len(LABELS), dtype=np.float32)
        if len(model.classes_) == 2:  # binary problem: sklearn stores one row for classes_[1]
            coef[model.classes_[1]] = model.coef_[0] / 2
            coef[model.classes_[0]] = -model.coef_[0] / 2
            intercept[model.classes_[1]] = model.intercept_[0] / 2
            intercept[model.classes_[0]] = -model.intercept_[0] / 2
            missing = [c for c in range(len(LABELS)) if c not in model.classes_]
            intercept[missing] = -1e4
        else:
            coef[model.classes_] = model.coef_
            intercept[model.classes_] = model.intercept_
        return coef, intercept, idf

    def _logits(
        self,
        normalized: Sequence[str],
        coef: NDArray[np.float32],
        intercept: NDArray[np.float32],
        idf: NDArray[np.float32],
    ) -> NDArray[np.float32]:
        x = self._weigh(self._blocks(normalized), idf)
        return np.asarray(x @ coef.T, dtype=np.float32) + intercept

    # ------------------------------------------------------------------ predict
    def decision_function(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Temperature-scaled logits, shape (n, 3), columns in :data:`LABELS` order."""
        check_is_fitted(self, "coef_")
        if isinstance(texts, str):
            raise SocialListeningError("expected a sequence of texts. Got: a single str")
        normalized = [normalize(t) for t in texts]
        return self._logits(normalized, self.coef_, self.intercept_, self.idf_) / self.temperature_

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Calibrated probabilities, shape (n, 3), rows sum to 1, columns in :data:`LABELS` order."""
        return _softmax(self.decision_function(texts))

    def predict(self, texts: Sequence[str]) -> NDArray[np.str_]:
        """Most probable label per text, shape (n,)."""
        labels: NDArray[np.str_] = np.asarray(LABELS)[np.argmax(self.decision_function(texts), axis=1)]
        return labels

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (a ``.skops`` file, compressed); returns the path."""
        check_is_fitted(self, "coef_")
        import skops.io

        state = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()},
            "coef": self.coef_,
            "intercept": self.intercept_,
            "idf": self.idf_,
            "temperature": self.temperature_,
            "n_train_texts": self.n_train_texts_,
            "class_prior": np.asarray(self.class_prior_, dtype=np.float64),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        skops.io.dump(state, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SentimentClassifier:
        """Load a model written by :meth:`save`, trusting only :data:`TRUSTED_TYPES`.

        Raises:
            ModelFormatError: missing file, not a skops file, untrusted types or another format.
        """
        import skops.io

        path = Path(path)
        if not path.is_file():
            raise ModelFormatError(f"expected a .skops model file. Got: {path} (not a file)")
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
        except Exception as e:  # skops raises several types for a corrupt archive
            raise ModelFormatError(f"expected a skops file. Got: {path} ({e})") from e
        unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unexpected:
            raise ModelFormatError(f"refusing to load {path}: untrusted types {unexpected}")
        state = skops.io.load(path, trusted=list(untrusted))
        if not isinstance(state, dict) or state.get("format") != FORMAT_NAME:
            raise ModelFormatError(f"expected a {FORMAT_NAME} file. Got: {path}")
        if state.get("version") != FORMAT_VERSION:
            raise ModelFormatError(f"expected format version {FORMAT_VERSION}. Got: {state.get('version')!r}")
        params = dict(state["params"])
        for key in ("word_ngrams", "char_ngrams"):
            if params.get(key) is not None:
                params[key] = tuple(params[key])
        model = cls(**params)
        model.coef_ = np.asarray(state["coef"], dtype=np.float32)
        model.intercept_ = np.asarray(state["intercept"], dtype=np.float32)
        model.idf_ = np.asarray(state["idf"], dtype=np.float32)
        model.temperature_ = float(state["temperature"])
        model.n_train_texts_ = int(state["n_train_texts"])
        # Files written before class_prior was saved were all fitted with balanced class weights.
        prior = state.get("class_prior")
        if prior is None:
            model.class_prior_ = np.full(len(LABELS), 1.0 / len(LABELS))
        else:
            prior = np.asarray(prior, dtype=np.float64)
            if prior.shape != (len(LABELS),) or not np.all(prior >= 0) or not np.isclose(prior.sum(), 1.0):
                raise ModelFormatError(
                    f"expected class_prior of {len(LABELS)} non-negative shares summing to 1 in {path}. "
                    f"Got: {prior.tolist()}"
                )
            model.class_prior_ = prior
        model.classes_ = np.array(LABELS)
        return model


def _pair(value: Sequence[int]) -> tuple[int, int]:
    lo, hi = value
    return int(lo), int(hi)


def _balance_within_groups(y: NDArray[np.int64], w: NDArray[np.float64], groups: Sequence[str]) -> NDArray[np.float64]:
    """Weights with the classes of each group at equal total weight, each group keeping its total."""
    out = w.copy()
    g = np.asarray(groups, dtype=object)
    for group in dict.fromkeys(groups):
        mask = g == group
        totals = np.bincount(y[mask], weights=w[mask], minlength=len(LABELS))
        present = totals > 0
        if present.sum() < 2:
            continue
        factors = np.zeros(len(LABELS))
        factors[present] = totals[present].sum() / (present.sum() * totals[present])
        out[mask] = w[mask] * factors[y[mask]]
    return out


def _class_prior(y: NDArray[np.int64], w: NDArray[np.float64], balanced: bool) -> NDArray[np.float64]:
    """Share of the fitting weight per class in :data:`LABELS` order (uniform over present classes when
    the classes were balanced over the whole mixture)."""
    totals = np.bincount(y, weights=w, minlength=len(LABELS))
    if balanced:
        totals = (totals > 0).astype(np.float64)
    prior: NDArray[np.float64] = totals / totals.sum()
    return prior


def _softmax(logits: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    proba: NDArray[np.float32] = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    return proba


def _fit_temperature(logits: NDArray[np.float32], y: NDArray[np.int64], w: NDArray[np.float64]) -> float:
    """Temperature T > 0 minimising the weighted negative log-likelihood of softmax(logits / T)."""
    from scipy.optimize import minimize_scalar

    z = np.asarray(logits, dtype=np.float64)

    def nll(log_t: float) -> float:
        s = z / math.exp(log_t)
        s = s - s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        return float(-(w * logp[np.arange(len(y)), y]).sum() / w.sum())

    result = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(result.x))


def load_classifier(path: str | Path) -> Any:
    """Load a saved sentiment model: a ``.skops`` file (:class:`SentimentClassifier`) or an encoder
    directory written by :meth:`social_listening.encoder.EncoderSentimentClassifier.save`.

    Both expose ``predict`` and ``predict_proba`` over raw texts with columns in :data:`LABELS` order.
    """
    path = Path(path)
    if path.is_dir():
        from social_listening.encoder import EncoderSentimentClassifier

        return EncoderSentimentClassifier.load(path)
    return SentimentClassifier.load(path)
