"""Sources: published files (CSV, XLSX, JSON, JSON-stat/PX-Web) pulled on a schedule and on demand into the
indicators, with their pull status and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api import audit
from api.deps import Analyst, ServicesDep, SessionDep, Viewer
from api.schemas import MAX_DB_INT, JobAccepted, NoNulStr, UtcDatetime
from api.storage.tables import Source
from api.stores import sources as store

router = APIRouter(prefix="/v1/sources", tags=["sources"])

CODE_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
SourceId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="the source's id")]
Format = Literal["csv", "xlsx", "json", "json-stat"]
Short = Annotated[NoNulStr, Field(min_length=1, max_length=200)]
Schedule = Annotated[
    int | Annotated[str, Field(min_length=1, max_length=120)],
    Field(
        description="seconds between pulls (e.g. 3600), @hourly/@daily/@weekly/@monthly/@yearly, or cron "
        "'minute hour day month weekday' in Asia/Ho_Chi_Minh (e.g. '0 8 * * 1'; numbers, *, a-b, */n, lists)"
    ),
]


class SourceMapping(BaseModel):
    """How to read the file; each format reads some keys (others are refused)."""

    model_config = ConfigDict(extra="forbid")
    decimal: Literal[",", "."] | None = Field(None, description="csv, xlsx, json: the decimal separator")
    sheet: Short | None = Field(None, description="xlsx: the sheet to read")
    year: int | None = Field(None, ge=1900, le=2100, description="csv, xlsx: year of columns written 'Tháng 1'")
    allow_unmatched: bool | None = Field(None, description="catalogue-wide: store matched rows despite unmatched")
    records: Short | None = Field(None, description="json: dotted path to the list of records, e.g. 'data.items'")
    period: Short | None = Field(None, description="json: the records' period field (default 'period')")
    value: Short | None = Field(None, description="json: the records' value field (default 'value')")
    code: Short | None = Field(None, description="json, catalogue-wide: the field naming the indicator")
    dataset: Short | None = Field(None, description="json-stat: the dataset of a bundle")
    time: Short | None = Field(None, description="json-stat: the time dimension (default: role time)")
    filter: dict[Short, Short] | None = Field(
        None, max_length=20, description="json-stat: {dimension: category} pinning the other dimensions"
    )
    code_dimension: Short | None = Field(None, description="json-stat, catalogue-wide: the indicators' dimension")
    codes: dict[Short, Annotated[str, Field(pattern=CODE_PATTERN)]] | None = Field(
        None, max_length=2000, description="json-stat: {category: indicator code} (default: match the label)"
    )


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[NoNulStr, Field(min_length=1, max_length=2000, description="http(s) URL of the published file")]
    format: Format
    indicator: str | None = Field(
        None, pattern=CODE_PATTERN, description="the indicator the file feeds; absent: rows matched to the catalogue"
    )
    mapping: SourceMapping = Field(default_factory=SourceMapping)
    schedule: Schedule
    name: NoNulStr = Field("", max_length=200)
    enabled: bool = True


class SourcePatch(BaseModel):
    """A partial change: only the fields sent change (``"indicator": null`` makes it catalogue-wide)."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[NoNulStr, Field(min_length=1, max_length=2000)] | None = None
    format: Format | None = None
    indicator: str | None = Field(None, pattern=CODE_PATTERN)
    mapping: SourceMapping | None = None
    schedule: Schedule | None = None
    name: NoNulStr | None = Field(None, max_length=200)
    enabled: bool | None = None


class SourceAlertOut(BaseModel):
    kind: str = Field(description="source_failed or source_stale")
    since: UtcDatetime
    message: str


class SourceOut(BaseModel):
    id: int
    name: str
    url: str
    format: str
    indicator: str | None
    mapping: dict[str, Any]
    schedule: str
    enabled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    next_due_at: UtcDatetime
    last_pull_at: UtcDatetime | None
    last_status: str | None = Field(description="stored, unchanged or failed")
    last_success_at: UtcDatetime | None
    last_error_code: str | None
    last_error: str | None
    consecutive_failures: int
    last_job_id: str | None
    etag: str | None = Field(description="validator sent as If-None-Match on the next pull")
    last_modified: str | None = Field(description="validator sent as If-Modified-Since on the next pull")
    frequency: str | None
    last_period: str | None = Field(description="newest period the source has delivered")
    last_new_data_at: UtcDatetime | None
    alert: SourceAlertOut | None


