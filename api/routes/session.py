"""Signing in and out: the Vietnamese sign-in page (``/dang-nhap``), sign-out (``POST /dang-xuat``) and
``GET /v1/me`` (who am I, and the CSRF token a page's scripts send back with writes).

The sign-in form is protected against login CSRF by a double-submit token (a cookie and the same value
in the form). After signing in, the browser goes to ``next`` only when it is a path on this site.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from api import audit, throttle
from api.authn import ANONYMOUS, account_key, request_address, request_is_https, signed_in_from_cookie
from api.deps import ServicesDep, Viewer
from api.schemas import UtcDatetime
from api.services import Services
from api.users import PasswordHasher, authenticate_user
from api.web_sessions import SignedIn, check_csrf, end_session, start_session

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

SIGN_IN_FORM_COOKIE = "ioc_signin_form"

#: Messages a redirect may ask the sign-in page to show: codes only, so nothing from the URL is echoed.
MESSAGES: dict[str, tuple[str, str]] = {
    "het-han": ("Phiên đăng nhập đã hết hạn hoặc đã kết thúc; vui lòng đăng nhập lại.", "error"),
    "csrf": ("Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã chống giả mạo); vui lòng thử lại.", "error"),
    "da-dang-xuat": ("Bạn đã đăng xuất.", "info"),
    "can-dang-nhap": ("Vui lòng đăng nhập để tiếp tục.", "info"),
}
WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."
DISABLED = "Tài khoản này đã bị vô hiệu hóa; vui lòng liên hệ quản trị viên."
ROLE_LABELS = {"viewer": "xem", "secretary": "thư ký", "analyst": "phân tích", "admin": "quản trị"}

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/v1", tags=["session"])


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (``/...``), else ``/``: never a redirect to another host."""
    if not value:
        return "/"
    value = value.strip()
    if (
        len(value) > 2000
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 or ord(c) == 127 for c in value)
    ):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    if parts.path in {"/dang-nhap", "/login", "/dang-xuat"}:
        return "/"
    return value


def _hasher(services: Services) -> PasswordHasher:
    cached: PasswordHasher | None = getattr(services, "_password_hasher", None)
    if cached is None:
        cached = PasswordHasher(services.settings.auth)
        services._password_hasher = cached  # type: ignore[attr-defined]  # one per process: the dummy hash
    return cached


def password_hasher(services: Services) -> PasswordHasher:
    """The process's argon2id hasher under the configured parameters (shared by the pages and the API)."""
    return _hasher(services)


