"""Sources: published files pulled on a schedule and on demand, their pulls, and their alerts.

A pull fetches the file (:func:`forecasting.intake.fetch.fetch`: http(s) only, public addresses unless the
host is allowed, conditional, bounded), reads it with the upload routes' reader (:mod:`api.stores.intake`) and
stores it with their store call, in one transaction with the source's new state: a failed or malformed pull
changes no observation, and a 304 stores nothing. The scheduler (:func:`enqueue_due`, run by every worker)
claims a due source with a compare-and-set on ``claim_seq``, so several workers never enqueue it twice.

Alerts, read by the dashboards through ``GET /v1/sources?alert=true``: ``source_failed`` after
``failures_before_alert`` consecutive failed pulls (each after its retries), ``source_stale`` when no new
period arrived for ``stale_periods`` of the data's periods (a month counts 31 days, a quarter 92, a year 366).
A successful pull with fresh data clears them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from api import audit, jobs
from api.auth import Principal
from api.errors import InvalidInput, NotFound, ServiceError, client_message
from api.services import Services
from api.storage.tables import Job, Source, utcnow
from api.stores.intake import (
    ReadOptions,
    get_indicator,
    read_indicator_file,
    read_report_file,
    serving_config,
    store_series,
)
from forecasting.intake.feeds import feed_to_csv
from forecasting.intake.fetch import FetchLimits, check_url, fetch
from forecasting.intake.schedule import Schedule, parse_schedule

logger = logging.getLogger(__name__)

PULL_KIND = "sources.pull"
FORMATS = ("csv", "xlsx", "json", "json-stat")
#: The mapping keys each format understands (see forecasting.intake.feeds for json and json-stat).
MAPPING_KEYS: dict[str, frozenset[str]] = {
    "csv": frozenset({"decimal", "year", "allow_unmatched"}),
    "xlsx": frozenset({"decimal", "sheet", "year", "allow_unmatched"}),
    "json": frozenset({"records", "period", "value", "code", "decimal", "allow_unmatched"}),
    "json-stat": frozenset({"dataset", "time", "filter", "code_dimension", "codes", "allow_unmatched"}),
}
#: Days a period of each frequency spans, for the staleness alert.
PERIOD_DAYS = {"M": 31, "Q": 92, "Y": 366}


@dataclass(frozen=True)
class SourceSpec:
    """A source as registered: where, what format, for which indicator (None: the whole catalogue)."""

    url: str
    format: str
    schedule: str
    indicator: str | None = None
    mapping: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class PullOutcome:
    """What one pull did: ``status`` is ``stored``, ``unchanged`` or ``failed``."""

    source: int
    status: str
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    indicators: tuple[str, ...] = ()
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    alert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "status": self.status,
            "inserted": self.inserted,
            "revised": self.revised,
            "unchanged": self.unchanged,
            "indicators": list(self.indicators),
            "attempts": self.attempts,
            "error_code": self.error_code,
            "error": self.error,
            "alert": self.alert,
        }


class PullFailed(ServiceError):
    """A pull failed (recorded on the source, alert raised); the job fails with this safe message."""

    status, code = 502, "pull_failed"

    def __init__(self, outcome: PullOutcome) -> None:
        super().__init__(f"source {outcome.source}: {outcome.error_code}: {outcome.error}", detail=outcome.to_dict())
        self.outcome = outcome


def _schedule(services: Services, text: str) -> Schedule:
    return parse_schedule(text, min_interval_s=services.settings.sources.min_interval_s)


def _next_due(services: Services, schedule_text: str, after: datetime) -> datetime:
    return _schedule(services, schedule_text).next_after(after, services.settings.sources.timezone)


def validate(services: Services, session: Session, spec: SourceSpec) -> None:
    """Refuse (422) a source that cannot be pulled: a format or mapping key it does not know, an unknown
    indicator, a schedule too frequent or not understood, a URL that is not http(s) or whose host resolves to
    a refused address (:func:`forecasting.intake.fetch.check_url`)."""
    if spec.format not in FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}. Got: {spec.format!r}", code="invalid_format")
    unknown = sorted(set(spec.mapping) - MAPPING_KEYS[spec.format])
    if unknown:
        raise InvalidInput(
            f"mapping keys {unknown} mean nothing for format {spec.format!r}; it reads "
            f"{sorted(MAPPING_KEYS[spec.format])}",
            code="invalid_mapping",
        )
    if spec.indicator is not None:
        get_indicator(session, spec.indicator)
        for key in ("code", "code_dimension", "allow_unmatched"):
            if key in spec.mapping:
                raise InvalidInput(
                    f"mapping.{key} is for a source matched to the whole catalogue; this one feeds "
                    f"{spec.indicator!r} alone",
                    code="invalid_mapping",
                )
    _schedule(services, spec.schedule)
    check_url(spec.url, services.settings.sources.allowed_hosts)


def create(services: Services, session: Session, spec: SourceSpec, who: Principal) -> Source:
    """Register a source (validated first); its first pull is due at once."""
    validate(services, session, spec)
    src = Source(
        name=spec.name,
        url=spec.url.strip(),
        format=spec.format,
        indicator_code=spec.indicator,
        mapping=dict(spec.mapping),
        schedule=spec.schedule,
        enabled=spec.enabled,
        created_by=who.subject,
        next_due_at=utcnow(),
        claim_seq=0,
        consecutive_failures=0,
    )
    session.add(src)
    session.flush()
    audit.record(session, who, "sources.create", "source", str(src.id), _audit_spec(spec))
    return src


def _audit_spec(spec: SourceSpec) -> dict[str, Any]:
    return {
        "url": spec.url,
        "format": spec.format,
        "indicator": spec.indicator,
        "schedule": spec.schedule,
        "enabled": spec.enabled,
    }


def get(session: Session, source_id: int) -> Source:
    src = session.get(Source, source_id)
    if src is None:
        raise NotFound(f"source {source_id} not found")
    return src


def list_sources(session: Session, alert_only: bool = False) -> list[Source]:
    stmt = select(Source).order_by(Source.id)
    if alert_only:
        stmt = stmt.where(Source.alert.is_not(None))
    return list(session.scalars(stmt))


def update_source(
    services: Services, session: Session, source_id: int, changes: dict[str, Any], who: Principal
) -> Source:
    """Change the fields in ``changes`` (validated as a whole). A new URL, format or mapping forgets the stored
    validators (the next pull fetches the whole file); a new schedule or re-enabling makes it due at once."""
    src = get(session, source_id)
    spec = SourceSpec(
        url=changes.get("url", src.url),
        format=changes.get("format", src.format),
        schedule=changes.get("schedule", src.schedule),
        indicator=changes.get("indicator", src.indicator_code),
        mapping=changes["mapping"] if "mapping" in changes else dict(src.mapping or {}),
        name=changes.get("name", src.name),
        enabled=changes.get("enabled", src.enabled),
    )
    validate(services, session, spec)
    if {"url", "format", "mapping", "indicator"} & changes.keys():
        src.etag = None
        src.last_modified = None
    if "schedule" in changes or (spec.enabled and not src.enabled):
        src.next_due_at = utcnow()
        src.claim_seq = src.claim_seq + 1
    src.url, src.format, src.schedule = spec.url.strip(), spec.format, spec.schedule
    src.indicator_code, src.mapping, src.name, src.enabled = spec.indicator, dict(spec.mapping), spec.name, spec.enabled
    src.updated_at = utcnow()
    session.flush()
    audit.record(session, who, "sources.update", "source", str(src.id), {"changed": sorted(changes)})
    return src


def delete_source(session: Session, source_id: int, who: Principal) -> None:
    src = get(session, source_id)
    session.delete(src)
    audit.record(session, who, "sources.delete", "source", str(source_id), {"url": src.url})


# --- scheduling -----------------------------------------------------------------------------------------------


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def enqueue_pull(services: Services, source_id: int, owner: str | None, trigger: str) -> Job:
    """A pull job for the source now (``trigger``: ``manual`` or ``schedule``); remembered as its last job."""
    with services.db.session() as s:
        get(s, source_id)
    job = jobs.enqueue(services, PULL_KIND, {"source_id": source_id, "trigger": trigger}, owner=owner)
    with services.db.transaction() as s:
        s.execute(update(Source).where(Source.id == source_id).values(last_job_id=job.id))
    return job


def claim_due(services: Services, now: datetime | None = None) -> list[int]:
    """The due sources this caller claimed: each one's ``next_due_at`` moved to its next time by a
    conditional UPDATE on the ``claim_seq`` read, so of several workers looking at once exactly one wins."""
    now = now or utcnow()
    with services.db.session() as s:
        due = list(
            s.execute(
                select(Source.id, Source.claim_seq, Source.schedule).where(
                    Source.enabled.is_(True), Source.next_due_at <= now
                )
            )
        )
    claimed = []
    for source_id, seq, schedule_text in due:
        try:
            next_due = _next_due(services, schedule_text, now)
        except ValueError:  # a schedule that no longer parses (settings changed): look again in an hour
            logger.warning("source %s: schedule %r no longer accepted", source_id, schedule_text)
            next_due = now + timedelta(hours=1)
        with services.db.transaction() as s:
            won = _rowcount(
                s.execute(
                    update(Source)
                    .where(Source.id == source_id, Source.claim_seq == seq, Source.next_due_at <= now)
                    .values(next_due_at=next_due, claim_seq=seq + 1)
                )
            )
        if won == 1:
            claimed.append(int(source_id))
    return claimed


def enqueue_due(services: Services) -> list[str]:
    """The scheduler's tick (every worker runs it): claim the due sources and enqueue a pull for each, unless
    the source's previous pull is still queued or running. Returns the new job ids."""
    started = []
    for source_id in claim_due(services):
        with services.db.session() as s:
            src = s.get(Source, source_id)
            busy = (
                src is not None
                and src.last_job_id is not None
                and s.scalar(select(Job.status).where(Job.id == src.last_job_id)) in ("queued", "running")
            )
        if src is None or busy:
            continue
        started.append(enqueue_pull(services, source_id, None, "schedule").id)
    return started


