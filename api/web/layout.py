"""What every page shares: who is signed in, the navigation their role may use, and rendering.

A page route takes ``user: PageUser``: a visitor without a live session is redirected to
``/dang-nhap?next=<this page>`` instead of reaching the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import ADMIN, SECRETARY, VIEWER
from api.authn import signed_in_from_cookie
from api.deps import ServicesDep
from api.routes.session import ROLE_LABELS
from api.web_sessions import SignedIn

__all__ = ["NAV", "PageUser", "STATIC_DIR", "VENDOR_DIR", "local_time", "render"]

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static" / "web"
#: Third-party browser assets copied from node_modules by scripts/setup (git-ignored).
VENDOR_DIR = API_DIR / "static" / "vendor"
TIME_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@dataclass(frozen=True)
class NavLink:
    label: str
    path: str
    roles: frozenset[str]


#: The navigation, in order; the names are the contract of DESIGN.md (tests find links by them).
NAV = (
    NavLink("Tổng quan", "/", VIEWER),
    NavLink("Chỉ tiêu", "/chi-tieu", VIEWER),
    NavLink("Cuộc họp", "/cuoc-hop", SECRETARY),
    NavLink("Dư luận xã hội", "/du-luan", VIEWER),
    NavLink("Mô hình", "/mo-hinh", VIEWER),
    NavLink("Quản trị", "/quan-tri", ADMIN),
)


class SignInRequired(Exception):
    """Raised by :func:`page_user` for a visitor without a live session; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def page_user(request: Request, services: ServicesDep) -> SignedIn:
    """The signed-in person of a page request, or :class:`SignInRequired`."""
    signed = signed_in_from_cookie(request, services)
    if signed is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(here)
    return signed


PageUser = Annotated[SignedIn, Depends(page_user)]


def install_sign_in_redirect(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _to_sign_in(_: Request, exc: SignInRequired) -> Response:
        query = urlencode({"next": exc.next_path, "msg": "can-dang-nhap"})
        return RedirectResponse(f"/dang-nhap?{query}", status_code=303, headers={"Cache-Control": "no-store"})


def local_time(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Asia/Ho_Chi_Minh (naive values are UTC); the scripts redo it with Intl."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(TIME_ZONE).strftime("%d/%m/%Y %H:%M")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


templates.env.filters["local_time"] = local_time
templates.env.filters["iso"] = iso


def render(
    request: Request,
    user: SignedIn,
    template: str,
    active: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page in the base layout; ``active`` is the path of the navigation link to mark as current."""
    role = user.user.role
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user.user,
            "role_label": ROLE_LABELS.get(role, role),
            "csrf_token": user.csrf_token,
            "nav": [link for link in NAV if role in link.roles],
            "active": active,
            **(context or {}),
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
