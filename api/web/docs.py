"""The API documentation at ``/docs``: Swagger UI served by the service itself (works offline, strict CSP).

The assets come from the npm package swagger-ui-dist (version locked in package-lock.json), copied into
``api/static/vendor/swagger-ui`` by scripts/setup; the page is started by an external module
(``/static/web/docs.js``), not an inline script. The OpenAPI document declares the Bearer scheme so that
Swagger UI's Authorize button sends ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from api.web.layout import VENDOR_DIR, templates

router = APIRouter(include_in_schema=False)

SWAGGER_DIR = VENDOR_DIR / "swagger-ui"
PUBLIC_PATHS = frozenset({"/health"})
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key made with `ioc keys create --role ROLE --name NAME` (`ioc_<prefix>_<secret>`).",
}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``; a Vietnamese note with the fix when the assets are missing."""
    ready = (SWAGGER_DIR / "swagger-ui-bundle.js").is_file()
    return templates.TemplateResponse(
        request,
        "docs.html",
        {"ready": ready, "openapi_url": request.app.openapi_url},
        status_code=200 if ready else 503,
    )


def add_bearer_scheme(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare the ``bearerAuth`` scheme, required by every operation but ``/health``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearerAuth"] = BEARER
        for path, operations in schema.get("paths", {}).items():
            if path not in PUBLIC_PATHS:
                for operation in operations.values():
                    operation.setdefault("security", [{"bearerAuth": []}])
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
