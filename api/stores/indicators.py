"""Indicators in the database: series loading, all-or-nothing upserts with revisions, anomaly flags, and
cached forecasts. Routes, the trainer and the startup step share this module."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.services import Services
from api.storage.tables import Anomaly, ForecastCache, Indicator, Observation, utcnow
from forecasting import PipelineConfig, Series, SeriesError, forecast_series, parse_observations
from forecasting.anomaly import check_observation

logger = logging.getLogger(__name__)

#: Fewest observations before new values are checked against a forecast.
MIN_HISTORY_FOR_ANOMALY = 8


def load_series(session: Session, indicator: Indicator, *, for_forecast: bool = False) -> Series | None:
    """The indicator's current values as a validated series (None when it has none).

    With ``for_forecast`` the values before ``forecast_from`` (a regime change) are left out.
    """
    rows = session.execute(
        select(Observation.period, Observation.value)
        .where(Observation.indicator_code == indicator.code, Observation.is_current.is_(True))
        .order_by(Observation.period)
    ).all()
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=["period", "value"])
    if for_forecast and indicator.forecast_from:
        df = df[df["period"] >= indicator.forecast_from]
        if df.empty:
            return None
    return parse_observations(df, freq=indicator.frequency, unique_id=indicator.code, on_gap="interpolate")


@dataclass
class UpsertResult:
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    anomalies: list[dict[str, Any]] = field(default_factory=list)


def upsert_observations(
    session: Session,
    indicator: Indicator,
    incoming: Series,
    who: Principal,
    config: PipelineConfig | None,
    model_version: str = "",
    note: str = "",
) -> UpsertResult:
    """Insert new periods and new revisions of changed ones in the caller's transaction.

    New periods after the last stored one are checked against the 95% interval of the forecast made from
    the history before them; values outside are flagged as anomalies (stored and returned).
    """
    if not incoming.calendar or incoming.freq != indicator.frequency:
        expected = {"M": "YYYY-MM", "Q": "YYYY-Qn", "Y": "YYYY"}[indicator.frequency]
        raise SeriesError(
            f"indicator {indicator.code!r} is {indicator.frequency}-frequency: periods must look like {expected}. "
            f"Got: {incoming.periods[0]!r}"
        )
    current = {
        o.period: o
        for o in session.scalars(
            select(Observation).where(Observation.indicator_code == indicator.code, Observation.is_current.is_(True))
        )
    }
    before = load_series(session, indicator, for_forecast=True) if config is not None else None
    result = UpsertResult()
    new_points: list[tuple[str, float]] = []
    last_period = max(current) if current else None
    for period, value in zip(incoming.periods, incoming.values, strict=True):
        value = float(value)
        old = current.get(period)
        if old is not None and np.isclose(old.value, value, rtol=1e-12, atol=0.0):
            result.unchanged += 1
            continue
        revision = 1
        if old is not None:
            old.is_current = False
            revision = old.revision + 1
            result.revised += 1
        else:
            result.inserted += 1
            if last_period is None or period > last_period:
                new_points.append((period, value))
        session.add(
            Observation(
                indicator_code=indicator.code,
                period=period,
                value=value,
                revision=revision,
                is_current=True,
                recorded_by=who.name,
                note=note[:300],
            )
        )
    session.flush()
    if before is not None and new_points and len(before) >= MIN_HISTORY_FOR_ANOMALY:
        result.anomalies = _flag_anomalies(session, indicator, before, new_points, config, model_version)
    if result.inserted or result.revised:
        indicator.data_version += 1
        indicator.updated_at = utcnow()
        session.execute(delete(ForecastCache).where(ForecastCache.indicator_code == indicator.code))
    return result


def _flag_anomalies(
    session: Session,
    indicator: Indicator,
    history: Series,
    new_points: list[tuple[str, float]],
    config: PipelineConfig | None,
    model_version: str,
) -> list[dict[str, Any]]:
    future = history.future_periods(len(new_points) + 24)
    wanted = {p: v for p, v in new_points if p in future}
    if not wanted:
        return []
    h = max(future.index(p) for p in wanted) + 1
    try:
        fc = forecast_series(history, h, (95,), config)
    except ValueError as e:  # a series the pipeline cannot forecast is not an anomaly source
        logger.info("no anomaly check for %s: %s", indicator.code, e)
        return []
    flagged = []
    for period, value in wanted.items():
        i = future.index(period)
        check = check_observation(value, float(fc.mean[i]), float(fc.lower["95"][i]), float(fc.upper["95"][i]))
        if check.flagged:
            row = Anomaly(
                indicator_code=indicator.code,
                period=period,
                value=value,
                expected=check.expected,
                lower_95=check.lower,
                upper_95=check.upper,
                model_version=model_version,
            )
            session.add(row)
            flagged.append(
                {
                    "period": period,
                    "value": value,
                    "expected": check.expected,
                    "lower_95": check.lower,
                    "upper_95": check.upper,
                    "direction": check.direction,
                }
            )
    return flagged


def forecast_body(
    services: Services,
    session: Session,
    indicator: Indicator,
    horizon: int,
    levels: list[float],
) -> dict[str, Any]:
    """The forecast response for an indicator, cached per (data version, model version, horizon, levels)."""
    from forecasting.backtest import backtest

    served = services.champions.get("forecasting")
    key_src = json.dumps([indicator.code, indicator.data_version, served.version, horizon, sorted(levels)])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:40]
    cached = session.get(ForecastCache, key)
    if cached is not None:
        return dict(cached.body)
    series = load_series(session, indicator, for_forecast=True)
    if series is None:
        raise SeriesError(f"indicator {indicator.code!r} has no observations to forecast from")
    config: PipelineConfig = served.model.config
    fc = forecast_series(series, horizon, levels, config)
    points = []
    for i, period in enumerate(series.future_periods(horizon)):
        point: dict[str, Any] = {"period": period, "mean": float(fc.mean[i])}
        for lv in levels:
            k = f"{lv:g}"
            point[f"lower_{k}"] = float(fc.lower[k][i])
            point[f"upper_{k}"] = float(fc.upper[k][i])
        points.append(point)
    try:
        bt = backtest([series], config, horizon=min(horizon, max(1, len(series) // 4)), windows=3, n_jobs=1)
        backtest_metrics: dict[str, Any] = {
            k: float(v)
            for k, v in bt.metrics.items()
            if k in {"smape", "mase", "coverage_80", "coverage_95", "n_forecasts"}
        }
        backtest_metrics["horizon"] = min(horizon, max(1, len(series) // 4))
    except ValueError as e:
        backtest_metrics = {"error": str(e)}
    body = {
        "indicator": indicator.code,
        "model": {"name": "forecasting", "version": served.version},
        "generated_at": datetime.now(UTC).isoformat(),
        "data_version": indicator.data_version,
        "last_period": series.periods[-1],
        "points": points,
        "methods": {k: round(float(v), 4) for k, v in fc.weights.items()},
        "notes": list(fc.notes),
        "backtest": backtest_metrics,
    }
    session.merge(ForecastCache(key=key, indicator_code=indicator.code, body=body))
    return body


def etag_of(body: dict[str, Any]) -> str:
    src = json.dumps([body["indicator"], body["data_version"], body["model"], body["points"]], sort_keys=True)
    return '"' + hashlib.sha256(src.encode()).hexdigest()[:32] + '"'
