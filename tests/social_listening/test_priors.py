"""Prior-shift adaptation (Saerens et al. 2002 EM) on probabilities whose true priors are known."""

from __future__ import annotations

import numpy as np
import pytest

from social_listening import SocialListeningError, adapt_priors

MEANS = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])


def _posteriors(x: np.ndarray, prior: np.ndarray) -> np.ndarray:
    # Exact posteriors of three unit-variance Gaussian classes under ``prior``.
    log_lik = -0.5 * ((x[:, None, :] - MEANS[None]) ** 2).sum(axis=2)
    z = log_lik + np.log(prior)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _sample(prior: list[float], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=n, p=prior)
    return MEANS[y] + rng.standard_normal((n, 2)), y


def test_recovers_shifted_priors_and_improves_accuracy() -> None:
    true = [0.7, 0.1, 0.2]
    x, y = _sample(true, 6000, seed=0)
    uniform = np.full(3, 1 / 3)
    proba = _posteriors(x, uniform)
    shift = adapt_priors(proba, train_prior=uniform)
    assert shift.converged
    np.testing.assert_allclose(shift.prior, true, atol=0.03)
    np.testing.assert_allclose(shift.proba.sum(axis=1), 1.0, atol=1e-9)
    # The adjusted posteriors are (close to) the Bayes posteriors under the true priors.
    np.testing.assert_allclose(shift.proba, _posteriors(x, np.asarray(true)), atol=0.05)
    assert (shift.proba.argmax(1) == y).mean() > (proba.argmax(1) == y).mean() + 0.03


def test_same_priors_change_little() -> None:
    x, _ = _sample([1 / 3, 1 / 3, 1 / 3], 6000, seed=1)
    proba = _posteriors(x, np.full(3, 1 / 3))
    shift = adapt_priors(proba)
    np.testing.assert_allclose(shift.prior, 1 / 3, atol=0.03)
    assert np.abs(shift.proba - proba).max() < 0.1


def test_non_uniform_train_prior_is_divided_out() -> None:
    train = np.array([0.2, 0.6, 0.2])
    x, _ = _sample([0.2, 0.6, 0.2], 6000, seed=2)
    proba = _posteriors(x, train)
    shift = adapt_priors(proba, train_prior=train)
    np.testing.assert_allclose(shift.prior, train, atol=0.03)


def test_class_absent_from_training_stays_zero() -> None:
    proba = np.array([[0.8, 0.0, 0.2], [0.3, 0.0, 0.7], [0.6, 0.0, 0.4]])
    shift = adapt_priors(proba, train_prior=[0.5, 0.0, 0.5])
    assert shift.prior[1] == 0.0
    assert (shift.proba[:, 1] == 0.0).all()
    np.testing.assert_allclose(shift.proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("proba", "train_prior"),
    [
        (np.zeros((0, 3)), None),
        (np.array([0.2, 0.8]), None),
        (np.array([[0.5, 0.6, 0.1]]), None),
        (np.array([[np.nan, 0.5, 0.5]]), None),
        (np.array([[0.5, 0.5, 0.0]]), [0.5, 0.5]),
        (np.array([[0.5, 0.5, 0.0]]), [-1.0, 1.0, 1.0]),
    ],
)
def test_bad_input(proba: np.ndarray, train_prior: list[float] | None) -> None:
    with pytest.raises(SocialListeningError):
        adapt_priors(proba, train_prior=train_prior)
