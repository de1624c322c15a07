"""Who is calling: a machine's API key (``Authorization: Bearer``) or a person's session cookie.

A Bearer header wins when both are sent, and needs no CSRF token (browsers never add it by themselves).
A cookie is accepted for reading; a state-changing request (anything but GET, HEAD, OPTIONS) that
authenticates by cookie must also send the session's CSRF token, as the ``X-CSRF-Token`` header or a
``csrf_token`` form field. Wrong API keys are throttled per client address (:mod:`api.throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api import audit, throttle
from api.auth import Principal, authenticate, record_key_use
from api.errors import Unauthorized, error_body
from api.services import Services
from api.settings import Settings
from api.web_sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    CsrfRefused,
    SessionExpired,
    SignedIn,
    check_csrf,
    resolve_session,
)

__all__ = [
    "ANONYMOUS",
    "account_key",
    "authenticate_request",
    "install_auth_handlers",
    "presented_csrf",
    "request_address",
    "request_is_https",
]

#: The actor of audit entries about failed authentications (nobody is known yet).
ANONYMOUS = Principal(key_id=None, name="anonymous", role="none")

SIGN_IN_PATH = "/dang-nhap"


def request_address(request: Request, settings: Settings) -> str:
    peer = request.client.host if request.client else None
    return throttle.client_address(peer, request.headers.get("x-forwarded-for"), settings.auth)


def request_is_https(request: Request, settings: Settings) -> bool:
    peer = request.client.host if request.client else None
    return throttle.is_https(request.url.scheme, peer, request.headers.get("x-forwarded-proto"), settings.auth)


def account_key(username: str, settings: Settings) -> str:
    """The throttle key of a typed user name: keyed hash, so a password typed as a name is never stored."""
    typed = unicodedata.normalize("NFC", username or "").strip().lower()[:256]
    return hmac.new(settings.secret_key.get_secret_value().encode(), typed.encode(), hashlib.sha256).hexdigest()


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token a state-changing request sends: the header, else a form field (forms parse once)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if request.headers.get("authorization") or not content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return None
    value = (await request.form()).get(CSRF_FIELD)  # cached by Starlette: the route reads the same form
    return value if isinstance(value, str) else None


def authenticate_request(request: Request, services: Services, csrf: str | None) -> Principal:
    """The caller of a request, or :class:`Unauthorized` / :class:`SessionExpired` / :class:`CsrfRefused`."""
    settings = services.settings
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(settings.auth.cookie_name)
    if not header and cookie:
        signed = _signed_in(services, cookie)
        request.state.signed_in = signed
        if request.method not in SAFE_METHODS:
            check_csrf(signed, csrf)
        return signed.user.principal()
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' (made with `ioc keys create`)")
    address = request_address(request, settings)
    limits = throttle.limits_for("key_address", settings.auth.throttle)
    with services.db.transaction() as s:
        throttle.check(s, "key_address", address, limits)
        who = authenticate(s, key, settings.secret_key.get_secret_value())
    if who is None:
        with services.db.transaction() as s:
            count = throttle.record_failure(s, "key_address", address, limits)
            prefix = key.split("_")[1][:16] if key.count("_") >= 2 else "?"
            audit.record(s, ANONYMOUS, "auth.key_failed", "api_key", prefix, {"address": address})
            if count.newly_locked:
                audit.record(
                    s, ANONYMOUS, "auth.lock", "address", address, {"scope": "key_address", "failures": count.failures}
                )
        raise Unauthorized("invalid or revoked API key")
    if who.key_id is not None:
        record_key_use(services.db, who.key_id)
    return who


def signed_in_from_cookie(request: Request, services: Services) -> SignedIn | None:
    """The live session of the request's cookie, or None (no cookie, or it expired): for pages."""
    cookie = request.cookies.get(services.settings.auth.cookie_name)
    if not cookie:
        return None
    try:
        return _signed_in(services, cookie)
    except SessionExpired:
        return None


def _signed_in(services: Services, cookie: str) -> SignedIn:
    failure: SessionExpired | None = None
    with services.db.transaction() as s:  # commits the touch, or the deletion of an expired session
        try:
            signed = resolve_session(s, cookie, services.settings)
        except SessionExpired as e:
            failure = e
    if failure is not None:
        raise failure
    return signed


def is_page_request(request: Request) -> bool:
    """A browser navigating (HTML wanted), as opposed to a script or machine calling the API."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/v1/")


def sign_in_redirect(message: str, next_path: str | None = None) -> RedirectResponse:
    query = {"msg": message, **({"next": next_path} if next_path else {})}
    return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode(query)}", status_code=303)


def install_auth_handlers(app: FastAPI) -> None:
    """429 with Retry-After; expired sessions and refused CSRF as JSON for the API, redirects for pages."""

    @app.exception_handler(throttle.Throttled)
    async def _throttled(_: Request, exc: throttle.Throttled) -> Response:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.detail), exc.status, headers={"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(SessionExpired)
    async def _expired(request: Request, exc: SessionExpired) -> Response:
        settings: Settings = request.app.state.services.settings
        response: Response
        if is_page_request(request):
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = sign_in_redirect("het-han", here if request.method == "GET" else None)
        else:
            response = JSONResponse(
                error_body(exc.code, exc.message, exc.detail), exc.status, headers={"WWW-Authenticate": "Bearer"}
            )
        response.delete_cookie(settings.auth.cookie_name, path="/")
        return response

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, exc: CsrfRefused) -> Response:
        if is_page_request(request):
            return sign_in_redirect("csrf")
        return JSONResponse(error_body(exc.code, exc.message, exc.detail), exc.status)
