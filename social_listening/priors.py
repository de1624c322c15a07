"""Prior-shift adaptation: re-estimate the class mix of an unlabelled batch and adjust probabilities.

A classifier's probabilities :math:`p(y \\mid x)` carry the class priors it was trained under. When a batch
of posts has another class mix (a week of complaints about a landslide, a feed of notices that is mostly
neutral), the posterior changes by Bayes' rule with the new priors, and those priors can be estimated
from the batch itself, without labels, by the EM procedure of Saerens, Latinne and Decaestecker (2002),
"Adjusting the outputs of a classifier to new a priori probabilities: a simple procedure", Neural
Computation 14(1):

1. start from the training priors :math:`\\pi^{s}`;
2. E-step: :math:`p'(y \\mid x) \\propto \\frac{\\pi'(y)}{\\pi^{s}(y)} \\, p(y \\mid x)` (renormalised per text);
3. M-step: :math:`\\pi'(y) = \\frac{1}{n} \\sum_x p'(y \\mid x)`; repeat until the priors stop moving.

This is a transductive step: it looks at the texts of the batch (never at labels) and answers for that
batch only. It assumes the classes' texts look the same as in training (only their proportions moved)
and that the probabilities are calibrated (:class:`social_listening.SentimentClassifier` temperature-
scales them); it needs a batch of at least a few hundred texts to estimate the mix.

Example::

    >>> import numpy as np
    >>> proba = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.5, 0.3]])
    >>> shift = adapt_priors(proba, train_prior=[1 / 3, 1 / 3, 1 / 3])
    >>> shift.proba.sum(axis=1).round(6).tolist()
    [1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from social_listening.errors import SocialListeningError

__all__ = ["PriorShift", "adapt_priors"]


@dataclass(frozen=True)
class PriorShift:
    """Result of :func:`adapt_priors`.

    Attributes:
        proba: adjusted probabilities, shape (n, k), rows sum to 1.
        prior: estimated class priors of the batch, shape (k,), sums to 1.
        train_prior: the priors the probabilities were assumed to carry, shape (k,).
        n_iter: EM iterations run.
        converged: whether the priors moved less than ``tol`` (max abs) before ``max_iter``.
    """

    proba: NDArray[np.float64]
    prior: NDArray[np.float64]
    train_prior: NDArray[np.float64]
    n_iter: int
    converged: bool


def adapt_priors(
    proba: ArrayLike,
    train_prior: Sequence[float] | NDArray[np.floating] | None = None,
    *,
    max_iter: int = 200,
    tol: float = 1e-6,
    min_prior: float = 1e-3,
) -> PriorShift:
    """EM re-estimation of the class priors of a batch (Saerens et al. 2002) and adjusted probabilities.

    Args:
        proba: calibrated probabilities of the batch, shape (n, k), rows summing to 1.
        train_prior: class priors the probabilities carry, shape (k,). For a model fitted with balanced
            class weights this is uniform over the trained classes (the default, ``None``).
        max_iter: most EM iterations.
        tol: stop when no prior moves by more than this.
        min_prior: floor of each estimated prior (keeps a class that the batch seems to lack recoverable
            and avoids dividing by zero); classes with a zero training prior stay at zero.

    Returns:
        :class:`PriorShift` with the adjusted probabilities and the estimated priors.

    Raises:
        SocialListeningError: bad shapes, negative or non-finite values, rows not summing to 1.
    """
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise SocialListeningError(f"proba: expected shape (n >= 1, k >= 2). Got: {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise SocialListeningError("proba: expected finite, non-negative probabilities")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise SocialListeningError("proba: expected rows summing to 1")
    k = p.shape[1]
    if train_prior is None:
        src = np.full(k, 1.0 / k)
    else:
        src = np.asarray(train_prior, dtype=np.float64)
        if src.shape != (k,) or (src < 0).any() or src.sum() <= 0:
            raise SocialListeningError(f"train_prior: expected {k} non-negative values. Got: {src.tolist()}")
        src = src / src.sum()
    active = src > 0
    prior = src.copy()
    adjusted = p
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is reported)
        ratio = np.zeros(k)
        ratio[active] = prior[active] / src[active]
        q = p * ratio
        q /= np.maximum(q.sum(axis=1, keepdims=True), 1e-300)
        new = q.mean(axis=0)
        new[active] = np.maximum(new[active], min_prior)
        new /= new.sum()
        adjusted = q
        if np.abs(new - prior).max() < tol:
            prior = new
            converged = True
            break
        prior = new
    ratio = np.zeros(k)
    ratio[active] = prior[active] / src[active]
    adjusted = p * ratio
    adjusted /= np.maximum(adjusted.sum(axis=1, keepdims=True), 1e-300)
    return PriorShift(proba=adjusted, prior=prior, train_prior=src, n_iter=n_iter, converged=converged)
