"""Stateless forecasts: series in the request, forecasts out; nothing is stored."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep, Viewer
from api.errors import InvalidInput, PayloadTooLarge
from api.schemas import ModelRef

#: Integer period indices stay within this many periods of 0, so that index arithmetic and the database's
#: integers never overflow; calendar periods stay within years 1..9999.
MAX_INDEX = 10**9
MAX_YEAR = 9999

router = APIRouter(tags=["forecasts"])


class SeriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    start: str | int = Field(description="first period: YYYY-MM (M), YYYY-Qn (Q), YYYY (Y) or an integer index")
    values: list[float | None] = Field(min_length=1, max_length=10_000)


class ForecastsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    frequency: Literal["M", "Q", "Y"]
    horizon: int = Field(ge=1, le=10_000, description="periods to forecast (the service's limit applies)")
    levels: list[float] = Field(default_factory=lambda: [80.0, 95.0], max_length=10)
    series: list[SeriesIn] = Field(min_length=1, max_length=1000)


class ForecastOut(BaseModel):
    id: str
    points: list[dict[str, Any]]


class ForecastsOut(BaseModel):
    model: ModelRef
    forecasts: list[ForecastOut]


def _periods(frequency: str, start: str | int, n: int, horizon: int) -> list[str | int]:
    """The ``n`` periods from ``start``; 422 when they or the ``horizon`` periods after them leave the range
    the service handles (integer indices within +-10^9, calendar periods up to year 9999)."""
    from forecasting.series import parse_period

    if isinstance(start, int) or (isinstance(start, str) and start.strip().lstrip("-").isdigit() and frequency != "Y"):
        if isinstance(start, str) and len(start.strip()) > 12:
            raise InvalidInput(f"start must be an index within +-{MAX_INDEX}; got {start[:20]!r}...")
        s = int(start)
        if abs(s) > MAX_INDEX or abs(s + n + horizon) > MAX_INDEX:
            raise InvalidInput(
                f"start must be an index within +-{MAX_INDEX} (forecasts included); got {str(s)[:20]}",
                code="validation_error",
            )
        return list(range(s, s + n))
    try:
        _, ordinal, _ = parse_period(start, frequency)
    except (ValueError, OverflowError) as e:
        raise InvalidInput(f"start {start!r} is not a {frequency} period: {e}") from e
    per_year = {"M": 12, "Q": 4, "Y": 1}[frequency]
    if (ordinal + n + horizon - 1) // per_year > MAX_YEAR or ordinal < per_year:
        raise InvalidInput(
            f"the series and its {horizon} forecast periods must lie within years 1..{MAX_YEAR}; "
            f"start {start!r} with {n} values goes past that",
            code="validation_error",
        )
    if frequency == "M":
        return [f"{o // 12:04d}-{o % 12 + 1:02d}" for o in range(ordinal, ordinal + n)]
    if frequency == "Q":
        return [f"{o // 4:04d}-Q{o % 4 + 1}" for o in range(ordinal, ordinal + n)]
    return [f"{o:04d}" for o in range(ordinal, ordinal + n)]


@router.post("/v1/forecasts", response_model=ForecastsOut)
def post_forecasts(body: ForecastsIn, services: ServicesDep, _: Viewer) -> ForecastsOut:
    """Forecast series sent in the request with the champion pipeline: up to
    `IOC_FORECASTING__MAX_REQUEST_SERIES` series (100) and `IOC_FORECASTING__MAX_REQUEST_VALUES` values in all
    (20,000); 413 above."""
    from forecasting import forecast_frame

    cfg = services.settings.forecasting
    n_values = sum(len(s.values) for s in body.series)
    if len(body.series) > cfg.max_request_series or n_values > cfg.max_request_values:
        raise PayloadTooLarge(
            f"at most {cfg.max_request_series} series and {cfg.max_request_values} values per request "
            f"(IOC_FORECASTING__MAX_REQUEST_SERIES, IOC_FORECASTING__MAX_REQUEST_VALUES); got {len(body.series)} "
            f"series and {n_values} values: split the request",
            detail={
                "series": len(body.series),
                "values": n_values,
                "max_series": cfg.max_request_series,
                "max_values": cfg.max_request_values,
            },
        )
    top = cfg.max_horizon
    if body.horizon > top:
        raise InvalidInput(f"horizon must be between 1 and {top} periods; got {body.horizon}", code="validation_error")
    if any(not 0 < lv < 100 for lv in body.levels):
        raise InvalidInput(f"levels must be in (0, 100) percent; got {body.levels}", code="validation_error")
    ids = [s.id for s in body.series]
    if len(set(ids)) != len(ids):
        raise InvalidInput("series ids must be unique", detail=sorted({i for i in ids if ids.count(i) > 1}))
    rows = []
    for s in body.series:
        for ds, y in zip(_periods(body.frequency, s.start, len(s.values), body.horizon), s.values, strict=True):
            rows.append({"unique_id": s.id, "ds": ds, "y": y})
    served = services.champions.get("forecasting")
    levels = sorted(set(body.levels))
    frame = forecast_frame(
        pd.DataFrame(rows),
        body.horizon,
        levels,
        freq=body.frequency,
        config=served.model.config,
        n_jobs=1 if len(body.series) < 8 else -1,
    )
    out = []
    for sid, g in frame.groupby("unique_id", sort=False):
        points = g.drop(columns=["unique_id"]).rename(columns={"ds": "period"}).to_dict(orient="records")
        out.append(ForecastOut(id=str(sid), points=points))
    return ForecastsOut(model=ModelRef(name="forecasting", version=served.version), forecasts=out)
