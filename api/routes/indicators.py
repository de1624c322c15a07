"""Indicators: catalogue, observations (JSON or CSV/XLSX upload), forecasts, target probabilities, anomalies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import audit
from api.deps import Analyst, ServicesDep, SessionDep, Viewer
from api.errors import BadRequest, InvalidInput, NotFound
from api.services import Services
from api.storage.tables import Anomaly, Indicator, Observation
from api.stores.indicators import etag_of, forecast_body, load_series, upsert_observations

router = APIRouter(tags=["indicators"])

Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="indicator code, e.g. vn_exports")]
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$"


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(pattern=PERIOD_PATTERN, description="YYYY (year total/average), YYYY-MM or YYYY-Qn")
    value: float = Field(allow_inf_nan=False, description="level to reach, or growth in percent")
    kind: Literal["level", "growth"] = "level"
    direction: Literal["at_least", "at_most"] = "at_least"
    label: str = Field("", max_length=300, description="e.g. 'Nghị quyết HĐND: thu ngân sách 2026'")


class IndicatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    unit: str = Field("", max_length=64)
    frequency: Literal["M", "Q", "Y"]
    kind: Literal["flow", "stock"] = Field(
        "stock", description="flow: values add up over the year (exports, revenue); stock: levels, rates"
    )
    source: str = Field("", max_length=2000)
    description: str = Field("", max_length=5000)
    forecast_from: str | None = Field(None, pattern=PERIOD_PATTERN, description="ignore periods before it")
    targets: list[TargetIn] = Field(default_factory=list, max_length=200)


class IndicatorOut(BaseModel):
    code: str
    name: str
    unit: str
    frequency: str
    kind: str
    source: str
    description: str
    forecast_from: str | None
    targets: list[dict[str, Any]]
    data_version: int
    n_observations: int
    first_period: str | None
    last_period: str | None
    updated_at: datetime


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str | int = Field(description="YYYY-MM, YYYY-Qn or YYYY")
    value: float | str | None


class ObservationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    observations: list[ObservationIn] = Field(min_length=1, max_length=100_000)
    note: str = Field("", max_length=300)


class IngestOut(BaseModel):
    indicator: str
    inserted: int
    revised: int
    unchanged: int
    data_version: int
    anomalies: list[dict[str, Any]]


def _get(session: Session, code: str) -> Indicator:
    ind = session.get(Indicator, code)
    if ind is None:
        raise NotFound(f"indicator {code!r} not found")
    return ind


def _out(session: Any, ind: Indicator) -> IndicatorOut:
    n, first, last = session.execute(
        select(func.count(), func.min(Observation.period), func.max(Observation.period)).where(
            Observation.indicator_code == ind.code, Observation.is_current.is_(True)
        )
    ).one()
    return IndicatorOut(
        code=ind.code,
        name=ind.name,
        unit=ind.unit,
        frequency=ind.frequency,
        kind=ind.kind,
        source=ind.source,
        description=ind.description,
        forecast_from=ind.forecast_from,
        targets=list(ind.targets or []),
        data_version=ind.data_version,
        n_observations=n,
        first_period=first,
        last_period=last,
        updated_at=ind.updated_at,
    )


@router.get("/v1/indicators", response_model=list[IndicatorOut])
def list_indicators(session: SessionDep, _: Viewer) -> list[IndicatorOut]:
    """The catalogue of indicators with their coverage."""
    return [_out(session, i) for i in session.scalars(select(Indicator).order_by(Indicator.code))]


@router.get("/v1/indicators/{code}", response_model=IndicatorOut)
def get_indicator(code: Code, session: SessionDep, _: Viewer) -> IndicatorOut:
    return _out(session, _get(session, code))


@router.put("/v1/indicators/{code}", response_model=IndicatorOut)
def put_indicator(code: Code, body: IndicatorIn, services: ServicesDep, who: Analyst) -> IndicatorOut:
    """Define or update an indicator (name, unit, frequency, source, plan targets)."""
    with services.db.transaction() as s:
        ind = s.get(Indicator, code)
        created = ind is None
        if ind is None:
            ind = Indicator(code=code, frequency=body.frequency, data_version=0)
            s.add(ind)
        elif ind.frequency != body.frequency and s.scalar(
            select(func.count()).where(Observation.indicator_code == code)
        ):
            raise InvalidInput(
                f"indicator {code!r} already has {ind.frequency}-frequency observations; "
                f"its frequency cannot change to {body.frequency}"
            )
        ind.name, ind.unit, ind.frequency, ind.kind = body.name, body.unit, body.frequency, body.kind
        ind.source, ind.description, ind.forecast_from = body.source, body.description, body.forecast_from
        ind.targets = [t.model_dump() for t in body.targets]
        s.flush()
        audit.record(
            s,
            who,
            "indicator.create" if created else "indicator.update",
            "indicator",
            code,
            body.model_dump(exclude={"description"}),
        )
        return _out(s, ind)


@router.delete("/v1/indicators/{code}", status_code=204)
def delete_indicator(code: Code, services: ServicesDep, who: Analyst) -> Response:
    """Delete an indicator with all its observations and revisions (audited)."""
    with services.db.transaction() as s:
        ind = _get(s, code)
        n = s.scalar(select(func.count()).where(Observation.indicator_code == code))
        s.delete(ind)
        audit.record(s, who, "indicator.delete", "indicator", code, {"observations": n})
    return Response(status_code=204)


OBSERVATIONS_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": ObservationsIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "text/csv": {"schema": {"type": "string"}},
        }
    }
}


@router.post("/v1/indicators/{code}/observations", response_model=IngestOut, openapi_extra=OBSERVATIONS_BODY)
async def post_observations(code: Code, request: Request, services: ServicesDep, who: Analyst) -> IngestOut:
    """Upsert observations from JSON, a CSV or an XLSX file (columns ``period``, ``value``).

    All or nothing: every row is checked first and the problems are reported with their line numbers.
    A changed value becomes a new revision (earlier ones are kept). New periods outside the 95% interval
    of the forecast made before they arrived are flagged as anomalies.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    note = ""
    file_format: str | None = None
    data: pd.DataFrame | bytes
    if ctype == "application/json":
        raw = await request.body()
        try:
            parsed = ObservationsIn.model_validate_json(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"{where}: {first['msg']}",
                code="validation_error",
                detail=json.loads(e.json(include_url=False, include_input=False)),
            ) from e
        data = pd.DataFrame([o.model_dump() for o in parsed.observations])
        note = parsed.note
    elif ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("multipart upload needs a 'file' field with the CSV or XLSX file")
        data = await upload.read()
        name = (upload.filename or "").lower()
        file_format = "xlsx" if name.endswith((".xlsx", ".xlsm")) else "csv" if name.endswith(".csv") else None
        note = f"file {upload.filename}"[:300]
    elif ctype in {"text/csv", "application/csv", "text/plain"}:
        data, file_format = await request.body(), "csv"
    elif ctype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        data, file_format = await request.body(), "xlsx"
    else:
        raise InvalidInput(
            f"unsupported content type {ctype or 'none'!r}: send application/json, a multipart 'file', "
            "text/csv or an XLSX body",
            code="unsupported_media_type",
        )
    return await run_in_threadpool(_ingest, services, code, data, file_format, who, note)


