"""Mô hình: the registered models' versions side by side, and (analysts) retrain, compare, promote, roll back.

The page is a shell; ``api/static/web/models.js`` reads ``GET /v1/models`` and acts through the ``/v1``
routes (train, jobs, compare, promote), so the page and the API cannot disagree.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import ANALYST, VIEWER
from api.web.layout import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/mo-hinh", response_class=HTMLResponse)
def models_page(request: Request, user: PageUser) -> HTMLResponse:
    """Every role reads; analysts and admins also get the actions."""
    role = user.user.role
    if role not in VIEWER:  # every stored role is one of VIEWER; kept for a role added later
        return render(request, user, "message.html", "", {"title": "Mô hình", "message": "Không được xem."}, 403)
    return render(request, user, "models.html", "/mo-hinh", {"can_act": role in ANALYST})
