"""Probability that a plan target is met, from predictive sample paths.

A target is about one period's value, or for a flow indicator (monthly or quarterly values that add up:
exports, retail sales, budget revenue) about the year's total, of which the months already observed are
known (year-to-date accumulation). Targets are levels ("budget revenue reaches 4,500 bn VND") or growth
over the previous year ("retail sales grow 12% over last year").

The samples come from the distribution the published forecast is read from (:func:`forecasting.sample_paths`):
the same intervals for every period whatever horizon is asked, censored at zero when the series is declared
non-negative (:attr:`forecasting.Series.nonnegative`).

    >>> # P(total 2026 exports >= 1.12 * total 2025 exports)
    >>> # target_probability(series, Target(period="2026", kind="growth", value=12.0), flow=True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import PipelineConfig
from .errors import ForecastingError
from .frame import MAX_HORIZON, sample_paths
from .series import Series, parse_period

__all__ = ["Target", "TargetResult", "target_probability"]


@dataclass(frozen=True)
class Target:
    """A plan target.

    Attributes:
        period: ``YYYY`` (the year; for monthly/quarterly flow series the year's total) or a period of the
            series' frequency (``YYYY-MM``, ``YYYY-Qn``) for a single-period target.
        value: the level to reach (``kind="level"``) or the growth in percent over the same period of the
            previous year (``kind="growth"``).
        kind: ``level`` or ``growth``.
        direction: ``at_least`` (default; e.g. revenue) or ``at_most`` (e.g. CPI inflation).
    """

    period: str
    value: float
    kind: str = "level"
    direction: str = "at_least"

    def __post_init__(self) -> None:
        if self.kind not in ("level", "growth"):
            raise ForecastingError(f"kind must be 'level' or 'growth'. Got: {self.kind!r}")
        if self.direction not in ("at_least", "at_most"):
            raise ForecastingError(f"direction must be 'at_least' or 'at_most'. Got: {self.direction!r}")
        if not np.isfinite(self.value):
            raise ForecastingError(f"target value must be finite. Got: {self.value!r}")


@dataclass(frozen=True)
class TargetResult:
    """Probability (0-1) that the target is met, with the predictive median and 80% range of the quantity.

    ``threshold`` is the level the quantity must reach (for growth targets: (1 + g/100) x last year's value);
    ``observed_part`` is the already observed part of a year-to-date total (0 when none).
    """

    probability: float
    threshold: float
    median: float
    lower_80: float
    upper_80: float
    observed_part: float
    periods_forecast: int


def _ordinals_of(series: Series, period: str) -> np.ndarray:
    """Ordinals (in the series' frequency) making up ``period``: a year expands to its months/quarters."""
    if not series.calendar:
        raise ForecastingError("target probabilities need calendar periods (YYYY-MM, YYYY-Qn, YYYY)")
    text = str(period).strip()
    if len(text) == 4 and text.isdigit():
        year = int(text)
        if series.freq == "M":
            return np.arange(year * 12, year * 12 + 12)
        if series.freq == "Q":
            return np.arange(year * 4, year * 4 + 4)
        return np.array([year])
    try:
        freq, o, _ = parse_period(text, series.freq)
    except ValueError as e:
        raise ForecastingError(f"bad target period for a {series.freq} series. Got: {period!r} ({e})") from e
    return np.array([o])


def _quantity(series: Series, ords: np.ndarray, paths: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Samples of the sum over ``ords``: observed values plus sampled future values."""
    end = series.start + len(series)
    obs = ords[ords < end]
    if np.any(obs < series.start):
        raise ForecastingError(f"target period starts before the series ({series.label(series.start)})")
    known = float(np.sum(series.values[obs - series.start]))
    fut = ords[ords >= end] - end
    if fut.size and fut.max() >= paths.shape[1]:
        raise ForecastingError("internal: horizon too short for target")
    samples = known + (paths[:, fut].sum(axis=1) if fut.size else np.zeros(paths.shape[0]))
    return samples, known, int(fut.size)


def target_probability(
    series: Series,
    target: Target,
    flow: bool = True,
    config: PipelineConfig | None = None,
    n_samples: int = 4000,
    seed: int | None = 0,
) -> TargetResult:
    """Probability that ``target`` is met.

    Args:
        series: the indicator's history (calendar periods).
        target: the plan target.
        flow: True when a year's value is the sum of its months/quarters (exports, revenue); False for stock
            or rate indicators (CPI, index levels), where a yearly target on a monthly series is read as the
            year's average.
        config: pipeline configuration.
        n_samples: predictive sample paths drawn.

    Raises:
        ForecastingError: the period (or, for growth, the previous year) starts before the series, or is more
            than ``MAX_HORIZON`` periods ahead.
    """
    ords = _ordinals_of(series, target.period)
    end = series.start + len(series)
    h = int(ords.max() - end + 1)
    if h > MAX_HORIZON:
        raise ForecastingError(f"target period is {h} periods ahead; at most {MAX_HORIZON}. Got: {target.period!r}")
    per_year = {"M": 12, "Q": 4}.get(series.freq, 1)
    prev = ords - per_year if target.kind == "growth" else ords
    h_all = int(max(ords.max(), prev.max()) - end + 1)
    paths = sample_paths(series, h_all, n_samples, config, seed) if h_all > 0 else np.zeros((n_samples, 1))
    k = 1 if flow else len(ords)  # stock/rate indicators: the year's average
    q, known, n_fut = _quantity(series, ords, paths)
    q = q / k
    if target.kind == "growth":
        base, _, _ = _quantity(series, prev, paths)
        threshold_samples = base / k * (1.0 + target.value / 100.0)
        threshold = float(np.median(threshold_samples))
    else:
        threshold_samples = np.full(q.shape, float(target.value))
        threshold = float(target.value)
    met = q >= threshold_samples if target.direction == "at_least" else q <= threshold_samples
    lo, med, hi = np.quantile(q, [0.1, 0.5, 0.9])
    return TargetResult(float(np.mean(met)), threshold, float(med), float(lo), float(hi), known, n_fut)
