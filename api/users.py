"""People who sign in: the users store (SQL) and password hashing (argon2id).

A user name is NFC, lower case, 3 to 64 of ``a-z 0-9 . _ -``. Passwords are hashed with argon2id under
the parameters of :class:`api.settings.AuthSettings`; a hash made with other parameters is replaced at the
next successful sign-in. An unknown user name costs the same hashing time as a wrong password, so the two
cannot be told apart by timing. Messages are Vietnamese: people read them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import ROLES, Principal
from api.settings import AuthSettings
from api.storage.tables import User, UserSession, utcnow

__all__ = [
    "PasswordError",
    "PasswordHasher",
    "UserError",
    "UserInfo",
    "UsernameTaken",
    "authenticate_user",
    "create_user",
    "end_user_sessions",
    "get_user",
    "get_user_by_name",
    "list_users",
    "normalize_username",
    "set_password",
    "update_user",
    "user_info",
    "validate_password",
]

USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
#: Longest password accepted: argon2 hashes anything, but a megabyte "password" is only a CPU cost.
PASSWORD_MAX_LENGTH = 1024


class UserError(ValueError):
    """A user name, role or name that cannot be stored; the message is Vietnamese, for people."""


class UsernameTaken(UserError):
    """The user name already belongs to someone."""


class PasswordError(UserError):
    """A password that breaks the rules (too short, equal to or containing the user name)."""


@dataclass(frozen=True)
class UserInfo:
    """A user as the service shows it (never the password hash)."""

    id: int
    username: str
    name: str
    role: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_sign_in_at: datetime | None

    @property
    def subject(self) -> str:
        return f"user:{self.id}"

    def principal(self) -> Principal:
        return Principal(key_id=None, name=self.name, role=self.role, user_id=self.id)


class PasswordHasher:
    """argon2id with the configured cost; ``verify`` also says whether the stored hash needs renewing."""

    def __init__(self, settings: AuthSettings) -> None:
        self._hasher = _Argon2(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    @cached_property
    def _dummy(self) -> str:
        return self._hasher.hash("không có người dùng này: chỉ để tốn cùng thời gian")

    def waste_time(self, password: str) -> None:
        """Spend what a verification costs, for an unknown user name."""
        self.verify(self._dummy, password)


def normalize_username(username: str) -> str:
    """NFC, trimmed, lower case; raises :class:`UserError` for anything but 3-64 of ``a-z 0-9 . _ -``."""
    value = unicodedata.normalize("NFC", username or "").strip().lower()
    if not USERNAME_RE.fullmatch(value):
        raise UserError(
            f"Tên đăng nhập {username!r} không hợp lệ: cần 3 đến 64 ký tự gồm chữ thường không dấu, chữ số, "
            "dấu chấm, gạch dưới hoặc gạch ngang, bắt đầu bằng chữ hoặc số (ví dụ: nguyen.van.a)."
        )
    return value


def validate_password(password: str, username: str, min_length: int = 10) -> str:
    """Return the password NFC-normalised, or raise :class:`PasswordError` saying which rule it breaks."""
    value = unicodedata.normalize("NFC", password or "")
    if len(value) < min_length:
        raise PasswordError(f"Mật khẩu phải có ít nhất {min_length} ký tự (nhận được {len(value)} ký tự).")
    if len(value) > PASSWORD_MAX_LENGTH:
        raise PasswordError(f"Mật khẩu dài quá {PASSWORD_MAX_LENGTH} ký tự (nhận được {len(value)} ký tự).")
    if username and username.lower() in value.lower():
        raise PasswordError("Mật khẩu không được trùng với tên đăng nhập hoặc chứa tên đăng nhập.")
    return value


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"Vai trò {role!r} không tồn tại; chọn một trong: {', '.join(ROLES)}.")
    return role


def _check_name(name: str) -> str:
    value = unicodedata.normalize("NFC", name or "").strip()
    if not value or len(value) > 200:
        raise UserError(f"Họ tên phải có từ 1 đến 200 ký tự (nhận được {len(value)} ký tự).")
    return value


def create_user(
    session: Session,
    *,
    username: str,
    name: str,
    role: str,
    password: str,
    hasher: PasswordHasher,
    min_length: int = 10,
) -> UserInfo:
    """Store a new user; raises :class:`UserError` for a taken or malformed user name, role or name."""
    username = normalize_username(username)
    name, role = _check_name(name), _check_role(role)
    password = validate_password(password, username, min_length)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UsernameTaken(f"Tên đăng nhập {username!r} đã có người dùng; chọn tên khác.")
    row = User(username=username, name=name, role=role, password_hash=hasher.hash(password), disabled=False)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as e:  # taken by a concurrent request between the check and the insert
        raise UsernameTaken(f"Tên đăng nhập {username!r} đã có người dùng; chọn tên khác.") from e
    return user_info(row)


def get_user(session: Session, user_id: int) -> UserInfo | None:
    row = session.get(User, user_id)
    return user_info(row) if row is not None else None


def get_user_by_name(session: Session, username: str) -> UserInfo | None:
    try:
        username = normalize_username(username)
    except UserError:
        return None
    row = session.scalar(select(User).where(User.username == username))
    return user_info(row) if row is not None else None


def list_users(session: Session) -> list[UserInfo]:
    return [user_info(r) for r in session.scalars(select(User).order_by(User.id))]


def update_user(
    session: Session,
    user_id: int,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    name: str | None = None,
) -> tuple[UserInfo, dict[str, list[object]]] | None:
    """Change role, disabled or name; returns the user and ``{field: [old, new]}``; None if no such user.

    Disabling a user ends all of their sessions at once."""
    row = session.get(User, user_id)
    if row is None:
        return None
    changes: dict[str, list[object]] = {}
    if role is not None and role != row.role:
        changes["role"] = [row.role, _check_role(role)]
        row.role = role
    if name is not None:
        new_name = _check_name(name)
        if new_name != row.name:
            changes["name"] = [row.name, new_name]
            row.name = new_name
    if disabled is not None and disabled != row.disabled:
        changes["disabled"] = [row.disabled, disabled]
        row.disabled = disabled
    if disabled:
        end_user_sessions(session, user_id)
    if changes:
        row.updated_at = utcnow()
    session.flush()
    return user_info(row), changes


def set_password(
    session: Session, user_id: int, password: str, hasher: PasswordHasher, min_length: int = 10
) -> UserInfo | None:
    """Replace the password (rules checked) and end the user's sessions; None if no such user."""
    row = session.get(User, user_id)
    if row is None:
        return None
    row.password_hash = hasher.hash(validate_password(password, row.username, min_length))
    row.password_changed_at = row.updated_at = utcnow()
    end_user_sessions(session, user_id)
    session.flush()
    return user_info(row)


