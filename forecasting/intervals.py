"""Interval calibration: per-step error scales from backtests, calibrated multipliers, and the predictive
distribution they make.

The half-width of the ``L``% interval at step ``j`` is ``k_L * s_j``: ``s_j`` is the RMS of the rolling-origin
backtest errors at step ``j`` (smoothed across steps by a power law in ``j``, shrunk towards the in-sample
one-step error growing like ``sqrt(j)``), and ``k_L`` is a multiplier per frequency and level found by
normalised split-conformal calibration over many series (:func:`forecasting.backtest.calibrate`).

:class:`PredictiveDistribution` is that distribution per step (``location + k(p) * scale``, optionally
censored at zero for quantities that cannot be negative); intervals, point forecasts and sample paths (target
probabilities) all read their values from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.special import ndtri

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


def step_scale(errors: FloatArray, sigma1: float, h: int | None = None) -> FloatArray:
    """Per-step error scale, shape (h,).

    Args:
        errors: backtest errors of the final forecast, shape (windows, h_bt); may have 0 rows.
        sigma1: in-sample one-step RMS error (same units as the series), the prior for step 1.
        h: steps wanted (default ``h_bt``). Steps beyond ``h_bt`` follow the per-step law fitted on the
            ``h_bt`` measured ones (a power law in the step when ``h_bt >= 3``, else growth like the step),
            so the first ``h_bt`` values never depend on ``h``.
    """
    h_bt = errors.shape[1] if errors.ndim == 2 else 0
    h = h_bt if h is None else int(h)
    steps = np.arange(1, h + 1, dtype=float)
    s2 = max(sigma1, 0.0) ** 2
    w = errors.shape[0] if errors.ndim == 2 else 0
    if w == 0 or h_bt == 0:
        # no backtest: the in-sample one-step error growing linearly with the step (conservative: trend
        # uncertainty dominates short series, which are the ones without windows)
        return np.sqrt(np.maximum(s2 * steps**2, 1e-300))
    prior = s2 * steps  # random-walk-like growth, a weak prior next to the windows
    ms_bt = np.mean(errors**2, axis=0)
    bt_steps = np.arange(1, h_bt + 1, dtype=float)
    if h_bt >= 3:
        ls = np.log(ms_bt + 1e-12 * (ms_bt.mean() + 1e-300))
        x = np.log(bt_steps)
        b, a = np.polyfit(x, ls, 1)
        b = float(np.clip(b, 0.0, 3.0))
        a = float(np.mean(ls - b * x))
        # log-mean is biased low for chi-square-like spread; correct with the mean ratio over the measured steps
        fitted = np.exp(a + b * x)
        corr = float(np.sum(ms_bt) / max(np.sum(fitted), 1e-300))
        ms = np.exp(a + b * np.log(steps)) * corr
    else:
        # too few steps for a law: measured steps as they are, later ones growing like the step (as without
        # a backtest)
        last = float(ms_bt[-1])
        ms = np.where(steps <= h_bt, ms_bt[np.minimum(steps, h_bt).astype(int) - 1], last * (steps / h_bt) ** 2)
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


def _ratio_knots(table: dict[str, float] | None) -> tuple[FloatArray, FloatArray]:
    """Calibrated points as (normal quantile z, multiplier / z), sorted by z; the identity without a table."""
    if not table:
        return np.array([1.0]), np.array([1.0])
    pts = sorted(
        (_ND.inv_cdf(0.5 + float(k) / 200.0), v / _ND.inv_cdf(0.5 + float(k) / 200.0)) for k, v in table.items()
    )
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


@dataclass(frozen=True)
class PredictiveDistribution:
    """Calibrated predictive distribution of the next ``h`` periods, one marginal per step.

    The value at normal score ``z`` (probability ``Phi(z)``) of step ``j`` is
    ``location[j] + k(z) * scale[j]`` with ``k(z) = z * r(|z|)``, ``r`` the calibrated multiplier over the
    normal quantile interpolated as in :func:`multiplier`: the ``L``% central interval is exactly
    ``location -/+ multiplier(L) * scale``, and the point forecast (``z = 0``) is ``location``.

    ``floor`` (0.0 for quantities that cannot be negative, None otherwise) censors each marginal there: the
    probability the calibrated distribution puts below the floor sits at the floor, so every quantile is
    ``max(calibrated quantile, floor)``. Why censoring: every quantile above the floor stays exactly as
    calibrated, so coverage of values that respect the floor cannot change, and the point forecast is the
    method's, clipped. The measured alternative, truncation (conditioning on ``value >= 0``), shifts the whole
    marginal up and lost coverage and accuracy on M3 declared non-negative (see the commit that chose
    censoring; experiments/results/forecast_benchmark_nonnegative_stored_ref.md). Not tried: a log scale, which
    would need multipliers of its own and, keeping the median, stretches the band upwards without bound where
    the error scale nears the level (the short, volatile series whose bands cross zero). A censored band may
    start at exactly 0: the quantity can fall that low as far as the calibrated errors tell.

    Attributes:
        location: centre of the calibrated distribution per step (series units), shape (h,).
        scale: error scale per step (series units), shape (h,).
        table: calibrated multipliers per level (``{"80": k80, "95": k95}``); empty for normal quantiles.
        floor: lower limit of the values, or None.
    """

    location: FloatArray
    scale: FloatArray
    table: dict[str, float]
    floor: float | None = None

    def __len__(self) -> int:
        return int(self.location.shape[0])

    def head(self, h: int) -> PredictiveDistribution:
        """The first ``h`` steps."""
        return PredictiveDistribution(self.location[:h], self.scale[:h], self.table, self.floor)

    def at(self, z: FloatArray | float) -> FloatArray:
        """Values at normal scores ``z`` (probability ``Phi(z)``), broadcast against the steps (last axis)."""
        zz = np.asarray(z, dtype=np.float64)
        zs, rs = _ratio_knots(self.table)
        out = self.location + zz * np.interp(np.abs(zz), zs, rs) * self.scale
        if self.floor is not None:
            out = np.maximum(out, self.floor)
        return np.asarray(out, dtype=np.float64)

    def quantile(self, p: FloatArray | float) -> FloatArray:
        """Quantiles at probabilities ``p`` in (0, 1), broadcast against the steps."""
        return self.at(ndtri(np.asarray(p, dtype=np.float64)))

    def median(self) -> FloatArray:
        """The point forecast, shape (h,): the location (at or above the floor)."""
        return self.at(0.0)

    def interval(self, level: float) -> tuple[FloatArray, FloatArray]:
        """Central ``level``% interval (percent in (0, 100)): (lower, upper), each shape (h,)."""
        z = _ND.inv_cdf(0.5 + level / 200.0)
        return self.at(-z), self.at(z)
