"""Stateless forecasts: series in the request, forecasts out; nothing is stored."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ServicesDep, Viewer
from api.errors import InvalidInput, PayloadTooLarge
from api.schemas import ModelRef
from forecasting import Series, forecast_frame, series_from_values

#: Integer period indices stay within this many periods of 0, so that index arithmetic and the database's
#: integers never overflow; calendar periods stay within years 1..9999.
MAX_INDEX = 10**9
MAX_YEAR = 9999
_PER_YEAR = {"M": 12, "Q": 4, "Y": 1}

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


def _check_range(series: Series, horizon: int) -> None:
    """422 when the series or the ``horizon`` periods after it leave the range the service handles (integer
    indices within +-10^9, calendar periods up to year 9999; the library already bounds where they start)."""
    end = series.start + len(series) + horizon
    if not series.calendar:
        if abs(series.start) > MAX_INDEX or abs(end) > MAX_INDEX:
            raise InvalidInput(
                f"start must be an index within +-{MAX_INDEX} (forecasts included); got {str(series.start)[:20]}",
                code="validation_error",
            )
    elif (end - 1) // _PER_YEAR[series.freq] > MAX_YEAR:
        raise InvalidInput(
            f"the series and its {horizon} forecast periods must lie within years 1..{MAX_YEAR}; "
            f"{series.unique_id!r} from {series.periods[0]} with {len(series)} values goes past that",
            code="validation_error",
        )


@router.post("/v1/forecasts", response_model=ForecastsOut)
def post_forecasts(body: ForecastsIn, services: ServicesDep, _: Viewer) -> ForecastsOut:
    """Forecast series sent in the request with the champion pipeline: up to
    `IOC_FORECASTING__MAX_REQUEST_SERIES` series (100) and `IOC_FORECASTING__MAX_REQUEST_VALUES` values in all
    (20,000); 413 above."""

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
    series = [series_from_values(s.id, s.values, body.frequency, s.start) for s in body.series]
    ids = [s.unique_id for s in series]
    if len(set(ids)) != len(ids):
        raise InvalidInput("series ids must be unique", detail=sorted({i for i in ids if ids.count(i) > 1}))
    for s in series:
        _check_range(s, body.horizon)
    served = services.champions.get("forecasting")
    config = served.model.config
    if short := [s.unique_id for s in series if len(s) < config.min_length]:
        raise InvalidInput(f"series too short: need at least {config.min_length} values", detail=short)
    levels = sorted(set(body.levels))
    frame = forecast_frame(
        series,
        body.horizon,
        levels,
        config=config,
        n_jobs=1 if len(body.series) < 8 else -1,
    )
    out = []
    for sid, g in frame.groupby("unique_id", sort=False):
        points = g.drop(columns=["unique_id"]).rename(columns={"ds": "period"}).to_dict(orient="records")
        out.append(ForecastOut(id=str(sid), points=points))
    return ForecastsOut(model=ModelRef(name="forecasting", version=served.version), forecasts=out)
