"""The old key-based dashboard's address: it now leads to the overview page (``/``), which replaced it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

#: Static files outside the web application's own (``api/static/web``): the sign-in page's style sheet.
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard() -> RedirectResponse:
    """The pages replaced the old dashboard: its address leads to Tổng quan (sign-in first when needed)."""
    return RedirectResponse("/", status_code=307)
