"""The web application's pages: server-rendered Jinja2 with small ES modules (no build step).

``install(app)`` is the one line the app factory calls: it adds the page routes, the audio route, the
offline API docs and the static files. Pages read and write through the ``/v1`` API from the browser
(session cookie + ``X-CSRF-Token``); the server renders only the shell and what a list needs.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web import admin, audio, docs, indicators, models, overview, pages, social
from api.web.layout import STATIC_DIR, VENDOR_DIR, install_sign_in_redirect

__all__ = ["install"]


def install(app: FastAPI) -> None:
    """Add the pages to ``app``; call it before other routers so that ``/`` is the overview page."""
    install_sign_in_redirect(app)
    app.include_router(overview.router)
    app.include_router(social.router)
    app.include_router(pages.router)
    app.include_router(indicators.router)
    app.include_router(models.router)
    app.include_router(admin.router)
    app.include_router(audio.router)
    app.include_router(docs.router)
    docs.add_bearer_scheme(app)
    app.mount("/static/web", StaticFiles(directory=STATIC_DIR), name="web-static")
    app.mount("/static/vendor", StaticFiles(directory=VENDOR_DIR, check_dir=False), name="web-vendor")