def _ingest(services: Services, code: str, data: Any, file_format: str | None, who: Any, note: str) -> IngestOut:
    from forecasting import parse_observations

    if isinstance(data, bytes) and not data.strip():
        raise InvalidInput(
            "the file is empty: expected a header 'period,value' and at least one row", code="empty_file"
        )
    with services.db.transaction() as s:
        ind = _get(s, code)
        incoming = parse_observations(data, freq=ind.frequency, unique_id=code, file_format=file_format)
        try:
            served = services.champions.get("forecasting")
            config, version = served.model.config, served.version
        except Exception:  # no forecasting model: store the data, skip the anomaly check
            config, version = None, ""
        result = upsert_observations(s, ind, incoming, who, config, version, note)
        audit.record(
            s,
            who,
            "observations.upsert",
            "indicator",
            code,
            {
                "inserted": result.inserted,
                "revised": result.revised,
                "unchanged": result.unchanged,
                "anomalies": len(result.anomalies),
                "note": note,
            },
        )
        return IngestOut(
            indicator=code,
            inserted=result.inserted,
            revised=result.revised,
            unchanged=result.unchanged,
            data_version=ind.data_version,
            anomalies=result.anomalies,
        )


@router.get("/v1/indicators/{code}/observations")
def get_observations(
    code: Code,
    session: SessionDep,
    _: Viewer,
    revisions: Annotated[bool, Query(description="include every stored revision")] = False,
) -> dict[str, Any]:
    """The series (current values), or every revision with who recorded it and when."""
    ind = _get(session, code)
    stmt = select(Observation).where(Observation.indicator_code == code)
    if not revisions:
        stmt = stmt.where(Observation.is_current.is_(True))
    rows = session.scalars(stmt.order_by(Observation.period, Observation.revision)).all()
    obs = [
        {"period": o.period, "value": o.value}
        | (
            {
                "revision": o.revision,
                "current": o.is_current,
                "recorded_at": o.recorded_at.isoformat(),
                "recorded_by": o.recorded_by,
            }
            if revisions
            else {}
        )
        for o in rows
    ]
    return {"indicator": code, "frequency": ind.frequency, "unit": ind.unit, "observations": obs}


