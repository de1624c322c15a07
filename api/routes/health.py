"""Liveness (``/health/live``: the process answers), readiness (``/health``, ``/health/ready``: the database
takes writes, the queue answers) and Prometheus metrics."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text

from api.deps import ServicesDep, Viewer
from api.metrics import Metrics
from api.services import Services
from api.storage.tables import Job
from models import MODEL_NAMES

router = APIRouter(tags=["service"])


class Live(BaseModel):
    status: str = Field(description='always "ok": the process answers')


class ServedModel(BaseModel):
    champion: str | None
    serving: str | None
    error: str | None
    failed_version: str | None


class Health(BaseModel):
    status: str = Field(description='"ok", or "degraded" (answered with 503) when a check failed')
    version: str
    checks: dict[str, str] = Field(description='"ok" or "error: <kind>" per dependency (database: a write)')
    models: dict[str, ServedModel]


@router.get("/health/live", response_model=Live)
def live() -> Live:
    """Liveness: the process serves requests. Touches no database, so a restart is never caused by one."""
    return Live(status="ok")


def _database(services: Services) -> str:
    try:
        with services.db.session() as s:
            s.execute(text("SELECT 1"))
    except Exception as e:
        return f"error: {type(e).__name__}"
    failed = services.db.write_probe.check()  # a real write, cached for a second or two
    return "ok" if failed is None else f"error: cannot write ({failed})"


_READY_RESPONSES: dict[int | str, dict[str, Any]] = {503: {"model": Health, "description": "a check failed"}}


class _Readiness:
    """The last readiness answer, reused for ``IOC_HTTP__HEALTH_CACHE_S`` (probes and load balancers ask often;
    one computation at a time, the others wait for its answer)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = -float("inf")
        self.answer: tuple[bytes, int] | None = None  # the JSON body and its status


@router.get("/health", response_model=Health, responses=_READY_RESPONSES)
def health(request: Request, services: ServicesDep) -> Any:
    """Readiness plus the versions being served; no key needed. 503 "degraded" when the database does not
    take a write or the queue does not answer. Computed at most once per `IOC_HTTP__HEALTH_CACHE_S` (1 s)."""
    cache: _Readiness | None = getattr(request.app.state, "readiness", None)
    if cache is None:
        cache = request.app.state.readiness = _Readiness()
    with cache.lock:
        if cache.answer is None or time.monotonic() - cache.at >= services.settings.http.health_cache_s:
            body = _readiness(services)
            # serialised once per computation: a probe reusing the answer costs no validation or encoding
            cache.answer = (body.model_dump_json().encode(), 200 if body.status == "ok" else 503)
            cache.at = time.monotonic()
        content, status = cache.answer
    return Response(content, status_code=status, media_type="application/json")


def _readiness(services: Services) -> Health:
    from importlib.metadata import version

    checks: dict[str, str] = {"database": _database(services)}
    try:
        services.queue.pending()
        checks["queue"] = "ok"
    except Exception as e:
        checks["queue"] = f"error: {type(e).__name__}"
    for name in MODEL_NAMES:
        # Follows the champion alias (cheap between refreshes); a failure shows in the status below.
        with contextlib.suppress(Exception):
            services.champions.get(name)
    served = services.champions.status()
    models: dict[str, ServedModel] = {}
    for name in MODEL_NAMES:
        entry = served.get(name, {})
        try:
            champion = services.registry.champion_version(name)
        except Exception:
            champion = None
        models[name] = ServedModel(
            champion=champion,
            serving=entry.get("version"),
            error=entry.get("error"),
            failed_version=entry.get("failed_version"),
        )
    ok = all(v == "ok" for v in checks.values())
    return Health(status="ok" if ok else "degraded", version=version("dieu-hanh-ai"), checks=checks, models=models)


router.add_api_route(
    "/health/ready", health, methods=["GET"], response_model=Health, responses=_READY_RESPONSES, name="ready"
)


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(services: ServicesDep, _: Viewer) -> Response:
    """Prometheus exposition: request counts and latency, queue depth, jobs by status, job durations."""

    def refresh(m: Metrics) -> None:
        try:
            m.queue_depth.set(services.queue.pending())
        except Exception:
            m.queue_depth.set(float("nan"))
        with services.db.session() as s:
            for status, n in s.execute(select(Job.status, func.count()).group_by(Job.status)):
                m.jobs_by_status.labels(status).set(n)

    return Response(services.metrics.render(refresh), media_type="text/plain; version=0.0.4")
