"""Sources' jobs: a pull (``sources.pull``) and the scheduler that enqueues the due ones on every worker."""

from __future__ import annotations

from typing import Any

from api.jobs import JobContext
from api.services import Services
from api.stores import sources as store
from api.task_registry import TaskRegistry


def pull(ctx: JobContext) -> dict[str, Any]:
    """Pull one source (payload ``{"source_id", "trigger"}``); a failed pull fails the job with its reason."""
    source_id = int(ctx.payload["source_id"])
    ctx.progress(0.05, f"pulling source {source_id}")
    return store.pull_source(ctx.services, source_id, job_id=ctx.job_id).to_dict()


def schedule(services: Services) -> None:
    store.enqueue_due(services)


def _interval(services: Services) -> float:
    return services.settings.sources.scheduler_interval_s


def register(tasks: TaskRegistry) -> None:
    tasks.add_kind(store.PULL_KIND, pull, timeout_s=15 * 60.0)
    tasks.add_periodic(
        "sources.schedule", schedule, every=lambda services: services.settings.sources.scheduler_interval_s
    )
