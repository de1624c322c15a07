"""Anomalies: observations outside the band published for their period, and their review by analysts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import NotFound
from api.storage.tables import Anomaly, utcnow


def list_anomalies(session: Session, indicator: str | None, status: str | None, limit: int) -> list[Anomaly]:
    stmt = select(Anomaly).order_by(Anomaly.detected_at.desc(), Anomaly.id.desc())
    if indicator:
        stmt = stmt.where(Anomaly.indicator_code == indicator)
    if status:
        stmt = stmt.where(Anomaly.status == status)
    return list(session.scalars(stmt.limit(limit)))


def review(session: Session, anomaly_id: int, status: str, note: str | None, who: Principal) -> Anomaly:
    """Set an anomaly's status (open, acknowledged, closed) with a note; keeps who (their identity) and when."""
    row = session.get(Anomaly, anomaly_id)
    if row is None:
        raise NotFound(f"anomaly {anomaly_id} not found")
    row.status = status
    row.note = note
    row.reviewed_by = who.subject
    row.reviewed_at = utcnow()
    session.flush()
    return row