def _out(src: Source) -> SourceOut:
    alert = None
    if src.alert:
        since: datetime = src.alert_since or src.updated_at
        alert = SourceAlertOut(kind=src.alert, since=since, message=src.alert_message or "")
    return SourceOut(
        id=src.id,
        name=src.name,
        url=src.url,
        format=src.format,
        indicator=src.indicator_code,
        mapping=dict(src.mapping or {}),
        schedule=src.schedule,
        enabled=src.enabled,
        created_at=src.created_at,
        updated_at=src.updated_at,
        next_due_at=src.next_due_at,
        last_pull_at=src.last_pull_at,
        last_status=src.last_status,
        last_success_at=src.last_success_at,
        last_error_code=src.last_error_code,
        last_error=src.last_error,
        consecutive_failures=src.consecutive_failures,
        last_job_id=src.last_job_id,
        etag=src.etag,
        last_modified=src.last_modified,
        frequency=src.frequency,
        last_period=src.last_period,
        last_new_data_at=src.last_new_data_at,
        alert=alert,
    )


@router.post("", status_code=201, response_model=SourceOut)
def create_source(body: SourceIn, services: ServicesDep, who: Analyst) -> SourceOut:
    """Register a source; its first pull is due at once. Refused (422): a URL that is not http(s)
    (``scheme_refused``) or whose host resolves to a private, loopback, link-local or otherwise non-public
    address (``address_refused``; an administrator may allow a host with ``IOC_SOURCES__ALLOWED_HOSTS``), an
    unknown indicator (404), a schedule more frequent than ``IOC_SOURCES__MIN_INTERVAL_S`` or not understood
    (``invalid_schedule``), mapping keys the format does not read (``invalid_mapping``)."""
    spec = store.SourceSpec(
        url=body.url,
        format=body.format,
        schedule=str(body.schedule).strip(),
        indicator=body.indicator,
        mapping=body.mapping.model_dump(exclude_none=True),
        name=body.name,
        enabled=body.enabled,
    )
    with services.db.transaction() as s:
        return _out(store.create(services, s, spec, who))


@router.get("", response_model=list[SourceOut])
def list_sources(
    session: SessionDep,
    _: Viewer,
    alert: Annotated[bool, Query(description="only sources with an alert (source_failed, source_stale)")] = False,
) -> list[SourceOut]:
    """Every source with the state of its pulls; ``alert=true``: the ones a dashboard should show."""
    return [_out(src) for src in store.list_sources(session, alert_only=alert)]


@router.get("/{source_id}", response_model=SourceOut)
def get_source(source_id: SourceId, session: SessionDep, _: Viewer) -> SourceOut:
    """The source: last pull, last success, last error (code and message), next due time, the validators kept
    for conditional requests, the newest period delivered, the alert."""
    return _out(store.get(session, source_id))


@router.patch("/{source_id}", response_model=SourceOut)
def patch_source(source_id: SourceId, body: SourcePatch, services: ServicesDep, who: Analyst) -> SourceOut:
    """Change the fields sent (validated like a new source); a new URL, format or mapping forgets the kept
    validators, a new schedule or re-enabling makes the next pull due at once."""
    changes: dict[str, Any] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "mapping":
            changes[name] = value.model_dump(exclude_none=True) if value is not None else {}
        elif name == "schedule" and value is not None:
            changes[name] = str(value).strip()
        elif value is not None or name == "indicator":
            changes[name] = value
    with services.db.transaction() as s:
        return _out(store.update_source(services, s, source_id, changes, who))


@router.delete("/{source_id}", status_code=204, response_class=Response)
def delete_source(source_id: SourceId, services: ServicesDep, who: Analyst) -> Response:
    """Forget the source (the observations it stored stay)."""
    with services.db.transaction() as s:
        store.delete_source(s, source_id, who)
    return Response(status_code=204)


@router.post("/{source_id}/pull", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
def pull_now(source_id: SourceId, services: ServicesDep, who: Analyst) -> JobAccepted:
    """Pull the source now, as a job (``GET /v1/jobs/{id}``): its result says ``stored`` (with counts) or
    ``unchanged`` (304, or nothing new); a failed pull fails the job and records the error on the source."""
    job = store.enqueue_pull(services, source_id, who.subject, "manual")
    with services.db.transaction() as s:
        audit.record(s, who, "sources.pull_requested", "source", str(source_id), {"job_id": job.id})
    return JobAccepted(id=job.id, status=job.status, kind=job.kind)
