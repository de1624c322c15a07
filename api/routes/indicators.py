"""Indicators: catalogue (with components and an XLSX export/import), observations (JSON, or CSV/XLSX files as
the offices write them, with a dry run), the catalogue-wide report import, forecasts (coherent across a
hierarchy), target probabilities, anomalies."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api import audit
from api.auth import Principal
from api.deps import Analyst, ServicesDep, SessionDep, Viewer
from api.errors import BadRequest, InvalidInput, NotFound, UnsupportedMediaType
from api.schemas import UtcDatetime, body_schema
from api.services import Services
from api.spreadsheet import safe_cell, safe_frame, unsafe_cell
from api.storage.tables import Anomaly, Indicator, Observation
from api.stores import anomalies as anomalies_store
from api.stores.indicators import (
    IndicatorExtra,
    check_hierarchy,
    default_nonnegative,
    etag_of,
    extras,
    forecast_body,
    load_series,
    plan_upsert,
    set_extra,
    target_probabilities,
)
from api.stores.intake import (
    ReadOptions,
    intake_limits,
    read_indicator_file,
    read_report_file,
    serving_config,
    store_series,
)
from forecasting.intake import IntakeLimits

router = APIRouter(tags=["indicators"])

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
Code = Annotated[str, Path(pattern=CODE_PATTERN, description="indicator code, e.g. vn_exports")]
PERIOD_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$"
ComponentCode = Annotated[str, Field(pattern=CODE_PATTERN)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    nonnegative: bool | None = Field(
        None,
        description="values are never negative; default for a new indicator: yes when its unit is money, "
        "people, goods or areas (đồng, lượt, tấn...), no for percentages and indices",
    )


class IndicatorPatch(BaseModel):
    """A partial change: only the fields sent change (``components: []`` makes the indicator a leaf)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=300)
    unit: str | None = Field(None, max_length=64)
    kind: Literal["flow", "stock"] | None = None
    source: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=5000)
    forecast_from: str | None = Field(None, pattern=PERIOD_PATTERN)
    targets: list[TargetIn] | None = Field(None, max_length=200)
    department: str | None = Field(None, max_length=300, description="responsible department (đơn vị phụ trách)")
    nonnegative: bool | None = Field(None, description="values are never negative (revenue, counts)")
    components: list[ComponentCode] | None = Field(
        None, max_length=500, description="codes of the indicators whose sum this one is"
    )


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
    department: str
    nonnegative: bool
    components: list[str]
    data_version: int
    n_observations: int
    first_period: str | None
    last_period: str | None
    updated_at: UtcDatetime


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
    dry_run: bool = False
    inserted: int
    revised: int
    unchanged: int
    data_version: int
    anomalies: list[dict[str, Any]]
    intake: dict[str, Any] | None = Field(
        None, description="for a file: layout, column mapping, parsed rows (dry run), warnings"
    )


class PeriodValue(BaseModel):
    period: str
    value: float


class DryRunOut(BaseModel):
    indicator: str
    dry_run: bool = True
    inserted: int
    revised: int
    unchanged: int
    observations: list[PeriodValue] = Field(description="what would be stored")
    intake: dict[str, Any]


class BulkItem(BaseModel):
    indicator: str
    inserted: int
    revised: int
    unchanged: int
    data_version: int
    anomalies: list[dict[str, Any]]


class BulkOut(BaseModel):
    dry_run: bool
    indicators: list[BulkItem]
    intake: dict[str, Any]


class ObservationOut(BaseModel):
    period: str
    value: float
    revision: int | None = Field(None, description="with revisions=true only")
    current: bool | None = None
    recorded_at: UtcDatetime | None = None
    recorded_by: str | None = None


class ObservationsOut(BaseModel):
    indicator: str
    frequency: str
    unit: str
    observations: list[ObservationOut]


class ForecastPointOut(BaseModel):
    """One period: ``mean`` and, for each level L asked for, ``lower_L`` and ``upper_L``."""

    model_config = ConfigDict(extra="allow")
    period: str
    mean: float


class ModelRefOut(BaseModel):
    name: str
    version: str


