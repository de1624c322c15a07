"""The FastAPI app factory: it only wires routers, middleware, error handlers and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Scope

from api import web
from api.authn import install_auth_handlers
from api.errors import install_error_handlers
from api.middleware import BodyLimit, InputGuard, RequestMetrics, SlowBodyGuard
from api.routes import (
    audit,
    dashboard,
    forecasts,
    health,
    indicators,
    jobs,
    keys,
    models,
    social,
    sources,
    transcriptions,
)
from api.routes import session as session_routes
from api.routes import users as users_routes
from api.schemas import ERROR_RESPONSES
from api.security_headers import SecurityHeaders
from api.services import Services
from api.settings import Settings, get_settings
from api.worker import WorkerPool

logger = logging.getLogger(__name__)

DESCRIPTION = """Điều hành AI: forecasts of the province's indicators, meeting transcription and social
listening. Every route except `/health` and the docs needs `Authorization: Bearer <key>`
(`ioc keys create --role ROLE --name NAME`). Errors are `{"error": {"code", "message", "detail"}}`."""


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    workers: int | None = None,
    run_startup: bool | None = None,
) -> FastAPI:
    """Build the app. ``workers`` in-process job threads (default from settings; 0 = none, use ``ioc worker``)."""
    settings = settings or (services.settings if services else get_settings())
    if services is None:
        from api.tasks import build_task_registry

        services = Services.start(settings, build_task_registry(settings.jobs.plugins))
    svc = services
    n_workers = settings.jobs.workers if workers is None else workers
    startup = settings.models.bootstrap if run_startup is None else run_startup

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if startup:
            from api.bootstrap import run_startup as _run

            _run(svc)
        pool = WorkerPool(svc, n_workers) if n_workers > 0 else None
        if pool:
            pool.start()
        app.state.worker_pool = pool
        try:
            yield
        finally:
            if pool:
                pool.stop(hand_back=True)

    app = FastAPI(
        title="Điều hành AI", version="1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.services = svc
    install_error_handlers(app)
    install_auth_handlers(app)

    upload_paths = {"/v1/transcriptions"}

    def limit_for(method: str, path: str) -> int:
        if method == "POST" and path in upload_paths:
            return settings.speech.max_upload_bytes
        if _is_data_file_route(method, path):
            return settings.intake.max_bytes
        return settings.max_request_bytes

    app.add_middleware(InputGuard, max_depth=settings.http.max_json_depth)  # reads only bodies within the limit
    app.add_middleware(BodyLimit, limit_for=limit_for)
    app.add_middleware(SlowBodyGuard, settings=settings.http)  # outside both: their reads are timed too
    app.add_middleware(RequestMetrics, metrics=svc.metrics)
    app.add_middleware(
        SecurityHeaders, is_https=lambda scope: _is_https(scope, settings), hsts_max_age_s=settings.auth.hsts_max_age_s
    )

    web.install(app)  # pages first: "/" is the overview page
    for module in (
        health,
        jobs,
        models,
        audit,
        keys,
        indicators,
        sources,
        forecasts,
        transcriptions,
        social,
        dashboard,
    ):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    for router in (session_routes.router, session_routes.api_router, users_routes.router):
        app.include_router(router, responses=ERROR_RESPONSES)
    from fastapi.staticfiles import StaticFiles

    from api.routes.dashboard import STATIC_DIR

    app.mount("/dashboard/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    return app


def _is_https(scope: Scope, settings: Settings) -> bool:
    from starlette.requests import Request

    from api.authn import request_is_https

    return request_is_https(Request(scope), settings)


def _is_data_file_route(method: str, path: str) -> bool:
    """Routes that take the offices' spreadsheets (limit ``IOC_INTAKE__MAX_BYTES``)."""
    if method == "POST" and (
        path == "/v1/observations" or (path.startswith("/v1/indicators/") and path.endswith("/observations"))
    ):
        return True
    return method == "PUT" and path == "/v1/indicators/catalogue.xlsx"
