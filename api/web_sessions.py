"""Server-side sessions of signed-in people, and their CSRF tokens.

The cookie carries a random 256-bit token; the database keeps only its SHA-256, so a copy of the
database does not let anyone in. A session ends when unused for ``auth.session_idle_s``, at the latest
``auth.session_absolute_s`` after sign-in, at sign-out, and when its user is disabled or gets a new
password. The CSRF token is the HMAC of the session under the service's secret: bound to one session,
never stored, and useless without the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.errors import Forbidden, Unauthorized
from api.settings import Settings
from api.storage.tables import User, UserSession, utcnow
from api.users import UserInfo, user_info

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "CsrfRefused",
    "SessionExpired",
    "SignedIn",
    "check_csrf",
    "end_session",
    "resolve_session",
    "start_session",
]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``last_seen_at`` is written at most this often, so that reading pages does not write on every request.
TOUCH_EVERY_S = 60.0

SESSION_EXPIRED_MESSAGE = "Phiên đăng nhập đã hết hạn hoặc đã kết thúc; vui lòng đăng nhập lại tại /dang-nhap."
CSRF_MESSAGE = (
    "Thiếu hoặc sai mã chống giả mạo (CSRF) của phiên đăng nhập; tải lại trang rồi thử lại "
    f"(gửi mã trong trường {CSRF_FIELD} hoặc tiêu đề {CSRF_HEADER})."
)


class SessionExpired(Unauthorized):
    """A session cookie that is unknown, expired, signed out or whose user was disabled (401)."""

    code = "session_expired"


class CsrfRefused(Forbidden):
    """A state-changing request authenticated by cookie without the session's CSRF token (403)."""

    code = "csrf_failed"


@dataclass(frozen=True)
class SignedIn:
    """A live session: who, and the CSRF token that its forms and scripts must send back."""

    user: UserInfo
    session_id: int
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(hashed: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), f"csrf:{hashed}".encode(), hashlib.sha256).hexdigest()


def start_session(
    session: Session, user: UserInfo, settings: Settings, *, address: str = "", user_agent: str = ""
) -> tuple[str, SignedIn]:
    """Open a session for ``user``; returns the cookie token (the only time it exists in clear)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.auth.session_absolute_s),
        address=address[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    pepper = settings.secret_key.get_secret_value()
    return token, SignedIn(user, row.id, csrf_token_for(row.token_hash, pepper), row.expires_at)


def resolve_session(session: Session, token: str, settings: Settings, now: datetime | None = None) -> SignedIn:
    """The live session of a cookie token, touched; raises :class:`SessionExpired` otherwise.

    An expired session row is deleted on the way."""
    now = now or utcnow()
    hashed = token_hash(token)
    found = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.token_hash == hashed)
    ).first()
    if found is None:
        raise SessionExpired(SESSION_EXPIRED_MESSAGE)
    row, user = found
    idle_limit = _aware(row.last_seen_at) + timedelta(seconds=settings.auth.session_idle_s)
    if user.disabled or _aware(row.expires_at) <= now or idle_limit <= now:
        session.delete(row)
        session.flush()
        raise SessionExpired(SESSION_EXPIRED_MESSAGE, detail={"reason": "disabled" if user.disabled else "expired"})
    if (now - _aware(row.last_seen_at)).total_seconds() >= TOUCH_EVERY_S:
        row.last_seen_at = now
    pepper = settings.secret_key.get_secret_value()
    return SignedIn(user_info(user), row.id, csrf_token_for(hashed, pepper), _aware(row.expires_at))


def end_session(session: Session, token: str) -> int | None:
    """Delete the session of a cookie token; returns its user's id, None when there was none."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None:
        return None
    user_id = row.user_id
    session.execute(delete(UserSession).where(UserSession.id == row.id))
    return user_id


def check_csrf(signed_in: SignedIn, presented: str | None) -> None:
    """Raise :class:`CsrfRefused` unless ``presented`` is this session's CSRF token (constant time)."""
    if not presented or not hmac.compare_digest(presented.encode(), signed_in.csrf_token.encode()):
        raise CsrfRefused(CSRF_MESSAGE)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
