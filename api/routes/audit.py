from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import Admin, SessionDep
from api.schemas import UtcDatetime
from api.storage.tables import AuditEntry

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: UtcDatetime
    actor: str
    actor_key_id: int | None
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] | None


@router.get("", response_model=list[AuditOut])
def list_audit(
    session: SessionDep,
    _: Admin,
    action: str | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[AuditOut]:
    """The audit log, newest first (admins only)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    return [AuditOut.model_validate(r) for r in session.scalars(stmt.limit(limit).offset(offset))]