# --- pulling --------------------------------------------------------------------------------------------------


def fetch_limits(services: Services) -> FetchLimits:
    cfg = services.settings.sources
    return FetchLimits(
        connect_timeout_s=cfg.connect_timeout_s,
        read_timeout_s=cfg.read_timeout_s,
        total_timeout_s=cfg.total_timeout_s,
        max_bytes=min(cfg.max_bytes, services.settings.intake.max_bytes),
        retries=cfg.retries,
        backoff_s=cfg.backoff_s,
        backoff_max_s=cfg.backoff_max_s,
    )


def _puller(source_id: int) -> Principal:
    """Who a pull acts as in the audit log and the observations' ``recorded_by``."""
    return Principal(key_id=None, name=f"source {source_id}", role="analyst")


def _reader_input(fmt: str, mapping: dict[str, Any], body: bytes) -> tuple[bytes, str, ReadOptions]:
    """The pulled body as the upload reader takes it: (bytes, file name, options)."""
    decimal = mapping.get("decimal")
    year = mapping.get("year")
    if fmt in ("json", "json-stat"):
        return feed_to_csv(body, fmt, mapping), "source.csv", ReadOptions(decimal or ".", None, year)
    return body, f"source.{fmt}", ReadOptions(decimal, mapping.get("sheet"), year)


