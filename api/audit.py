"""Audit log: every write records who did what to which object, when."""

from __future__ import annotations

from typing import Any

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
