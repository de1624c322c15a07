from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api import audit
from api.deps import Admin, SessionDep
from api.errors import InvalidInput
from api.schemas import MAX_DB_INT, UtcDatetime

router = APIRouter(prefix="/v1/audit", tags=["audit"])

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


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
    action: Annotated[
        str | None, Query(max_length=64, description='exact action, or a prefix ending in "." (e.g. "user.")')
    ] = None,
    actor: Annotated[
        str | None, Query(max_length=120, description='part of the actor\'s name, or a subject such as "user:3"')
    ] = None,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[date | None, Query(description="first day (Asia/Ho_Chi_Minh), inclusive")] = None,
    end: Annotated[date | None, Query(description="last day (Asia/Ho_Chi_Minh), inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> list[AuditOut]:
    """The audit log, newest first (admins only), filtered by action, actor and days; page with
    ``limit``/``offset`` (ask for one more than you show to know whether a next page exists)."""
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            f"Ngày bắt đầu ({start:%d/%m/%Y}) sau ngày kết thúc ({end:%d/%m/%Y}).", code="validation_error"
        )
    rows = audit.entries(
        session,
        action=action,
        actor=actor,
        object_type=object_type,
        since=datetime.combine(start, time.min, LOCAL_TZ) if start else None,
        until=datetime.combine(end + timedelta(days=1), time.min, LOCAL_TZ) if end and end < date.max else None,
        limit=limit,
        offset=offset,
    )
    return [AuditOut.model_validate(r) for r in rows]