def _levels(level: list[float] | None) -> list[float]:
    levels = level or [80.0, 95.0]
    bad = [lv for lv in levels if not 0 < lv < 100]
    if bad:
        raise InvalidInput(f"level must be in (0, 100) percent; got {bad}", code="validation_error")
    return sorted(set(levels))


def _horizon(services: Services, horizon: int) -> int:
    top = services.settings.forecasting.max_horizon
    if not 1 <= horizon <= top:
        raise InvalidInput(f"horizon must be between 1 and {top} periods; got {horizon}", code="validation_error")
    return horizon


@router.get(
    "/v1/indicators/{code}/forecast",
    responses={200: {"content": {"text/csv": {}}}, 304: {"description": "not modified (ETag)"}},
)
def get_forecast(
    code: Code,
    request: Request,
    services: ServicesDep,
    _: Viewer,
    horizon: Annotated[int, Query(description="periods ahead")] = 12,
    level: Annotated[list[float] | None, Query(description="interval levels in percent, repeatable")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Forecast with calibrated intervals and the backtested accuracy of the pipeline on this series."""
    levels, h = _levels(level), _horizon(services, horizon)
    with services.db.transaction() as s:
        ind = _get(s, code)
        body = forecast_body(services, s, ind, h, levels)
    etag = etag_of(body) + (";csv" if format == "csv" else "")
    headers = {"ETag": etag, "Cache-Control": "private, max-age=0, must-revalidate"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if format == "csv":
        frame = pd.DataFrame(body["points"])
        frame.insert(0, "indicator", code)
        return Response(
            frame.to_csv(index=False),
            media_type="text/csv; charset=utf-8",
            headers=headers | {"Content-Disposition": f'attachment; filename="{code}-forecast.csv"'},
        )
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json", headers=headers)


@router.get(
    "/v1/indicators/{code}/forecast.png", response_class=Response, responses={200: {"content": {"image/png": {}}}}
)
def get_forecast_plot(code: Code, services: ServicesDep, _: Viewer, horizon: Annotated[int, Query()] = 12) -> Response:
    """History, forecast and 80/95% intervals as a PNG chart."""
    from forecasting import forecast_series
    from forecasting.plot import plot_forecast

    h = _horizon(services, horizon)
    ind, series, config = _stored_series(services, code, "forecast from")
    png = plot_forecast(series, forecast_series(series, h, (80, 95), config), title=f"{ind.name} ({ind.unit})")
    return Response(png, media_type="image/png")


@router.get("/v1/indicators/{code}/seasonal-adjustment", responses={200: {"content": {"text/csv": {}}}})
def get_seasonal_adjustment(
    code: Code,
    services: ServicesDep,
    _: Viewer,
    tet: Annotated[bool, Query(description="remove Tết as a moving holiday (monthly series)")] = True,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> Response:
    """Seasonally adjusted series by X-13ARIMA-SEATS, with the Tết effect and its t statistic (monthly only)."""
    sa = _seasonal_adjustment(services, code, tet)[1]
    frame = sa.to_frame().drop(columns="unique_id").rename(columns={"ds": "period", "y": "value"})
    if format == "csv":
        frame.insert(0, "indicator", code)
        return Response(
            frame.to_csv(index=False),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{code}-seasonally-adjusted.csv"'},
        )
    body = {
        "indicator": code,
        "method": "X-13ARIMA-SEATS (regARIMA, X-11)",
        "decomposition": "multiplicative" if sa.multiplicative else "additive",
        "tet": None
        if sa.tet_coefficient is None
        else {"coefficient": sa.tet_coefficient, "standard_error": sa.tet_se, "t": sa.tet_t},
        "points": frame.to_dict(orient="records"),
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


@router.get(
    "/v1/indicators/{code}/seasonal-adjustment.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def get_seasonal_adjustment_plot(
    code: Code,
    services: ServicesDep,
    _: Viewer,
    tet: Annotated[bool, Query(description="remove Tết as a moving holiday")] = True,
) -> Response:
    """The series, its seasonally adjusted version and trend; the seasonal and Tết factors below (PNG)."""
    from forecasting.plot import plot_seasonal_adjustment

    ind, sa = _seasonal_adjustment(services, code, tet)
    return Response(plot_seasonal_adjustment(sa, title=f"{ind.name} ({ind.unit})"), media_type="image/png")


def _seasonal_adjustment(services: Services, code: str, tet: bool) -> tuple[Indicator, Any]:
    from forecasting.seasonal import seasonal_adjust

    ind, series, config = _stored_series(services, code, "adjust")
    return ind, seasonal_adjust(series, tet=tet, tet_window=config.tet_window)


def _stored_series(services: Services, code: str, purpose: str) -> tuple[Indicator, Any, Any]:
    """The indicator, its stored series (gaps filled as for a forecast) and the serving pipeline config."""
    with services.db.session() as s:
        ind = _get(s, code)
        series = load_series(s, ind, for_forecast=True)
    if series is None:
        raise InvalidInput(f"indicator {code!r} has no observations to {purpose}")
    return ind, series, services.champions.get("forecasting").model.config


@router.get("/v1/indicators/{code}/targets")
def get_targets(code: Code, services: ServicesDep, _: Viewer) -> dict[str, Any]:
    """Probability that each plan target of the indicator is met, from the predictive distribution
    (year-to-date accumulation for flow indicators)."""
    from forecasting.target import Target, target_probability

    with services.db.session() as s:
        ind = _get(s, code)
        series = load_series(s, ind, for_forecast=True)
    served = services.champions.get("forecasting")
    out = []
    for t in ind.targets or []:
        target = Target(
            period=t["period"],
            value=float(t["value"]),
            kind=t.get("kind", "level"),
            direction=t.get("direction", "at_least"),
        )
        entry: dict[str, Any] = dict(t)
        if series is None:
            entry["error"] = "no observations"
        else:
            try:
                r = target_probability(series, target, flow=ind.kind == "flow", config=served.model.config)
                entry |= {
                    "probability": r.probability,
                    "threshold": r.threshold,
                    "median": r.median,
                    "lower_80": r.lower_80,
                    "upper_80": r.upper_80,
                    "observed_part": r.observed_part,
                    "periods_forecast": r.periods_forecast,
                }
            except ValueError as e:
                entry["error"] = str(e)
        out.append(entry)
    return {"indicator": code, "model": {"name": "forecasting", "version": served.version}, "targets": out}


@router.get("/v1/anomalies")
def list_anomalies(
    session: SessionDep,
    _: Viewer,
    indicator: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Observations that fell outside the 95% interval of the forecast made before they arrived."""
    stmt = select(Anomaly).order_by(Anomaly.detected_at.desc(), Anomaly.id.desc())
    if indicator:
        stmt = stmt.where(Anomaly.indicator_code == indicator)
    return [
        {
            "id": a.id,
            "indicator": a.indicator_code,
            "period": a.period,
            "value": a.value,
            "expected": a.expected,
            "lower_95": a.lower_95,
            "upper_95": a.upper_95,
            "model_version": a.model_version,
            "detected_at": a.detected_at.isoformat(),
            "status": a.status,
        }
        for a in session.scalars(stmt.limit(limit))
    ]