def end_user_sessions(session: Session, user_id: int) -> int:
    """Delete every session of a user; returns how many there were."""
    result = session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in attempt found: ``user`` is set only when the password matched."""

    user: UserInfo | None
    reason: str  # "ok", "unknown_user", "wrong_password", "disabled"
    user_id: int | None = None  # the account tried, when it exists (for the audit log)


def authenticate_user(session: Session, username: str, password: str, hasher: PasswordHasher) -> SignInResult:
    """Check a user name and password; the hash is renewed when its parameters are outdated.

    Unknown and malformed user names spend the same argon2 time as a wrong password."""
    try:
        name = normalize_username(username)
    except UserError:
        name = None
    row = session.scalar(select(User).where(User.username == name)) if name else None
    password = unicodedata.normalize("NFC", password or "")[: PASSWORD_MAX_LENGTH + 1]
    if row is None:
        hasher.waste_time(password)
        return SignInResult(None, "unknown_user")
    if not hasher.verify(row.password_hash, password):
        return SignInResult(None, "wrong_password", row.id)
    if row.disabled:
        return SignInResult(None, "disabled", row.id)
    if hasher.needs_rehash(row.password_hash):
        row.password_hash = hasher.hash(password)
    row.last_sign_in_at = utcnow()
    session.flush()
    return SignInResult(user_info(row), "ok", row.id)


def user_info(row: User) -> UserInfo:
    return UserInfo(
        id=row.id,
        username=row.username,
        name=row.name,
        role=row.role,
        disabled=row.disabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_sign_in_at=row.last_sign_in_at,
    )
