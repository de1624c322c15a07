"""``ioc users``: people's accounts from the command line (create, list, disable, enable, reset-password).

Passwords are read from standard input when it is not a terminal (``echo "$PW" | ioc users create ...``:
the first line, without its line ending), otherwise prompted twice without echo. They never appear in
the arguments, so they stay out of shell history and process lists.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from api.settings import get_settings

users_app = typer.Typer(help="People who sign in to the web pages: create, list, disable, enable, reset-password.")
console = Console(stderr=True)


def _services() -> Any:
    from api.services import Services
    from api.tasks import build_task_registry

    settings = get_settings()
    return Services.start(settings, build_task_registry(settings.jobs.plugins))


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]lỗi:[/red] {message}")
    return typer.Exit(code)


def read_password() -> str:
    """The new password: from standard input when piped, else typed twice at a hidden prompt."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    password: str = typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    return password


def _user_id(session: Any, user: str) -> int:
    """A user given by id or by user name."""
    from api.users import get_user, get_user_by_name

    found = get_user(session, int(user)) if user.isdigit() and int(user) <= 2**31 - 1 else None
    found = found or get_user_by_name(session, user)
    if found is None:
        raise _fail(f"không có người dùng {user!r} (mã số hoặc tên đăng nhập); xem `ioc users list`.")
    return found.id


def _system_detail() -> dict[str, object]:
    return {"actor_subject": "system", "via": "cli"}


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="user name, e.g. nguyen.van.a")],
    role: Annotated[str, typer.Option(help="viewer, secretary, analyst or admin")],
    name: Annotated[str, typer.Option(help="full name shown on the pages, e.g. 'Nguyễn Văn A'")],
) -> None:
    """Create an account; the password comes from standard input or a prompt."""
    from api import audit
    from api.auth import ROLES, SYSTEM
    from api.users import PasswordHasher, UserError, create_user, normalize_username, validate_password

    settings = get_settings()
    if role not in ROLES:
        raise _fail(f"vai trò {role!r} không tồn tại; chọn một trong: {', '.join(ROLES)}.")
    try:  # check the rules before asking twice for a password, and before starting the services
        clean = normalize_username(username)
        password = validate_password(read_password(), clean, settings.auth.password_min_length)
    except UserError as e:
        raise _fail(str(e)) from e
    services = _services()
    try:
        with services.db.transaction() as s:
            user = create_user(
                s,
                username=clean,
                name=name,
                role=role,
                password=password,
                hasher=PasswordHasher(settings.auth),
                min_length=settings.auth.password_min_length,
            )
            audit.record(s, SYSTEM, "user.create", "user", str(user.id), {"username": user.username, "role": user.role})
    except UserError as e:
        raise _fail(str(e)) from e
    console.print(f"đã tạo người dùng {user.id} {user.username!r} ({user.role}) — {user.name}")


@users_app.command("list")
def users_list() -> None:
    """List accounts (never the password hashes)."""
    from api.users import list_users

    services = _services()
    with services.db.session() as s:
        rows = list_users(s)
    table = Table("id", "username", "name", "role", "disabled", "created", "last sign-in")
    for u in rows:
        table.add_row(
            str(u.id),
            u.username,
            u.name,
            u.role,
            "yes" if u.disabled else "",
            f"{u.created_at:%Y-%m-%d %H:%M}",
            f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "",
        )
    (Console() if sys.stdout.isatty() else Console(width=240)).print(table)


def _set_disabled(user: str, disabled: bool) -> None:
    from api import audit, throttle
    from api.auth import SYSTEM
    from api.authn import account_key
    from api.users import update_user

    services = _services()
    with services.db.transaction() as s:
        user_id = _user_id(s, user)
        found = update_user(s, user_id, disabled=disabled)
        assert found is not None
        info, changes = found
        if not disabled:
            throttle.clear(s, "account", account_key(info.username, services.settings))
        if changes:
            action = "user.disable" if disabled else "user.enable"
            audit.record(s, SYSTEM, action, "user", str(info.id), {"changes": changes, **_system_detail()})
    state = "vô hiệu hóa (các phiên đăng nhập đã kết thúc)" if disabled else "bật lại"
    console.print(f"đã {state} người dùng {info.id} {info.username!r}")


@users_app.command("disable")
def users_disable(user: Annotated[str, typer.Argument(help="id or user name")]) -> None:
    """Disable an account: it cannot sign in and its sessions end now."""
    _set_disabled(user, True)


@users_app.command("enable")
def users_enable(user: Annotated[str, typer.Argument(help="id or user name")]) -> None:
    """Enable an account again (and lift a lock from failed sign-ins)."""
    _set_disabled(user, False)


@users_app.command("reset-password")
def users_reset_password(user: Annotated[str, typer.Argument(help="id or user name")]) -> None:
    """Set a new password (standard input or prompt); the user's sessions end and any lock is lifted."""
    from api import audit, throttle
    from api.auth import SYSTEM
    from api.authn import account_key
    from api.users import PasswordHasher, UserError, set_password

    services = _services()
    settings = services.settings
    with services.db.session() as s:
        user_id = _user_id(s, user)
    password = read_password()
    try:
        with services.db.transaction() as s:
            info = set_password(s, user_id, password, PasswordHasher(settings.auth), settings.auth.password_min_length)
            assert info is not None
            throttle.clear(s, "account", account_key(info.username, settings))
            audit.record(s, SYSTEM, "user.reset_password", "user", str(info.id), _system_detail())
    except UserError as e:
        raise _fail(str(e)) from e
    console.print(f"đã đặt mật khẩu mới cho người dùng {info.id} {info.username!r}; các phiên cũ đã kết thúc")
