"""Tổng quan (the leaders' overview) and its wall mode for the center's large screens (``/man-hinh``).

Both render the same panels (indicator cards, open anomalies, social alerts, latest meetings) from
:mod:`api.overview`; the wall page cycles through them and refreshes itself by fetching its own HTML.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api import overview
from api.deps import ServicesDep, SessionDep
from api.services import Services
from api.web.layout import PageUser, local_time, render, templates
from api.web.pages import _meetings

router = APIRouter(include_in_schema=False)

#: Wall mode: seconds per panel and between data refreshes (both can be set in the address for a screen).
WALL_CYCLE_S = 20
WALL_REFRESH_S = 60
#: Indicator cards per wall panel (4 x 2 at 1920 x 1080, in type readable from across a room).
WALL_CARDS_PER_PANEL = 8


def vi_number(value: float | None, digits: int = 1) -> str:
    """``1234567.25`` -> ``1.234.567,3`` (vi-VN: dot thousands, comma decimals); ``""`` for None/NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    text = f"{value:,.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".").replace("-", "−")


def vi_signed(value: float | None, digits: int = 1) -> str:
    """A change with its sign: ``+3,2`` or ``−1,5``."""
    if value is None:
        return ""
    return ("+" if value > 0 else "") + vi_number(value, digits)


def vi_percent(fraction: float | None) -> str:
    """``0.724`` -> ``72%``."""
    if fraction is None:
        return ""
    return f"{round(fraction * 100)}%"


def local_date(value: datetime | None) -> str:
    """``dd/mm/yyyy`` in Asia/Ho_Chi_Minh (naive values are UTC)."""
    return local_time(value)[:10]


templates.env.filters["vi_number"] = vi_number
templates.env.filters["local_date"] = local_date
templates.env.filters["vi_signed"] = vi_signed
templates.env.filters["vi_percent"] = vi_percent
templates.env.globals["target_status"] = overview.target_status


def _panels(services: Services, session: SessionDep, user: PageUser) -> dict[str, Any]:
    return {
        "summaries": overview.indicator_summaries(services),
        "anomalies": overview.open_anomalies(session),
        "alerts": overview.active_alerts(session),
        # which meetings a person may see is the store's business (own, shared with viewers, all for admins)
        "meetings": _meetings(session, user, None, 5),
    }


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, user: PageUser, session: SessionDep, services: ServicesDep) -> HTMLResponse:
    """Tổng quan: indicator cards, open anomalies, social alerts with their posts, the latest meetings."""
    panels = _panels(services, session, user)
    return render(request, user, "overview.html", "/", panels)


@router.get("/man-hinh", response_class=HTMLResponse)
def wall(
    request: Request,
    user: PageUser,
    session: SessionDep,
    services: ServicesDep,
    chu_ky: Annotated[int, Query(alias="chu-ky", ge=2, le=600, description="seconds per panel")] = WALL_CYCLE_S,
    lam_moi: Annotated[int, Query(alias="lam-moi", ge=5, le=3600, description="seconds between refreshes")] = (
        WALL_REFRESH_S
    ),
) -> HTMLResponse:
    """The wall mode: the overview's panels one at a time, in large type, cycling and refreshing by itself."""
    panels = _panels(services, session, user)
    now = datetime.now(UTC)
    extra = {"cycle_s": chu_ky, "refresh_s": lam_moi, "per_page": WALL_CARDS_PER_PANEL}
    return render(
        request, user, "wall.html", "/", panels | extra | {"now_iso": now.isoformat(), "now_local": local_time(now)}
    )