class ForecastOut(BaseModel):
    indicator: str
    model: ModelRefOut
    generated_at: UtcDatetime
    data_version: int
    last_period: str
    points: list[ForecastPointOut]
    methods: dict[str, float] = Field(description="weight of each forecasting method in the combination")
    notes: list[str]
    backtest: dict[str, float | str] = Field(description="accuracy of the pipeline on this series' own past")
    reconciled: dict[str, Any] | None = Field(
        None, description="for an indicator in a tree: how whole and parts were made to add up"
    )
    targets: list[dict[str, Any]] | None = Field(None, description="target probabilities, reconciled")


class TargetOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    period: str
    value: float
    probability: float | None = Field(None, description="chance the target is met, 0..1")
    error: str | None = None


class TargetsOut(BaseModel):
    indicator: str
    model: ModelRefOut
    targets: list[TargetOut]


class AnomalyOut(BaseModel):
    id: int
    indicator: str
    period: str
    value: float
    expected: float
    lower_95: float
    upper_95: float
    model_version: str
    detected_at: UtcDatetime
    status: Literal["open", "acknowledged", "closed"]
    reviewed_by: str | None
    reviewed_at: UtcDatetime | None
    note: str | None


class AnomalyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "acknowledged", "closed"]
    note: str | None = Field(None, max_length=2000, description="why: a data error, a known event, ...")


class TetEffectOut(BaseModel):
    coefficient: float = Field(description="the Tết regressor's coefficient (log scale when multiplicative)")
    standard_error: float | None
    t: float | None


class SeasonalPointOut(BaseModel):
    """One period: the series and its components (seasonally adjusted, trend, seasonal and Tết factors)."""

    model_config = ConfigDict(extra="allow")
    period: str


class SeasonalAdjustmentOut(BaseModel):
    indicator: str
    method: str
    decomposition: Literal["multiplicative", "additive"]
    tet: TetEffectOut | None
    points: list[SeasonalPointOut]


class CatalogueImportOut(BaseModel):
    created: list[str]
    updated: list[str]
    indicators: list[IndicatorOut]


def _get(session: Session, code: str) -> Indicator:
    ind = session.get(Indicator, code)
    if ind is None:
        raise NotFound(f"indicator {code!r} not found")
    return ind


def _out(session: Session, ind: Indicator, extra: IndicatorExtra | None = None) -> IndicatorOut:
    n, first, last = session.execute(
        select(func.count(), func.min(Observation.period), func.max(Observation.period)).where(
            Observation.indicator_code == ind.code, Observation.is_current.is_(True)
        )
    ).one()
    if extra is None:
        extra = extras(session, [ind.code]).get(ind.code, IndicatorExtra())
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
        department=extra.department,
        nonnegative=extra.nonnegative,
        components=list(extra.components),
        data_version=ind.data_version,
        n_observations=n,
        first_period=first,
        last_period=last,
        updated_at=ind.updated_at,
    )


@router.get("/v1/indicators", response_model=list[IndicatorOut])
def list_indicators(session: SessionDep, _: Viewer) -> list[IndicatorOut]:
    """The catalogue of indicators with their coverage."""
    ex = extras(session)
    return [_out(session, i, ex.get(i.code)) for i in session.scalars(select(Indicator).order_by(Indicator.code))]


# -- the whole catalogue as one workbook (declared before /v1/indicators/{code}, which would match it) -----
CATALOGUE_COLUMNS = (
    "code",
    "name",
    "unit",
    "frequency",
    "kind",
    "source",
    "description",
    "department",
    "nonnegative",
    "forecast_from",
    "components",
    "targets",
)


