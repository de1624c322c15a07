"""Quản trị (admins): people's accounts, API keys for machines, and the audit log with filters.

The page is a shell; ``api/static/web/admin.js`` works through ``/v1/users``, ``/v1/keys`` and ``/v1/audit``
(session cookie + ``X-CSRF-Token``), so every change is audited like the same call from a script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.auth import ADMIN, ROLES
from api.routes.session import ROLE_LABELS
from api.web.layout import PageUser, render

router = APIRouter(include_in_schema=False)

#: The audit log's actions an admin filters by, with what they mean (the filter also takes a prefix "user.").
AUDIT_ACTIONS = {
    "user.": "Mọi việc về người dùng",
    "user.sign_in": "Đăng nhập",
    "user.sign_in_failed": "Đăng nhập sai",
    "user.sign_out": "Đăng xuất",
    "user.create": "Tạo người dùng",
    "user.disable": "Khóa người dùng",
    "user.enable": "Mở khóa người dùng",
    "user.reset_password": "Đặt lại mật khẩu",
    "user.update": "Sửa người dùng",
    "key.": "Mọi thay đổi khóa API",
    "key.create": "Tạo khóa API",
    "key.revoke": "Thu hồi khóa API",
    "auth.": "Khóa do đăng nhập sai, khóa API sai",
    "model.": "Mô hình (huấn luyện, đưa vào dùng)",
    "transcription.": "Cuộc họp",
    "indicator.": "Chỉ tiêu",
    "observations.": "Số liệu",
    "social.": "Dư luận xã hội",
}


@router.get("/quan-tri", response_class=HTMLResponse)
def admin_page(request: Request, user: PageUser) -> HTMLResponse:
    """Admins only; any other role gets the Vietnamese 403 page."""
    if user.user.role not in ADMIN:
        return render(
            request,
            user,
            "message.html",
            "",
            {
                "title": "Quản trị",
                "message": "Vai trò của bạn không được dùng trang này; liên hệ quản trị viên nếu bạn cần quyền.",
            },
            status=403,
        )
    roles = [(r, ROLE_LABELS.get(r, r)) for r in ROLES]
    return render(request, user, "admin.html", "/quan-tri", {"roles": roles, "actions": AUDIT_ACTIONS})
