"""Background jobs: a row per job in the database, the queue carries only its id.

Guarantees:
- a job is claimed by one worker at a time (conditional UPDATE queued -> running);
- every write of a running job is fenced by (worker, attempt), so a worker that lost its job (it was
  re-enqueued after a stale heartbeat or a SIGTERM) cannot overwrite the new attempt's work;
- workers heartbeat; a reaper re-enqueues jobs whose heartbeat is stale, up to ``max_attempts``;
- handlers checkpoint their progress (``ctx.checkpoint``) so a new attempt resumes instead of restarting.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import Conflict, NotFound, TooManyRequests, Unavailable, client_message, new_error_id
from api.storage.tables import Job, utcnow

if TYPE_CHECKING:
    from api.services import Services

logger = logging.getLogger(__name__)

TERMINAL = frozenset({"succeeded", "failed"})


class JobLost(RuntimeError):
    """This worker no longer owns the job (it was re-enqueued); stop working on it."""


class JobTimeout(RuntimeError):
    """The job ran past its kind's time limit."""


@dataclass
class JobContext:
    """What a handler sees: its payload, the last checkpoint, and ways to report progress."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    checkpoint_data: dict[str, Any] | None
    attempt: int
    worker: str
    services: Services
    deadline: float
    lost: threading.Event = field(default_factory=threading.Event)

    def _fenced_update(self, **values: Any) -> None:
        if self.lost.is_set():
            raise JobLost(self.job_id)
        if time.monotonic() > self.deadline:
            raise JobTimeout(f"job {self.job_id} ran past its time limit")
        if not _update_owned(
            self.services, self.job_id, self.worker, self.attempt, {"heartbeat_at": utcnow(), **values}
        ):
            self.lost.set()
            raise JobLost(self.job_id)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress in [0, 1]; raises :class:`JobLost` when this worker no longer owns the job."""
        values: dict[str, Any] = {"progress": max(0.0, min(1.0, float(fraction)))}
        if message is not None:
            values["message"] = message
        self._fenced_update(**values)

    def checkpoint(self, data: dict[str, Any], fraction: float | None = None) -> None:
        """Store resume state; a later attempt receives it as ``checkpoint_data``."""
        values: dict[str, Any] = {"checkpoint": data}
        if fraction is not None:
            values["progress"] = max(0.0, min(1.0, float(fraction)))
        self._fenced_update(**values)
        self.checkpoint_data = data


def _rowcount(result: Any) -> int:
    """Rows matched by an UPDATE (the fences below depend on it)."""
    return int(cast(CursorResult[Any], result).rowcount)


def _update_owned(services: Services, job_id: str, worker: str | None, attempt: int, values: dict[str, Any]) -> bool:
    """Update a running job only if ``worker`` still owns this ``attempt`` of it (the fence every write of a
    running job goes through); False when another worker or the reaper took it."""
    with services.db.transaction() as s:
        return (
            _rowcount(
                s.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.worker == worker, Job.attempts == attempt, Job.status == "running")
                    .values(**values)
                )
            )
            == 1
        )


def new_job_id() -> str:
    return uuid.uuid4().hex


#: Seconds a client whose queue is full is told to wait (``Retry-After``) before asking again.
QUEUE_FULL_RETRY_AFTER_S = 30
#: Owners no queue bound counts: jobs of the CLI and the startup steps.
UNCOUNTED_OWNERS = frozenset({"system"})
#: PostgreSQL advisory lock (transaction scope) that serialises admissions, so the checks and the insert
#: are one step; SQLite needs none: the INSERT takes its single write lock before the checks read.
_ADMISSION_LOCK = 0x10C_0B5
ACTIVE = ("queued", "running")