@router.get("/v1/indicators/catalogue.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_catalogue(session: SessionDep, _: Viewer) -> Response:
    """The whole catalogue as one XLSX sheet (one row per indicator; ``components`` comma-separated,
    ``targets`` as JSON), the same layout ``PUT /v1/indicators/catalogue.xlsx`` reads back."""
    import openpyxl

    ex = extras(session)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh mục chỉ tiêu"
    ws.append(list(CATALOGUE_COLUMNS))
    for ind in session.scalars(select(Indicator).order_by(Indicator.code)):
        e = ex.get(ind.code, IndicatorExtra())
        ws.append(
            [
                safe_cell(v)
                for v in (
                    ind.code,
                    ind.name,
                    ind.unit,
                    ind.frequency,
                    ind.kind,
                    ind.source,
                    ind.description,
                    e.department,
                    e.nonnegative,
                    ind.forecast_from or "",
                    ", ".join(e.components),
                    json.dumps(list(ind.targets or []), ensure_ascii=False) if ind.targets else "",
                )
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="catalogue.xlsx"'},
    )


_TRUE = {"true", "1", "yes", "có", "x", "co"}
_FALSE = {"false", "0", "no", "không", "khong", ""}


def _catalogue_rows(data: bytes, limits: IntakeLimits) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {column: cell}) of the catalogue sheet; the header row holds :data:`CATALOGUE_COLUMNS`."""
    from forecasting.intake.grid import open_workbook

    wb = open_workbook(data, limits)
    try:
        grid = wb.read(wb.sheets[0])
    finally:
        wb.close()
    if not grid.rows:
        raise InvalidInput("the catalogue workbook's first sheet is empty", code="empty_file")
    _, header = grid.rows[0]
    names = [str(h or "").strip().lower() for h in header]
    missing = [c for c in ("code", "name", "frequency") if c not in names]
    unknown = [n for n in names if n and n not in CATALOGUE_COLUMNS]
    if missing or unknown:
        raise InvalidInput(
            f"the catalogue header must hold {list(CATALOGUE_COLUMNS)} (code, name and frequency required). "
            f"Got: {names}; missing {missing}, unknown {unknown}. Export the catalogue to get the layout",
            code="invalid_catalogue",
        )
    return [
        (n, {k: (cells[j] if j < len(cells) else None) for j, k in enumerate(names) if k}) for n, cells in grid.rows[1:]
    ]


def _parse_catalogue_row(cells: dict[str, Any]) -> tuple[str, IndicatorIn, str, bool, list[str]]:
    def text(k: str) -> str:
        v = cells.get(k)
        return "" if v is None else unsafe_cell(str(v)).strip()

    code = text("code")
    if not pd.Series([code]).str.fullmatch(CODE_PATTERN[1:-1]).iloc[0]:
        raise ValueError(f"code must match {CODE_PATTERN}. Got: {code!r}")
    raw_targets = text("targets")
    try:
        targets = json.loads(raw_targets) if raw_targets else []
    except json.JSONDecodeError as e:
        raise ValueError(f"targets must be a JSON list of targets. Got: {raw_targets[:80]!r}") from e
    body = IndicatorIn.model_validate(
        {
            "name": text("name"),
            "unit": text("unit"),
            "frequency": text("frequency").upper(),
            "kind": text("kind") or "stock",
            "source": text("source"),
            "description": text("description"),
            "forecast_from": text("forecast_from") or None,
            "targets": targets,
        }
    )
    nonneg_raw = cells.get("nonnegative")
    if isinstance(nonneg_raw, bool):
        nonneg = nonneg_raw
    elif text("nonnegative").lower() in _TRUE | _FALSE:
        nonneg = text("nonnegative").lower() in _TRUE
    else:
        raise ValueError(f"nonnegative must be TRUE or FALSE. Got: {text('nonnegative')!r}")
    parts = [p.strip() for p in text("components").replace(";", ",").split(",") if p.strip()]
    return code, body, text("department"), nonneg, parts


CATALOGUE_BODY = {
    "requestBody": {
        "content": {
            XLSX: {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
        }
    }
}


@router.put("/v1/indicators/catalogue.xlsx", response_model=CatalogueImportOut, openapi_extra=CATALOGUE_BODY)
async def import_catalogue(request: Request, services: ServicesDep, who: Analyst) -> CatalogueImportOut:
    """Define or update every indicator of an XLSX catalogue (the export's layout), all or nothing: every
    row is checked, then the components over the resulting catalogue; indicators not in the file stay."""
    data, _, _, _ = await _read_upload(request)
    return await run_in_threadpool(_import_catalogue, services, data, who)


def _import_catalogue(services: Services, data: bytes, who: Principal) -> CatalogueImportOut:
    rows = _catalogue_rows(data, intake_limits(services))
    parsed: list[tuple[str, IndicatorIn, str, bool, list[str]]] = []
    problems: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, cells in rows:
        try:
            item = _parse_catalogue_row(cells)
        except ValidationError as e:
            first = e.errors()[0]
            problems.append({"row": n, "problem": f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"})
            continue
        except ValueError as e:
            problems.append({"row": n, "problem": str(e)})
            continue
        if item[0] in seen:
            problems.append({"row": n, "problem": f"code {item[0]!r} already on row {seen[item[0]]}"})
        seen[item[0]] = n
        parsed.append(item)
    if problems:
        raise InvalidInput(
            f"the catalogue has {len(problems)} wrong rows, nothing was changed: "
            + "; ".join(f"row {p['row']}: {p['problem']}" for p in problems[:5]),
            code="invalid_catalogue",
            detail=problems,
        )
    created: list[str] = []
    updated: list[str] = []
    with services.db.transaction() as s:
        for code, body, department, nonneg, _parts in parsed:
            _apply_indicator(s, code, body, who, created, updated)
            set_extra(s, code, department=department, nonnegative=nonneg)
        check_hierarchy(s, {code: parts for code, *_rest, parts in parsed})
        for code, *_rest, parts in parsed:
            set_extra(s, code, components=parts)
        audit.record(s, who, "catalogue.import", "indicator", "*", {"created": created, "updated": updated})
        s.flush()
        ex = extras(s)
        out = [_out(s, _get(s, code), ex.get(code)) for code, *_ in parsed]
    return CatalogueImportOut(created=created, updated=updated, indicators=out)


def _apply_indicator(
    s: Session, code: str, body: IndicatorIn, who: Principal, created: list[str], updated: list[str]
) -> Indicator:
    ind = s.get(Indicator, code)
    if ind is None:
        # a new indicator is non-negative by default when its unit says so ("tỷ đồng", "lượt", "tấn")
        nonneg = default_nonnegative(body.unit, body.kind) if body.nonnegative is None else body.nonnegative
        ind = Indicator(code=code, frequency=body.frequency, data_version=0, nonnegative=nonneg)
        s.add(ind)
        created.append(code)
    else:
        if ind.frequency != body.frequency and s.scalar(select(func.count()).where(Observation.indicator_code == code)):
            raise InvalidInput(
                f"indicator {code!r} already has {ind.frequency}-frequency observations; "
                f"its frequency cannot change to {body.frequency}",
                code="frequency_change",
            )
        updated.append(code)
    ind.name, ind.unit, ind.frequency, ind.kind = body.name, body.unit, body.frequency, body.kind
    ind.source, ind.description, ind.forecast_from = body.source, body.description, body.forecast_from
    ind.targets = [t.model_dump() for t in body.targets]
    if body.nonnegative is not None and code not in created:
        ind.nonnegative = body.nonnegative
    s.flush()
    audit.record(
        s,
        who,
        "indicator.create" if code in created else "indicator.update",
        "indicator",
        code,
        body.model_dump(exclude={"description"}),
    )
    return ind


@router.get("/v1/indicators/{code}", response_model=IndicatorOut)
def get_indicator(code: Code, session: SessionDep, _: Viewer) -> IndicatorOut:
    return _out(session, _get(session, code))


@router.put("/v1/indicators/{code}", response_model=IndicatorOut)
def put_indicator(code: Code, body: IndicatorIn, services: ServicesDep, who: Analyst) -> IndicatorOut:
    """Define or update an indicator (name, unit, frequency, source, plan targets)."""
    with services.db.transaction() as s:
        ind = _apply_indicator(s, code, body, who, [], [])
        return _out(s, ind)


@router.patch("/v1/indicators/{code}", response_model=IndicatorOut)
def patch_indicator(code: Code, body: IndicatorPatch, services: ServicesDep, who: Analyst) -> IndicatorOut:
    """Change some fields of an indicator: targets alone, unit, source, department, ``nonnegative``, or
    ``components`` (the codes whose sum it is; checked over the whole catalogue: no cycle, no unknown code,
    a part in one parent only, one frequency per tree)."""
    sent = body.model_fields_set
    with services.db.transaction() as s:
        ind = _get(s, code)
        for name in ("name", "unit", "kind", "source", "description"):
            if name in sent:
                value = getattr(body, name)
                if value is None:
                    raise InvalidInput(f"{name} cannot be null; send a value or leave it out", code="validation_error")
                setattr(ind, name, value)
        if "forecast_from" in sent:
            ind.forecast_from = body.forecast_from
        if "targets" in sent:
            ind.targets = [t.model_dump() for t in body.targets or []]
        if "components" in sent:
            check_hierarchy(s, {code: list(body.components or [])})
        set_extra(
            s,
            code,
            department=body.department if "department" in sent else None,
            nonnegative=body.nonnegative if "nonnegative" in sent else None,
            components=list(body.components or []) if "components" in sent else None,
        )
        s.flush()
        audit.record(
            s, who, "indicator.patch", "indicator", code, body.model_dump(include=sent, exclude={"description"})
        )
        return _out(s, ind)


@router.delete("/v1/indicators/{code}", status_code=204)
def delete_indicator(code: Code, services: ServicesDep, who: Analyst) -> Response:
    """Delete an indicator with all its observations and revisions (audited); refused while it is in a
    hierarchy (change the components first)."""
    from api.stores.indicators import components_map

    with services.db.transaction() as s:
        ind = _get(s, code)
        comp = components_map(s)
        parents = [p for p, parts in comp.items() if code in parts]
        if parents or code in comp:
            raise InvalidInput(
                f"indicator {code!r} is in a hierarchy (parent of {comp.get(code, [])}, component of {parents}); "
                "remove it from the components first",
                code="in_hierarchy",
            )
        n = s.scalar(select(func.count()).where(Observation.indicator_code == code))
        s.delete(ind)
        audit.record(s, who, "indicator.delete", "indicator", code, {"observations": n})
    return Response(status_code=204)


# -- observations ------------------------------------------------------------------------------------------
OBSERVATIONS_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": body_schema(ObservationsIn)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "decimal": {"type": "string", "enum": [",", "."]},
                        "sheet": {"type": "string"},
                        "year": {"type": "integer"},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            XLSX: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}

Decimal = Annotated[
    Literal[",", "."] | None, Query(description="decimal separator: ',' (vi-VN, 1.234,5) or '.'; default inferred")
]
Sheet = Annotated[
    str | None, Query(max_length=200, description="workbook sheet to read; default: the first with a header")
]
Year = Annotated[
    int | None, Query(ge=1900, le=2100, description="year of period columns written without one ('Tháng 1')")
]
DryRun = Annotated[bool, Query(description="answer what would be stored; store nothing")]


async def _read_upload(request: Request) -> tuple[bytes, str | None, str | None, dict[str, str]]:
    """(bytes, filename, content type, other form fields) of a multipart ``file`` or a raw CSV/XLSX body."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise BadRequest("multipart upload needs a 'file' field with the CSV or XLSX file")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return await upload.read(), upload.filename, upload.content_type, fields
    if ctype in {"text/csv", "application/csv", "text/plain", XLSX, "application/octet-stream"}:
        return await request.body(), None, ctype, {}
    raise UnsupportedMediaType(
        f"unsupported content type {ctype or 'none'!r}: send a multipart 'file', text/csv or an XLSX body",
    )


def _field_options(
    fields: dict[str, str], decimal: str | None, sheet: str | None, year: int | None
) -> tuple[Literal[",", "."] | None, str | None, int | None]:
    """Form fields override the query's decimal, sheet and year."""
    d = fields.get("decimal", decimal)
    if d not in (None, ",", "."):
        raise InvalidInput(f"decimal must be ',' or '.'. Got: {d!r}", code="validation_error")
    sh = fields.get("sheet", sheet) or None
    y_raw = fields.get("year")
    if y_raw is not None and y_raw.strip():
        if not y_raw.strip().isdigit() or not 1900 <= int(y_raw) <= 2100:
            raise InvalidInput(f"year must be a year 1900-2100. Got: {y_raw!r}", code="validation_error")
        year = int(y_raw)
    return d, sh, year  # type: ignore[return-value]


def _flag(fields: dict[str, str], name: str, default: bool) -> bool:
    raw = fields.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in {"true", "1", "yes", "on"}:
        return True
    if raw.strip().lower() in {"false", "0", "no", "off", ""}:
        return False
    raise InvalidInput(f"{name} must be true or false. Got: {raw!r}", code="validation_error")


@router.post(
    "/v1/indicators/{code}/observations", response_model=IngestOut | DryRunOut, openapi_extra=OBSERVATIONS_BODY
)
async def post_observations(
    code: Code,
    request: Request,
    services: ServicesDep,
    who: Analyst,
    dry_run: DryRun = False,
    decimal: Decimal = None,
    sheet: Sheet = None,
    year: Year = None,
) -> IngestOut | DryRunOut:
    """Upsert observations from JSON, or a CSV or XLSX file as the offices write it (see the README's
    "Indicator files"): one series (``Kỳ | Giá trị``), long (``Mã | Kỳ | Giá trị``) or a report with periods
    as columns; the rows of this indicator are taken (by code or name).

    All or nothing: every row is checked first and the problems are reported with their rows. Missing cells
    (``-``, ``..``) are left out, never stored. A changed value becomes a new revision (earlier ones are kept).
    New periods outside the 95% interval of the forecast made before they arrived are flagged as anomalies.
    ``dry_run=true`` answers what would be stored (layout, column mapping, rows, warnings) and stores nothing.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
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
        frame = pd.DataFrame([o.model_dump() for o in parsed.observations])
        return await run_in_threadpool(_ingest_json, services, code, frame, who, parsed.note, dry_run)
    data, filename, content_type, fields = await _read_upload(request)
    d, sh, y = _field_options(fields, decimal, sheet, year)
    dry = _flag(fields, "dry_run", dry_run)
    note = f"file {filename}"[:300] if filename else "file upload"
    return await run_in_threadpool(
        _ingest_file, services, code, data, filename, content_type, (d, sh, y), who, note, dry
    )


def _ingest_json(
    services: Services, code: str, frame: pd.DataFrame, who: Principal, note: str, dry_run: bool
) -> IngestOut | DryRunOut:
    from forecasting import parse_observations

    with services.db.transaction() as s:
        ind = _get(s, code)
        series = parse_observations(frame, freq=ind.frequency, unique_id=code, nonnegative=bool(ind.nonnegative))
        pairs = [(p, float(v)) for p, v in zip(series.periods, series.values, strict=True)]
        return _plan_or_store(services, s, ind, pairs, who, note, dry_run, dry_intake={}, intake=None)


def _plan_or_store(
    services: Services,
    s: Session,
    ind: Indicator,
    pairs: list[tuple[str, float]],
    who: Principal,
    note: str,
    dry_run: bool,
    dry_intake: dict[str, Any],
    intake: dict[str, Any] | None,
) -> IngestOut | DryRunOut:
    """What one indicator's upload would store (dry run) or stores, audited: the JSON and file paths' end."""
    if dry_run:
        plan = plan_upsert(s, ind, pairs)
        return DryRunOut(
            indicator=ind.code,
            inserted=plan.inserted,
            revised=plan.revised,
            unchanged=plan.unchanged,
            observations=[PeriodValue(period=p, value=v) for p, v in pairs],
            intake=dry_intake,
        )
    result = store_series(services, s, ind, pairs, who, note)
    return IngestOut(
        indicator=ind.code,
        inserted=result.inserted,
        revised=result.revised,
        unchanged=result.unchanged,
        data_version=ind.data_version,
        anomalies=result.anomalies,
        intake=intake,
    )


def _ingest_file(
    services: Services,
    code: str,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    opts: tuple[Literal[",", "."] | None, str | None, int | None],
    who: Principal,
    note: str,
    dry_run: bool,
) -> IngestOut | DryRunOut:
    decimal, sheet, year = opts
    res, pairs = read_indicator_file(services, code, data, filename, content_type, ReadOptions(decimal, sheet, year))
    shown = services.settings.intake.dry_run_rows
    with services.db.transaction() as s:
        ind = _get(s, code)
        return _plan_or_store(
            services,
            s,
            ind,
            pairs,
            who,
            note,
            dry_run,
            dry_intake=res.to_dict(max_observations=shown),
            intake=res.to_dict(max_observations=0),
        )


BULK_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "allow_unmatched": {"type": "boolean"},
                        "dry_run": {"type": "boolean"},
                        "decimal": {"type": "string", "enum": [",", "."]},
                        "sheet": {"type": "string"},
                        "year": {"type": "integer"},
                    },
                    "required": ["file"],
                }
            }
        }
    }
}


@router.post("/v1/observations", response_model=BulkOut, openapi_extra=BULK_BODY)
async def post_report(
    request: Request,
    services: ServicesDep,
    who: Analyst,
    dry_run: DryRun = False,
    allow_unmatched: Annotated[
        bool, Query(description="store the matched rows even when rows with values match no indicator")
    ] = False,
    decimal: Decimal = None,
    sheet: Sheet = None,
    year: Year = None,
) -> BulkOut:
    """A report file (a "biểu": one row per indicator, periods as columns; or long ``Mã | Kỳ | Giá trị``)
    matched to the whole catalogue by code or name, all or nothing in one transaction. Rows with values that
    match no indicator refuse the file (422 listing them) unless ``allow_unmatched=true``; every matched
    indicator's frequency must be the file's. ``dry_run=true`` stores nothing."""
    data, filename, content_type, fields = await _read_upload(request)
    opts = _field_options(fields, decimal, sheet, year)
    dry = _flag(fields, "dry_run", dry_run)
    allow = _flag(fields, "allow_unmatched", allow_unmatched)
    note = f"report {filename}"[:300] if filename else "report upload"
    return await run_in_threadpool(_ingest_report, services, data, filename, content_type, opts, who, note, dry, allow)


def _ingest_report(
    services: Services,
    data: bytes,
    filename: str | None,
    content_type: str | None,
    opts: tuple[Literal[",", "."] | None, str | None, int | None],
    who: Principal,
    note: str,
    dry_run: bool,
    allow_unmatched: bool,
) -> BulkOut:
    decimal, sheet, year = opts
    res, groups = read_report_file(
        services, data, filename, content_type, ReadOptions(decimal, sheet, year), allow_unmatched
    )
    shown = services.settings.intake.dry_run_rows
    items: list[BulkItem] = []
    with services.db.transaction() as s:
        config = serving_config(services) if not dry_run else None
        for code, pairs in groups.items():
            ind = _get(s, code)
            r = plan_upsert(s, ind, pairs) if dry_run else store_series(services, s, ind, pairs, who, note, config)
            items.append(
                BulkItem(
                    indicator=code,
                    inserted=r.inserted,
                    revised=r.revised,
                    unchanged=r.unchanged,
                    data_version=ind.data_version,
                    anomalies=r.anomalies,
                )
            )
    return BulkOut(dry_run=dry_run, indicators=items, intake=res.to_dict(max_observations=shown if dry_run else 0))


@router.get("/v1/indicators/{code}/observations", response_model=ObservationsOut)
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
                "recorded_at": o.recorded_at,
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
    responses={
        200: {"model": ForecastOut, "content": {"text/csv": {}}},
        304: {"description": "not modified (ETag)"},
    },
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
            safe_frame(frame).to_csv(index=False),
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


@router.get(
    "/v1/indicators/{code}/seasonal-adjustment",
    responses={200: {"model": SeasonalAdjustmentOut, "content": {"text/csv": {}}}},
)
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
            safe_frame(frame).to_csv(index=False),
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


@router.get("/v1/indicators/{code}/targets", response_model=TargetsOut)
def get_targets(code: Code, services: ServicesDep, _: Viewer) -> dict[str, Any]:
    """Probability that each plan target of the indicator is met, from the predictive distribution
    (year-to-date accumulation for flow indicators)."""
    with services.db.session() as s:
        ind = _get(s, code)
        version, out = target_probabilities(services, s, ind)
    return {"indicator": code, "model": {"name": "forecasting", "version": version}, "targets": out}


@router.get("/v1/anomalies", response_model=list[AnomalyOut])
def list_anomalies(
    session: SessionDep,
    _: Viewer,
    indicator: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["open", "acknowledged", "closed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AnomalyOut]:
    """Observations that fell outside the 95% band published for their period before they arrived (the same
    band the forecast showed), newest first; ``status`` filters open, acknowledged or closed ones."""
    return [_anomaly_out(a) for a in anomalies_store.list_anomalies(session, indicator, status, limit)]


@router.patch("/v1/anomalies/{anomaly_id}", response_model=AnomalyOut)
def review_anomaly(
    anomaly_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: AnomalyPatch, services: ServicesDep, who: Analyst
) -> AnomalyOut:
    """Acknowledge or close an anomaly (or reopen it), with a note; who and when are kept and audited."""
    with services.db.transaction() as s:
        row = anomalies_store.review(s, anomaly_id, body.status, body.note, who)
        audit.record(s, who, "anomaly.review", "anomaly", str(anomaly_id), {"status": body.status, "note": body.note})
        return _anomaly_out(row)


def _anomaly_out(a: Anomaly) -> AnomalyOut:
    return AnomalyOut(
        id=a.id,
        indicator=a.indicator_code,
        period=a.period,
        value=a.value,
        expected=a.expected,
        lower_95=a.lower_95,
        upper_95=a.upper_95,
        model_version=a.model_version,
        detected_at=a.detected_at,
        status=a.status,
        reviewed_by=a.reviewed_by,
        reviewed_at=a.reviewed_at,
        note=a.note,
    )
