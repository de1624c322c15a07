"""Security headers on every response: JSON, HTML, static files, errors (500 included).

The Content-Security-Policy allows no inline script or style and nothing from elsewhere. ``blob:`` images
are allowed because the dashboard fetches PNG charts with its key and shows them as object URLs. The
API docs at ``/docs`` are served offline (Swagger UI from the service's own static files, started by an
external script: :mod:`api.web.docs`) and need no exception. HSTS is sent only over HTTPS (the request
scheme, or X-Forwarded-Proto from a trusted proxy).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body

__all__ = ["CSP", "SecurityHeaders"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware; ``is_https(scope)`` says whether to add Strict-Transport-Security.

    Added last (outermost of the app's middleware) so that the 413 of the body limit carries the headers
    too; an unhandled error is answered here with the service's 500 body, with the headers, and re-raised
    for the server's log."""

    def __init__(self, app: ASGIApp, is_https: Callable[[Scope], bool], hsts_max_age_s: int = 31_536_000) -> None:
        self.app = app
        self.is_https = is_https
        self.hsts = f"max-age={hsts_max_age_s}" if hsts_max_age_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.is_https(scope)
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                for name, value in STATIC_HEADERS.items():
                    headers[name] = value
                if https and self.hsts:
                    headers["Strict-Transport-Security"] = self.hsts
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception:
            if not started:
                body = json.dumps(error_body("internal_error", "internal error")).encode()
                await with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
            raise