def add(
    session: Session,
    services: Services,
    kind: str,
    payload: dict[str, Any],
    *,
    owner: str | None = None,
    job_id: str | None = None,
    exclusive: str | None = None,
) -> Job:
    """Add a queued job to ``session``'s transaction (call :func:`submit` after it commits), admitted by two
    rules, atomically in both databases:

    - ``exclusive`` (``"train:forecasting"``): at most one queued or running job holds the key (a unique
      index enforces it); another is refused with :class:`~api.errors.Conflict` ``job_in_progress``, whose
      detail names the holder's ``job_id``;
    - an owner has at most ``IOC_JOBS__MAX_ACTIVE_PER_OWNER`` queued + running jobs; past that
      :class:`~api.errors.TooManyRequests` ``queue_full`` (429, ``Retry-After``). The CLI's jobs (owner
      ``"system"`` or None) are not counted.

    Unknown kinds are a programming error (ValueError)."""
    if kind not in services.tasks.kinds:
        raise ValueError(f"unknown job kind {kind!r}, expected one of: {', '.join(services.tasks.kind_names())}")
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMISSION_LOCK})
    job = Job(
        id=job_id or new_job_id(),
        kind=kind,
        status="queued",
        payload=payload,
        owner=owner,
        max_attempts=services.settings.jobs.max_attempts,
        exclusive_key=exclusive,
    )
    session.add(job)
    try:
        session.flush()
    except IntegrityError as e:
        holder = _holder(services, exclusive) if exclusive else None
        if holder is None:
            raise
        raise Conflict(
            f"job {holder} ({kind}) is already queued or running for {exclusive!r}; wait for it to finish",
            code="job_in_progress",
            detail={"job_id": holder},
        ) from e
    if owner is not None and owner not in UNCOUNTED_OWNERS:
        limit = services.settings.jobs.max_active_per_owner
        active = session.scalar(select(func.count()).select_from(Job).where(Job.owner == owner, Job.status.in_(ACTIVE)))
        if (already := int(active or 0) - 1) >= limit:
            raise TooManyRequests(
                f"you already have {already} jobs queued or running (IOC_JOBS__MAX_ACTIVE_PER_OWNER); "
                "wait for one to finish",
                code="queue_full",
                retry_after=QUEUE_FULL_RETRY_AFTER_S,
                detail={"active": already, "limit": limit},
            )
    return job


def _holder(services: Services, exclusive: str) -> str | None:
    """The id of the queued or running job that holds ``exclusive`` (read outside the failed transaction)."""
    with services.db.session() as s:
        return s.scalar(select(Job.id).where(Job.exclusive_key == exclusive, Job.status.in_(ACTIVE)).limit(1))


def submit(services: Services, job: Job) -> Job:
    """Put a committed job's id on the queue. When the queue backend is down the job is marked failed (so
    nobody waits on a job no worker will run) and :class:`~api.errors.Unavailable` is raised."""
    try:
        services.queue.enqueue(job.id)
    except Exception as e:
        error_id = new_error_id()
        logger.exception("error %s: job %s could not be queued", error_id, job.id)
        with services.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(status="failed", error=f"the job queue was unavailable (error id {error_id})")
            )
        raise Unavailable("the job queue is unavailable; try again later", detail={"error_id": error_id}) from e
    return job


def enqueue(
    services: Services,
    kind: str,
    payload: dict[str, Any],
    *,
    owner: str | None = None,
    job_id: str | None = None,
    exclusive: str | None = None,
) -> Job:
    """Store a queued job (:func:`add`, with its admission rules) and put its id on the queue (:func:`submit`).

    ``owner`` is the subject of who asked (:attr:`api.auth.Principal.subject`): it and admins may read the
    job; None (or ``"system"``) for jobs only admins read."""
    with services.db.transaction() as s:
        job = add(s, services, kind, payload, owner=owner, job_id=job_id, exclusive=exclusive)
    return submit(services, job)


def get_job(services: Services, job_id: str, who: Principal | None = None) -> Job:
    """The job, if ``who`` may read it (its owner, by subject, or an admin; anyone when ``who`` is None, for
    internal callers). Others get 404, as if it did not exist, so job ids of others' work are not revealed."""
    with services.db.session() as s:
        job = s.get(Job, job_id)
    if job is None or (who is not None and not who.is_admin and job.owner != who.subject):
        raise NotFound(f"job {job_id!r} not found")
    return job


def failure_message(exc: BaseException) -> tuple[str, str]:
    """``(error_id, message)`` for a failed job: a message safe to show (no traceback, SQL, host or path)
    ending with the error id that the log line with the full error carries."""
    error_id = new_error_id()
    return error_id, f"{client_message(exc)} (error id {error_id})"


def worker_name() -> str:
    return f"{socket.gethostname()}:{threading.get_native_id()}:{uuid.uuid4().hex[:6]}"


