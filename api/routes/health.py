from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import func, select, text

from api.deps import ServicesDep, Viewer
from api.metrics import Metrics
from api.storage.tables import Job
from models import MODEL_NAMES

router = APIRouter(tags=["service"])


@router.get("/health")
def health(services: ServicesDep) -> dict[str, Any]:
    """Liveness plus the versions being served; no key needed."""
    from importlib.metadata import version

    checks: dict[str, str] = {}
    try:
        with services.db.session() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:
        checks["database"] = f"error: {type(e).__name__}"
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
    models: dict[str, Any] = {}
    for name in MODEL_NAMES:
        entry = served.get(name, {})
        try:
            champion = services.registry.champion_version(name)
        except Exception:
            champion = None
        models[name] = {
            "champion": champion,
            "serving": entry.get("version"),
            "error": entry.get("error"),
            "failed_version": entry.get("failed_version"),
        }
    ok = all(v == "ok" for v in checks.values())
    return {
        "status": "ok" if ok else "degraded",
        "version": version("dieu-hanh-ai"),
        "checks": checks,
        "models": models,
    }


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