def _page(
    request: Request,
    services: Services,
    *,
    status: int = 200,
    message: str | None = None,
    kind: str = "error",
    username: str = "",
    next_path: str = "/",
    signed_in: SignedIn | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    form_token = request.cookies.get(SIGN_IN_FORM_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "signin.html",
        {
            "message": message,
            "message_kind": kind,
            "username": username,
            "next": next_path,
            "signed_in": signed_in,
            "role_label": ROLE_LABELS.get(signed_in.user.role, "") if signed_in else "",
            "form_token": form_token,
        },
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
    if signed_in is None:
        response.set_cookie(
            SIGN_IN_FORM_COOKIE,
            form_token,
            httponly=True,
            samesite="strict",
            secure=request_is_https(request, services.settings),
            path="/dang-nhap",
        )
    return response


@router.get("/login")
def login_redirect(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/dang-nhap{query}", status_code=308)


@router.get("/dang-nhap", response_class=HTMLResponse)
def sign_in_page(request: Request, services: ServicesDep, next: str = "/", msg: str = "") -> HTMLResponse:
    text, kind = MESSAGES.get(msg, (None, "info"))
    signed = signed_in_from_cookie(request, services)
    return _page(request, services, message=text, kind=kind, next_path=safe_next(next), signed_in=signed)


@router.post("/dang-nhap", response_class=HTMLResponse)
def sign_in(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the form; on success open a session, set its cookie and go to ``next`` (303)."""
    settings = services.settings
    next_path = safe_next(next)
    shown = username.strip()[:64]
    expected = request.cookies.get(SIGN_IN_FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        text, _ = MESSAGES["csrf"]
        return _page(request, services, status=403, message=text, username=shown, next_path=next_path)

    address = request_address(request, settings)
    account = account_key(username, settings)
    t = settings.auth.throttle
    address_limits, account_limits = throttle.limits_for("address", t), throttle.limits_for("account", t)
    try:
        with services.db.transaction() as s:
            throttle.check(s, "address", address, address_limits)
            throttle.check(s, "account", account, account_limits)
    except throttle.Throttled as e:
        return _page(
            request,
            services,
            status=429,
            message=e.message,
            username=shown,
            next_path=next_path,
            headers={"Retry-After": str(e.retry_after)},
        )

    hasher = _hasher(services)
    with services.db.transaction() as s:
        result = authenticate_user(s, username, password, hasher)
    if result.user is None:
        with services.db.transaction() as s:
            locks = [
                (scope, key, throttle.record_failure(s, scope, key, limits))
                for scope, key, limits in (("account", account, account_limits), ("address", address, address_limits))
            ]
            who = ANONYMOUS
            object_id = str(result.user_id) if result.user_id is not None else "unknown"
            audit.record(
                s, who, "user.sign_in_failed", "user", object_id, {"reason": result.reason, "address": address}
            )
            for scope, _key, count in locks:
                if count.newly_locked:
                    audit.record(
                        s,
                        who,
                        "auth.lock",
                        "user" if scope == "account" else "address",
                        object_id if scope == "account" else address,
                        {"scope": scope, "failures": count.failures, "until": count.locked_until.isoformat()}
                        if count.locked_until
                        else {"scope": scope},
                    )
        text = DISABLED if result.reason == "disabled" else WRONG_CREDENTIALS
        return _page(request, services, status=401, message=text, username=shown, next_path=next_path)

    user = result.user
    with services.db.transaction() as s:
        throttle.clear(s, "account", account)
        old = request.cookies.get(settings.auth.cookie_name)
        if old:
            end_session(s, old)  # a new token at every sign-in: no session fixation
        token, signed = start_session(
            s, user, settings, address=address, user_agent=request.headers.get("user-agent", "")
        )
        audit.record(
            s,
            user.principal(),
            "user.sign_in",
            "user",
            str(user.id),
            {"address": address, "session_id": signed.session_id, "actor_subject": user.subject},
        )
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        settings.auth.cookie_name,
        token,
        httponly=True,
        samesite=settings.auth.cookie_samesite,
        secure=request_is_https(request, settings),
        path="/",
    )
    response.delete_cookie(SIGN_IN_FORM_COOKIE, path="/dang-nhap")
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/dang-xuat")
def sign_out(
    request: Request,
    services: ServicesDep,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
) -> RedirectResponse:
    """End the session (its row is deleted, the cookie cleared); needs the session's CSRF token."""
    settings = services.settings
    cookie = request.cookies.get(settings.auth.cookie_name)
    signed = signed_in_from_cookie(request, services)
    if cookie is None or signed is None:
        response = RedirectResponse("/dang-nhap?msg=het-han", status_code=303)
    else:
        check_csrf(signed, csrf_token or request.headers.get("x-csrf-token"))  # CsrfRefused -> redirect
        with services.db.transaction() as s:
            end_session(s, cookie)
            audit.record(
                s,
                signed.user.principal(),
                "user.sign_out",
                "user",
                str(signed.user.id),
                {"session_id": signed.session_id, "actor_subject": signed.user.subject},
            )
        response = RedirectResponse("/dang-nhap?msg=da-dang-xuat", status_code=303)
    response.delete_cookie(settings.auth.cookie_name, path="/")
    return response


class MeOut(BaseModel):
    """The caller: a person signed in (``kind`` "user") or a machine's key (``kind`` "key")."""

    subject: str
    kind: Literal["user", "key", "system"]
    name: str
    role: str
    user_id: int | None
    key_id: int | None
    username: str | None
    csrf_token: str | None
    session_expires_at: UtcDatetime | None


@api_router.get("/me", response_model=MeOut)
def me(request: Request, who: Viewer) -> MeOut:
    """Who is calling; for a session also the CSRF token to send as ``X-CSRF-Token`` on writes."""
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    kind: Literal["user", "key", "system"] = (
        "user" if who.user_id is not None else "key" if who.key_id is not None else "system"
    )
    return MeOut(
        subject=who.subject,
        kind=kind,
        name=who.name,
        role=who.role,
        user_id=who.user_id,
        key_id=who.key_id,
        username=signed.user.username if signed else None,
        csrf_token=signed.csrf_token if signed else None,
        session_expires_at=signed.expires_at if signed else None,
    )
