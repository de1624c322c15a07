"""The meetings pages: upload, list, the transcript editor; the favicon. Each other section has its module
beside this one (overview, indicators, social, models, admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.auth import SECRETARY
from api.deps import SessionDep
from api.errors import NotFound
from api.stores import transcripts
from api.web.layout import STATIC_DIR, PageUser, render

router = APIRouter(include_in_schema=False)

MeetingId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
STATUS_LABELS = {"queued": "đang chờ", "running": "đang xử lý", "succeeded": "hoàn tất", "failed": "lỗi"}


def _meetings(session: SessionDep, user: PageUser, q: str | None, limit: int) -> list[dict[str, object]]:
    who = user.user.principal()
    out = []
    for row in transcripts.search(session, who, q, limit, 0):
        state = transcripts.job_state(session, row)
        out.append(
            {
                "id": row.id,
                "title": row.title or row.filename or row.id,
                "created_at": row.created_at,
                "duration_s": row.duration_s,
                "status": state["status"],
                "status_label": STATUS_LABELS.get(state["status"], state["status"]),
                "progress": state["progress"],
                "owner": row.owner,
                "mine": row.owner_subject == who.subject,
                "shared": bool(row.shared_with_viewers),
            }
        )
    return out


def _forbidden(request: Request, user: PageUser, title: str) -> HTMLResponse:
    return render(
        request,
        user,
        "message.html",
        "",
        {
            "title": title,
            "message": "Vai trò của bạn không được dùng trang này; liên hệ quản trị viên nếu bạn cần quyền.",
        },
        status=403,
    )


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The browsers' default request (the sign-in page and the docs have no icon link of their own)."""
    return FileResponse(
        STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )


@router.get("/cuoc-hop", response_class=HTMLResponse)
def meetings(
    request: Request,
    user: PageUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """Cuộc họp: upload a recording, and the user's meetings (all of them for admins), searchable."""
    if user.user.role not in SECRETARY:
        return _forbidden(request, user, "Cuộc họp")
    rows = _meetings(session, user, q or None, 100)
    return render(request, user, "meetings.html", "/cuoc-hop", {"meetings": rows, "q": q})


@router.get("/cuoc-hop/{meeting_id}", response_class=HTMLResponse)
def meeting(request: Request, user: PageUser, session: SessionDep, meeting_id: MeetingId) -> HTMLResponse:
    """One meeting: progress while it is transcribed, then the downloads and the transcript editor; read-only
    for those who see it only because its owner shared it with viewers."""
    who = user.user.principal()
    try:
        row = transcripts.visible(session, who, meeting_id)
    except NotFound:
        return render(
            request,
            user,
            "message.html",
            "/cuoc-hop" if user.user.role in SECRETARY else "/",
            {"title": "Không tìm thấy cuộc họp", "message": "Cuộc họp này không có hoặc bạn không được xem."},
            status=404,
        )
    return render(
        request,
        user,
        "meeting.html",
        "/cuoc-hop" if user.user.role in SECRETARY else "/",
        {
            "meeting": row,
            "editable": transcripts.may_edit(who, row),
            "back": ("/cuoc-hop", "Cuộc họp") if user.user.role in SECRETARY else ("/", "Tổng quan"),
        },
    )
