"""Flagging a newly ingested observation against the forecast made before it arrived.

An observation outside the 95% interval of that forecast is flagged: in provincial data this is often a
reporting error (a unit slip, a cumulative figure entered as a monthly one), sometimes a real break.

The interval is the published one: :func:`check_values` forecasts from the same history with the same
configuration as :func:`forecasting.forecast_series`, and a period's forecast does not depend on the horizon
(:func:`forecasting.auto.internal_horizon`), so the band a value is checked against is the band that a
forecast of any horizon from that history shows for its period, non-negative censoring included (it travels
with the series, :attr:`forecasting.Series.nonnegative`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .config import PipelineConfig
from .errors import ForecastingError
from .frame import MAX_HORIZON, forecast_series
from .intervals import check_levels, level_key
from .series import Series, parse_period

__all__ = ["AnomalyCheck", "check_observation", "check_next", "check_values"]


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
        period: the period checked (``YYYY-MM``...; empty when the caller gave bare numbers).
        horizon: periods between the last observation of the history and ``period`` (1 = the next one; 0
            when unknown).
    """

    flagged: bool
    value: float
    expected: float
    lower: float
    upper: float
    level: float
    score: float
    direction: str
    period: str = ""
    horizon: int = 0


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
    return check_values(history, [(history.future_periods(1)[0], float(value))], config, level)[0]


def check_values(
    history: Series,
    values: Iterable[tuple[str, float]],
    config: PipelineConfig | None = None,
    level: float = 95.0,
) -> list[AnomalyCheck]:
    """Check new observations against the published forecast made from ``history``.

    Args:
        history: everything known before the new values, as the forecast is made from it (the same
            periods, and :attr:`~forecasting.Series.nonnegative` as the indicator declares).
        values: ``(period, value)`` pairs for periods after the history (``YYYY-MM``, ``YYYY-Qn``, ``YYYY`` or
            the integer index), in any order.
        config: the pipeline configuration that published the forecast (the serving model's).
        level: interval level in percent.

    Returns:
        One :class:`AnomalyCheck` per pair, in the given order, against the mean and ``level``% band that
        ``forecast_series(history, H, levels, config)`` gives for that period with any ``H`` reaching it.

    Raises:
        ForecastingError: a period that is not after the history, is more than ``MAX_HORIZON`` periods
            ahead, or does not parse; or a history the pipeline cannot forecast.
    """
    lv = check_levels([level])[0]
    pairs = list(values)
    if not pairs:
        return []
    end = history.start + len(history)
    steps = []
    for period, _ in pairs:
        try:
            _, o, _ = parse_period(period, history.freq)
        except ValueError as e:
            raise ForecastingError(f"bad period for a {history.freq} series. Got: {period!r} ({e})") from e
        if not end <= o < end + MAX_HORIZON:
            raise ForecastingError(
                f"periods to check must come after the history ({history.label(end - 1)}) and at most"
                f" {MAX_HORIZON} periods ahead. Got: {period!r}"
            )
        steps.append(o - end)
    fc = forecast_series(history, max(steps) + 1, (lv,), config)
    key = level_key(lv)
    out = []
    for (_, value), i in zip(pairs, steps, strict=True):
        c = check_observation(float(value), float(fc.mean[i]), float(fc.lower[key][i]), float(fc.upper[key][i]), lv)
        out.append(
            AnomalyCheck(
                c.flagged,
                c.value,
                c.expected,
                c.lower,
                c.upper,
                c.level,
                c.score,
                c.direction,
                history.label(end + i),
                i + 1,
            )
        )
    return out
