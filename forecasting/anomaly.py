"""Flagging a newly ingested observation against the forecast made before it arrived.

An observation outside the 95% interval of that forecast is flagged: in provincial data this is often a
reporting error (a unit slip, a cumulative figure entered as a monthly one), sometimes a real break.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import PipelineConfig
from .errors import ForecastingError
from .frame import forecast_series
from .series import Series

__all__ = ["AnomalyCheck", "check_observation", "check_next"]


@dataclass(frozen=True)
class AnomalyCheck:
    """Result of checking one observation.

    Attributes:
        flagged: True when the value is outside ``[lower, upper]``.
        value: the observation.
        expected: the forecast mean.
        lower, upper: the interval bounds at ``level``.
        level: interval level in percent (95 by default).
        score: signed distance from the mean in units of the interval half-width (|score| > 1 = flagged).
        direction: ``above``, ``below`` or ``inside``.
    """

    flagged: bool
    value: float
    expected: float
    lower: float
    upper: float
    level: float
    score: float
    direction: str


def check_observation(value: float, expected: float, lower: float, upper: float, level: float = 95.0) -> AnomalyCheck:
    """Flag ``value`` against a stored forecast point (mean and interval bounds at ``level``)."""
    for name, v in (("value", value), ("expected", expected), ("lower", lower), ("upper", upper)):
        if not math.isfinite(v):
            raise ForecastingError(f"{name} must be finite. Got: {v!r}")
    if lower > upper:
        raise ForecastingError(f"lower must be <= upper. Got: {lower} > {upper}")
    centre = expected
    if value > centre:
        score = (value - centre) / max(upper - centre, 1e-12 * max(abs(centre), 1.0))
    else:
        score = (value - centre) / max(centre - lower, 1e-12 * max(abs(centre), 1.0))
    flagged = value < lower or value > upper
    direction = "above" if value > upper else "below" if value < lower else "inside"
    return AnomalyCheck(
        flagged,
        float(value),
        float(expected),
        float(lower),
        float(upper),
        float(level),
        float(score),
        direction,
    )


def check_next(
    history: Series, value: float, config: PipelineConfig | None = None, level: float = 95.0
) -> AnomalyCheck:
    """Forecast one step from ``history`` (everything known before the new value) and check ``value``."""
    fc = forecast_series(history, 1, (level,), config)
    key = f"{level:g}"
    return check_observation(float(value), float(fc.mean[0]), float(fc.lower[key][0]), float(fc.upper[key][0]), level)
