"""Audit log: every write records who did what to which object, when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.storage.tables import AuditEntry


def record(
    session: Session,
    who: Principal,
    action: str,
    object_type: str,
    object_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the caller's transaction, so it lands together with the write or not at all."""
    session.add(
        AuditEntry(
            actor=who.name,
            actor_key_id=who.key_id,
            actor_subject=who.subject,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            detail=detail,
        )
    )


#: Most audit entries one page of the log returns.
MAX_PAGE = 1000


def entries(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Audit entries, newest first. ``action`` is exact, or a prefix when it ends with ``.`` (``"user."``: every
    change of a user); ``actor`` matches the display name or the subject (``"user:3"``), case-insensitive, as a
    substring; ``since`` (inclusive) and ``until`` (exclusive) bound the time (aware datetimes)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        if action.endswith("."):
            stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if actor and actor.strip():
        needle = actor.strip()
        stmt = stmt.where(or_(AuditEntry.actor.icontains(needle, autoescape=True), AuditEntry.actor_subject == needle))
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since.astimezone(UTC))
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until.astimezone(UTC))
    return list(session.scalars(stmt.limit(min(limit, MAX_PAGE)).offset(offset)))
