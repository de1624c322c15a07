"""Interval calibration: per-step error scales from backtests and calibrated multipliers.

The half-width of the ``L``% interval at step ``j`` is ``k_L * s_j``: ``s_j`` is the RMS of the rolling-origin
backtest errors at step ``j`` (smoothed across steps by a power law in ``j``, shrunk towards the in-sample
one-step error growing like ``sqrt(j)``), and ``k_L`` is a multiplier per frequency and level found by
normalised split-conformal calibration over many series (:func:`forecasting.backtest.calibrate`).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from ._engine import FloatArray
from .errors import ForecastingError

_ND = NormalDist()


def check_levels(levels: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Validate interval levels (percent, each in (0, 100)); returns them as floats, order kept."""
    out = []
    for lv in levels:
        try:
            val = float(lv)
        except (TypeError, ValueError) as e:
            raise ForecastingError(f"levels must be numbers in (0, 100). Got: {lv!r}") from e
        if not (0.0 < val < 100.0) or math.isnan(val):
            raise ForecastingError(f"levels must be in (0, 100) (percent). Got: {lv!r}")
        out.append(val)
    return tuple(out)


def level_key(level: float) -> str:
    """'80' for 80.0, '97.5' for 97.5: the key used in calibration tables and column names."""
    return f"{level:g}"


def multiplier(level: float, table: dict[str, float] | None) -> float:
    """Calibrated multiplier of the error scale for a central ``level``% interval.

    Calibrated points are stored as multipliers; other levels interpolate the ratio multiplier/normal
    quantile linearly in the normal quantile (constant beyond the outermost calibrated levels).
    """
    z = _ND.inv_cdf(0.5 + level / 200.0)
    if not table:
        return z
    pts = sorted(
        (_ND.inv_cdf(0.5 + float(k) / 200.0), v / _ND.inv_cdf(0.5 + float(k) / 200.0)) for k, v in table.items()
    )
    zs = np.array([p[0] for p in pts])
    rs = np.array([p[1] for p in pts])
    return float(z * np.interp(z, zs, rs))


def step_scale(errors: FloatArray, sigma1: float, h: int) -> FloatArray:
    """Per-step error scale, shape (h,).

    Args:
        errors: backtest errors of the final forecast, shape (windows, h); may have 0 rows.
        sigma1: in-sample one-step RMS error (same units as the series), the prior for step 1.
        h: horizon.
    """
    steps = np.arange(1, h + 1, dtype=float)
    s2 = max(sigma1, 0.0) ** 2
    w = errors.shape[0] if errors.ndim == 2 else 0
    if w == 0:
        # no backtest: the in-sample one-step error growing linearly with the step (conservative: trend
        # uncertainty dominates short series, which are the ones without windows)
        return np.sqrt(np.maximum(s2 * steps**2, 1e-300))
    prior = s2 * steps  # random-walk-like growth, a weak prior next to the windows
    ms = np.mean(errors**2, axis=0)
    if h >= 3:
        ls = np.log(ms + 1e-12 * (ms.mean() + 1e-300))
        x = np.log(steps)
        b, a = np.polyfit(x, ls, 1)
        b = float(np.clip(b, 0.0, 3.0))
        a = float(np.mean(ls - b * x))
        # log-mean is biased low for chi-square-like spread; correct with the mean ratio
        fitted = np.exp(a + b * x)
        fitted *= float(np.sum(ms) / max(np.sum(fitted), 1e-300))
        ms = fitted
    k0 = 1.0  # prior weight, in windows
    return np.sqrt(np.maximum((w * ms + k0 * prior) / (w + k0), 1e-300))


def loo_scores(errors: FloatArray, sigma1: float) -> FloatArray:
    """Leave-one-window-out standardised errors, shape (windows * h,) (empty with fewer than 2 windows).

    Each window's absolute errors divided by the scale that the other windows give: the calibration
    scores of :func:`forecasting.backtest.calibrate`.
    """
    w, h = errors.shape
    if w < 2:
        return np.zeros(0)
    out = []
    for i in range(w):
        s = step_scale(np.delete(errors, i, axis=0), sigma1, h)
        out.append(np.abs(errors[i]) / s)
    return np.concatenate(out)
