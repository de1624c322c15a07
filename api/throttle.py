"""Throttling of failed authentication, per account and per address, kept in the database.

One row per (scope, key) counts failures in a fixed window (``auth_throttle``): the count is raised by a
single atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (SQLite and PostgreSQL alike), so several
processes share it and two failures never read the same count. Checking costs one primary-key read.

Scopes: ``account`` (a user name, whether or not it exists, so locks do not reveal which names exist),
``address`` (sign-ins from one client address) and ``key_address`` (wrong API keys from one address;
counted apart so that a machine with a revoked key does not lock people out of the same office address).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select
from sqlalchemy.orm import Session

from api.errors import ServiceError
from api.settings import AuthSettings, ThrottleSettings
from api.storage.tables import AuthThrottle, utcnow

__all__ = ["Limits", "Throttled", "check", "clear", "client_address", "is_https", "limits_for", "record_failure"]


class Throttled(ServiceError):
    """Too many failed attempts: answered 429 with ``Retry-After`` (whole seconds)."""

    status, code = 429, "too_many_attempts"

    def __init__(self, message: str, *, retry_after: float, detail: Any = None) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, detail={"retry_after_s": self.retry_after, **(detail or {})})


@dataclass(frozen=True)
class Limits:
    """When one scope slows down (``delay_after`` failures) and locks (``lock_after``), in a window."""

    delay_after: int
    lock_after: int
    window_s: float
    lock_s: float
    delay_base_s: float
    delay_max_s: float

    def delay_s(self, failures: int) -> float:
        """Seconds to wait after the last failure once ``failures`` have been counted (0 below the limit)."""
        if failures < self.delay_after:
            return 0.0
        return float(min(self.delay_base_s * 2.0 ** min(failures - self.delay_after, 30), self.delay_max_s))


def limits_for(scope: str, t: ThrottleSettings) -> Limits:
    delay_after, lock_after = {
        "account": (t.account_delay_after, t.account_lock_after),
        "address": (t.address_delay_after, t.address_lock_after),
        "key_address": (t.key_delay_after, t.key_lock_after),
    }[scope]
    return Limits(delay_after, lock_after, t.window_s, t.lock_s, t.delay_base_s, t.delay_max_s)


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} giây"
    return f"{math.ceil(seconds / 60)} phút"


def check(session: Session, scope: str, key: str, limits: Limits, now: datetime | None = None) -> None:
    """Raise :class:`Throttled` if ``key`` is locked or must still wait; otherwise return at once."""
    now = now or utcnow()
    row = session.get(AuthThrottle, (scope, key))
    if row is None:
        return
    locked_until = _aware(row.locked_until)
    if locked_until is not None and locked_until > now:
        wait = (locked_until - now).total_seconds()
        raise Throttled(
            f"Quá nhiều lần xác thực sai; tạm khóa, thử lại sau {_wait_message(math.ceil(wait))}.",
            retry_after=wait,
            detail={"scope": scope, "locked": True},
        )
    if _aware(row.window_start) + timedelta(seconds=limits.window_s) <= now:
        return
    ready = _aware(row.last_failure_at) + timedelta(seconds=limits.delay_s(row.failures))
    if ready > now:
        wait = (ready - now).total_seconds()
        raise Throttled(
            f"Quá nhiều lần xác thực sai; thử lại sau {_wait_message(math.ceil(wait))}.",
            retry_after=wait,
            detail={"scope": scope, "locked": False},
        )


@dataclass(frozen=True)
class FailureCount:
    failures: int
    locked_until: datetime | None
    newly_locked: bool


def record_failure(session: Session, scope: str, key: str, limits: Limits, now: datetime | None = None) -> FailureCount:
    """Count one failure (atomically); lock the key when the count reaches ``limits.lock_after``."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=limits.window_s)
    table: Any = AuthThrottle.__table__
    expired = table.c.window_start <= cutoff
    values = {"scope": scope, "key": key, "failures": 1, "window_start": now, "last_failure_at": now}
    updates = {
        "failures": case((expired, 1), else_=table.c.failures + 1),
        "window_start": case((expired, now), else_=table.c.window_start),
        "last_failure_at": now,
    }
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(table).values(**values)
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        stmt = sqlite.insert(table).values(**values)
    else:  # pragma: no cover - the service runs on these two only
        raise RuntimeError(f"throttle needs SQLite or PostgreSQL, got {dialect}")
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.scope, table.c.key], set_=updates).returning(
        table.c.failures, table.c.locked_until
    )
    failures, locked_until = session.execute(stmt).one()
    locked_until = _aware(locked_until)
    newly_locked = False
    if failures >= limits.lock_after and (locked_until is None or locked_until <= now):
        locked_until = now + timedelta(seconds=limits.lock_s)
        row = session.get(AuthThrottle, (scope, key), populate_existing=True)
        assert row is not None
        row.locked_until = locked_until
        newly_locked = True
    session.flush()
    _forget_old(session, now, limits)
    return FailureCount(int(failures), locked_until, newly_locked)


def clear(session: Session, scope: str, key: str) -> None:
    """Forget the failures and any lock of ``key`` (a successful sign-in, an admin's reset)."""
    session.execute(delete(AuthThrottle).where(AuthThrottle.scope == scope, AuthThrottle.key == key))


def state(session: Session, scope: str, key: str) -> AuthThrottle | None:
    return session.get(AuthThrottle, (scope, key), populate_existing=True)


def _forget_old(session: Session, now: datetime, limits: Limits) -> None:
    """Delete rows whose window and lock are both long over, so the table stays small."""
    horizon = now - timedelta(seconds=max(limits.window_s, limits.lock_s) * 2)
    stale = select(AuthThrottle.scope).where(AuthThrottle.last_failure_at < horizon).limit(1)
    if session.execute(stale).first() is not None:
        session.execute(
            delete(AuthThrottle).where(
                AuthThrottle.last_failure_at < horizon,
                (AuthThrottle.locked_until.is_(None)) | (AuthThrottle.locked_until < now),
            )
        )


def _aware(value: datetime | None) -> Any:
    """SQLite gives back naive datetimes (stored as UTC); make them comparable with ``utcnow()``."""
    if value is None or value.tzinfo is not None:
        return value
    from datetime import UTC

    return value.replace(tzinfo=UTC)


# ---- who is calling, and over what ----------------------------------------------------------------


def _trusted(peer: str, settings: AuthSettings) -> bool:
    if not settings.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return peer in settings.trusted_proxies
    for entry in settings.trusted_proxies:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None, settings: AuthSettings) -> str:
    """The client's address: the peer, or behind trusted proxies the nearest untrusted X-Forwarded-For hop."""
    address = peer or "unknown"
    if forwarded_for and _trusted(address, settings):
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            address = hop
            if not _trusted(hop, settings):
                break
    return address[:64]


def is_https(scheme: str, peer: str | None, forwarded_proto: str | None, settings: AuthSettings) -> bool:
    """Whether the browser talks HTTPS: the request scheme, or X-Forwarded-Proto from a trusted proxy."""
    if scheme == "https":
        return True
    if forwarded_proto and peer and _trusted(peer, settings):
        return forwarded_proto.split(",")[0].strip().lower() == "https"
    return False