def _stale(services: Services, src: Source, frequency: str | None, now: datetime) -> str | None:
    """The staleness alert's message, or None while data keep arriving."""
    if frequency not in PERIOD_DAYS:
        return None
    since = src.last_new_data_at or src.created_at
    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since  # SQLite gives naive UTC
    limit = timedelta(days=PERIOD_DAYS[frequency] * services.settings.sources.stale_periods)
    if now - since <= limit:
        return None
    return (
        f"no new period since {since.date().isoformat()} (last {src.last_period or 'none'}): more than "
        f"{limit.days} days for {frequency}-frequency data"
    )


def _set_alert(src: Source, kind: str | None, message: str | None, now: datetime) -> None:
    if kind != src.alert:
        src.alert_since = now if kind else None
    src.alert, src.alert_message = kind, message


def pull_source(
    services: Services, source_id: int, job_id: str | None = None, sleep: Callable[[float], None] = time.sleep
) -> PullOutcome:
    """Fetch, read and store one source (see the module's docstring). A failure is recorded on the source
    (error code and message, consecutive failures, alert) and audited, and raised as :class:`PullFailed`."""
    with services.db.session() as s:
        src = get(s, source_id)
        url, fmt, mapping = src.url, src.format, dict(src.mapping or {})
        indicator, etag, last_modified = src.indicator_code, src.etag, src.last_modified
    who = _puller(source_id)
    note = f"source {source_id}"
    attempts = 0
    try:
        got = fetch(
            url,
            etag=etag,
            last_modified=last_modified,
            allowed_hosts=services.settings.sources.allowed_hosts,
            limits=fetch_limits(services),
            sleep=sleep,
        )
        attempts = got.attempts
        if got.not_modified:
            return _record_success(services, source_id, got.etag, got.last_modified, attempts, {}, None, job_id)
        data, filename, opts = _reader_input(fmt, mapping, got.body)
        if indicator is not None:
            res, pairs = read_indicator_file(services, indicator, data, filename, got.content_type, opts)
            groups = {indicator: pairs}
        else:
            allow = bool(mapping.get("allow_unmatched", False))
            res, groups = read_report_file(services, data, filename, got.content_type, opts, allow)
        return _record_success(
            services, source_id, got.etag, got.last_modified, attempts, groups, res.frequency, job_id, who, note
        )
    except Exception as e:
        attempts = getattr(e, "attempts", attempts) or attempts
        outcome = _record_failure(services, source_id, e, attempts, job_id)
        raise PullFailed(outcome) from e


