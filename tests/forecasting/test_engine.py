"""The vectorised exponential-smoothing kernel: additive and multiplicative error models."""

from __future__ import annotations

import numpy as np

from forecasting import _engine as E


def _multiplicative_noise(n: int = 120, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    level = 50.0 * np.exp(np.linspace(0.0, 2.5, n))  # grows about 12-fold: noise grows with it
    return level * (1.0 + 0.08 * rng.standard_normal(n))


def test_multiplicative_errors_fit_alongside_additive_ones() -> None:
    y = _multiplicative_noise()
    fits = E.fit_ets_all(y)
    assert set(fits) == {"ses", "holt", "damped", "ses_m", "holt_m", "damped_m"}
    best = min(fits, key=lambda k: fits[k].aicc)
    # relative noise on a growing level: the multiplicative likelihood fits it better
    assert best.endswith("_m"), {k: round(f.aicc, 1) for k, f in fits.items()}
    assert np.all(np.isfinite(fits[best].forecast(6)))


def test_additive_noise_prefers_additive_errors() -> None:
    rng = np.random.default_rng(5)
    # the level grows 20-fold, the noise stays the same size: relative errors would shrink over time
    y = np.linspace(20.0, 400.0, 150) + rng.normal(0.0, 5.0, 150)
    fits = E.fit_ets_all(y)
    best = min(fits, key=lambda k: fits[k].aicc)
    assert not best.endswith("_m"), {k: round(f.aicc, 1) for k, f in fits.items()}


def test_multiplicative_errors_need_a_positive_series_and_can_be_turned_off() -> None:
    y = _multiplicative_noise()
    assert set(E.fit_ets_all(y, multiplicative_errors=False)) == {"ses", "holt", "damped"}
    shifted = y - float(np.median(y))  # crosses zero: relative errors are meaningless
    assert set(E.fit_ets_all(shifted)) == {"ses", "holt", "damped"}