class RunningJobs:
    """Jobs this process is running now, so that SIGTERM can hand them back to the queue."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, JobContext] = {}

    def add(self, ctx: JobContext) -> None:
        with self._lock:
            self._jobs[ctx.job_id] = ctx

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def snapshot(self) -> list[JobContext]:
        with self._lock:
            return list(self._jobs.values())


RUNNING = RunningJobs()


def run_job(services: Services, job_id: str) -> None:
    """Claim and run one job; called by the queue's single task."""
    me = worker_name()
    with services.db.transaction() as s:
        claimed = _rowcount(
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued")
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    worker=me,
                    heartbeat_at=utcnow(),
                    started_at=utcnow(),
                    error=None,
                )
            )
        )
        job = s.get(Job, job_id) if claimed == 1 else None
    if job is None:
        logger.info("job %s is not queued (already claimed, finished or unknown); skipping", job_id)
        return
    kind = services.tasks.kinds.get(job.kind)
    if kind is None:
        _finish(services, job_id, me, job.attempts, status="failed", error=f"unknown job kind {job.kind!r}")
        return
    ctx = JobContext(
        job_id=job_id,
        kind=job.kind,
        payload=dict(job.payload or {}),
        checkpoint_data=job.checkpoint,
        attempt=job.attempts,
        worker=me,
        services=services,
        deadline=time.monotonic() + kind.timeout_s,
    )
    RUNNING.add(ctx)
    stop_beat = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(ctx, stop_beat), name=f"heartbeat-{job_id[:8]}", daemon=True)
    beat.start()
    started = time.monotonic()
    logger.info("job %s (%s) attempt %d started on %s", job_id, job.kind, job.attempts, me)
    try:
        result = kind.handler(ctx)
    except JobLost:
        logger.warning("job %s was taken from this worker; dropping this attempt", job_id)
        return
    except Exception as e:
        error_id, message = failure_message(e)
        logger.exception("error %s: job %s (%s) failed on %s", error_id, job_id, job.kind, me)
        _finish(services, job_id, me, ctx.attempt, status="failed", error=message)
    else:
        _finish(services, job_id, me, ctx.attempt, status="succeeded", result=result or {})
        services.metrics.observe_job(job.kind, time.monotonic() - started)
    finally:
        stop_beat.set()
        RUNNING.remove(job_id)


def _finish(
    services: Services,
    job_id: str,
    worker: str,
    attempt: int,
    *,
    status: str,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
    if status == "succeeded":
        values.update(progress=1.0, result=result)
    if not _update_owned(services, job_id, worker, attempt, values):
        logger.warning("job %s finished on %s but was no longer ours; result discarded", job_id, worker)


def _heartbeat(ctx: JobContext, stop: threading.Event) -> None:
    interval = ctx.services.settings.jobs.heartbeat_interval_s
    while not stop.wait(interval):
        try:
            owned = _update_owned(ctx.services, ctx.job_id, ctx.worker, ctx.attempt, {"heartbeat_at": utcnow()})
        except Exception:  # a database hiccup: try again at the next beat
            logger.warning("heartbeat of job %s failed", ctx.job_id, exc_info=True)
            continue
        if not owned:
            ctx.lost.set()
            return


def requeue_stale(services: Services) -> list[str]:
    """Re-enqueue running jobs whose worker went silent; fail those out of attempts. Returns the ids acted on."""
    cutoff = utcnow() - timedelta(seconds=services.settings.jobs.stale_after_s)
    with services.db.session() as s:
        stale = list(
            s.execute(
                select(Job.id, Job.attempts, Job.max_attempts, Job.worker).where(
                    Job.status == "running", Job.heartbeat_at < cutoff
                )
            )
        )
    acted = []
    for job_id, attempts, max_attempts, worker in stale:
        if attempts >= max_attempts:
            error = f"worker lost {attempts} time(s); giving up after {max_attempts} attempts"
            took = _update_owned(
                services, job_id, worker, attempts, {"status": "failed", "finished_at": utcnow(), "error": error}
            )
        else:
            took = _update_owned(services, job_id, worker, attempts, {"status": "queued", "worker": None})
        if not took:
            continue
        if attempts >= max_attempts:
            logger.error("job %s failed: its worker died %d times", job_id, attempts)
        elif not _put_on_queue(services, job_id, worker, attempts):
            continue
        else:
            logger.warning("job %s: worker %s went silent; re-enqueued (attempt %d)", job_id, worker, attempts)
        acted.append(job_id)
    return acted


def _put_on_queue(services: Services, job_id: str, worker: str | None, attempts: int) -> bool:
    """Enqueue a job the reaper just marked queued. When the queue is unreachable, the job goes back to the dead
    worker's stale run (its old heartbeat kept), so a later pass tries again: a job marked queued that no queue
    holds would never run."""
    try:
        services.queue.enqueue(job_id)
    except Exception:
        logger.warning("job %s: the queue is unreachable; re-enqueued on a later pass", job_id, exc_info=True)
        with services.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "queued", Job.worker.is_(None), Job.attempts == attempts)
                .values(status="running", worker=worker)
            )
        return False
    return True


def hand_back_running(services: Services) -> list[str]:
    """On shutdown (SIGTERM): give this process's running jobs back to the queue without using an attempt."""
    handed = []
    for ctx in RUNNING.snapshot():
        ctx.lost.set()
        if _update_owned(
            services,
            ctx.job_id,
            ctx.worker,
            ctx.attempt,
            {"status": "queued", "worker": None, "attempts": Job.attempts - 1},
        ):
            services.queue.enqueue(ctx.job_id)
            handed.append(ctx.job_id)
            logger.info("job %s handed back to the queue on shutdown", ctx.job_id)
    return handed