def _record_success(
    services: Services,
    source_id: int,
    etag: str | None,
    last_modified: str | None,
    attempts: int,
    groups: dict[str, list[tuple[str, float]]],
    frequency: str | None,
    job_id: str | None,
    who: Principal | None = None,
    note: str = "",
) -> PullOutcome:
    """Store the groups (the upload's store call) and the source's new state in one transaction."""
    now = utcnow()
    who = who or _puller(source_id)
    inserted = revised = unchanged = 0
    with services.db.transaction() as s:
        src = get(s, source_id)
        if groups:
            config = serving_config(services)
            for code, pairs in groups.items():
                r = store_series(services, s, get_indicator(s, code), pairs, who, note, config)
                inserted, revised, unchanged = inserted + r.inserted, revised + r.revised, unchanged + r.unchanged
        if frequency is None and src.indicator_code is not None:
            frequency = get_indicator(s, src.indicator_code).frequency
        newest = max((p for pairs in groups.values() for p, _ in pairs), default=None)
        if newest is not None and (src.last_period is None or newest > src.last_period):
            src.last_period, src.last_new_data_at = newest, now
        status = "stored" if inserted or revised else "unchanged"
        src.etag, src.last_modified = etag, last_modified
        src.last_pull_at = src.last_success_at = now
        src.last_status, src.last_error_code, src.last_error = status, None, None
        src.consecutive_failures = 0
        src.frequency = frequency or src.frequency
        stale = _stale(services, src, src.frequency, now)
        _set_alert(src, "source_stale" if stale else None, stale, now)
        outcome = PullOutcome(
            source=source_id,
            status=status,
            inserted=inserted,
            revised=revised,
            unchanged=unchanged,
            indicators=tuple(groups),
            attempts=attempts,
            alert=src.alert,
        )
        audit.record(s, who, "sources.pull", "source", str(source_id), outcome.to_dict() | {"job": job_id})
    return outcome


def _record_failure(
    services: Services, source_id: int, exc: BaseException, attempts: int, job_id: str | None
) -> PullOutcome:
    now = utcnow()
    code = str(getattr(exc, "code", None) or "internal_error")
    message = client_message(exc)[:2000]
    with services.db.transaction() as s:
        src = s.get(Source, source_id)
        if src is None:  # deleted while pulling
            return PullOutcome(source_id, "failed", attempts=attempts, error_code=code, error=message)
        src.last_pull_at = now
        src.last_status, src.last_error_code, src.last_error = "failed", code, message
        src.consecutive_failures = src.consecutive_failures + 1
        if src.consecutive_failures >= services.settings.sources.failures_before_alert:
            _set_alert(
                src, "source_failed", f"{src.consecutive_failures} failed pull(s) in a row; last: {message}", now
            )
        outcome = PullOutcome(source_id, "failed", attempts=attempts, error_code=code, error=message, alert=src.alert)
        audit.record(
            s, _puller(source_id), "sources.pull", "source", str(source_id), outcome.to_dict() | {"job": job_id}
        )
    logger.warning("source %s: pull failed (%s): %s", source_id, code, message)
    return outcome
