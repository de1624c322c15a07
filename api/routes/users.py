"""People's accounts (admins only): list, create, change role/name/disabled, reset a password.

Disabling a user or resetting their password ends their sessions. Every change is audited with the
changed fields (never the password). An admin cannot disable or demote their own account here, so that
nobody locks the last admin out by a slip (the CLI can still do it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api import audit, throttle
from api.auth import Principal
from api.authn import account_key
from api.deps import Admin, ServicesDep, SessionDep
from api.errors import Conflict, InvalidInput, NotFound
from api.routes.session import password_hasher
from api.schemas import UtcDatetime
from api.users import (
    PasswordError,
    UserError,
    UserInfo,
    UsernameTaken,
    create_user,
    list_users,
    set_password,
    update_user,
)

router = APIRouter(prefix="/v1/users", tags=["users"])

Role = Literal["viewer", "secretary", "analyst", "admin"]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    subject: str = Field(description='stable identity, "user:<id>"')
    username: str
    name: str
    role: Role
    disabled: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    last_sign_in_at: UtcDatetime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=64, examples=["nguyen.van.a"])
    name: str = Field(min_length=1, max_length=200, examples=["Nguyễn Văn A"])
    role: Role
    password: str = Field(max_length=1024, description="at least 10 characters, not containing the user name")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    disabled: bool | None = None
    name: str | None = Field(None, min_length=1, max_length=200)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024)


def _out(user: UserInfo) -> UserOut:
    return UserOut(
        id=user.id,
        subject=user.subject,
        username=user.username,
        name=user.name,
        role=user.role,  # stored roles are checked on the way in
        disabled=user.disabled,
        created_at=user.created_at,
        updated_at=user.updated_at,
        last_sign_in_at=user.last_sign_in_at,
    )


def _detail(who: Principal, extra: dict[str, object]) -> dict[str, object]:
    return {**extra, "actor_subject": who.subject}


@router.get("", response_model=list[UserOut])
def users_list(session: SessionDep, _: Admin) -> list[UserOut]:
    """Every account, oldest first."""
    return [_out(u) for u in list_users(session)]


@router.post("", response_model=UserOut, status_code=201)
def users_create(body: UserCreate, services: ServicesDep, who: Admin) -> UserOut:
    """Create an account; 409 when the user name is taken, 422 when a rule is broken (Vietnamese message)."""
    settings = services.settings
    try:
        with services.db.transaction() as s:
            user = create_user(
                s,
                username=body.username,
                name=body.name,
                role=body.role,
                password=body.password,
                hasher=password_hasher(services),
                min_length=settings.auth.password_min_length,
            )
            audit.record(
                s,
                who,
                "user.create",
                "user",
                str(user.id),
                _detail(who, {"username": user.username, "role": user.role}),
            )
    except UsernameTaken as e:
        raise Conflict(str(e)) from e
    except UserError as e:
        raise InvalidInput(str(e), code=_code(e)) from e
    return _out(user)


@router.patch("/{user_id}", response_model=UserOut)
def users_update(user_id: UserId, body: UserPatch, services: ServicesDep, who: Admin) -> UserOut:
    """Change role, name or disabled; disabling ends the user's sessions at once."""
    if who.user_id == user_id and (body.disabled or (body.role is not None and body.role != "admin")):
        raise Conflict(
            "Quản trị viên không thể tự vô hiệu hóa hoặc tự hạ vai trò của chính mình; "
            "nhờ một quản trị viên khác hoặc dùng `ioc users`."
        )
    try:
        with services.db.transaction() as s:
            found = update_user(s, user_id, role=body.role, disabled=body.disabled, name=body.name)
            if found is None:
                raise NotFound(f"Không có người dùng với mã {user_id}.")
            user, changes = found
            if changes:
                action = "user.update"
                if "disabled" in changes:
                    action = "user.disable" if user.disabled else "user.enable"
                    if not user.disabled:
                        throttle.clear(s, "account", account_key(user.username, services.settings))
                audit.record(s, who, action, "user", str(user.id), _detail(who, {"changes": changes}))
    except UserError as e:
        raise InvalidInput(str(e), code=_code(e)) from e
    return _out(user)


@router.post("/{user_id}/reset-password", response_model=UserOut)
def users_reset_password(user_id: UserId, body: PasswordReset, services: ServicesDep, who: Admin) -> UserOut:
    """Set a new password: the user's sessions end and a lock from failed sign-ins is lifted."""
    try:
        with services.db.transaction() as s:
            user = set_password(
                s,
                user_id,
                body.password,
                password_hasher(services),
                services.settings.auth.password_min_length,
            )
            if user is None:
                raise NotFound(f"Không có người dùng với mã {user_id}.")
            throttle.clear(s, "account", account_key(user.username, services.settings))
            audit.record(s, who, "user.reset_password", "user", str(user.id), _detail(who, {}))
    except UserError as e:
        raise InvalidInput(str(e), code=_code(e)) from e
    return _out(user)


def _code(e: UserError) -> str:
    return "weak_password" if isinstance(e, PasswordError) else "invalid_user"
