"""Social posts and analysts' labels in the database.

A post keeps the model's label and scores as scored at ingestion, and the analysts' label when one was
given (``human_label``); :func:`effective_label` is what counts everywhere (posts, summaries, alerts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.storage.tables import SocialLabel, SocialPost

if TYPE_CHECKING:
    from social_listening.scoring import TextScore


def effective_label(post: SocialPost) -> str:
    """The analysts' label when there is one, else the model's."""
    return post.human_label or post.label


def existing_keys(session: Session, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``(source, external id)`` are already stored."""
    ids = [eid for _, eid in keys]
    stmt = select(SocialPost.source, SocialPost.external_id).where(SocialPost.external_id.in_(ids))
    return {(src, eid) for src, eid in session.execute(stmt)}


def add_post(
    session: Session,
    *,
    external_id: str,
    source: str,
    text: str,
    created_at: datetime,
    district: str | None,
    url: str | None,
    score: TextScore,
    model_version: str,
) -> SocialPost:
    """Store a scored post; ``created_at`` must be timezone-aware (stored in UTC)."""
    row = SocialPost(
        external_id=external_id,
        source=source,
        text=text,
        created_at=created_at.astimezone(UTC),
        district=district,
        url=url,
        label=score.label,
        score_negative=score.scores["negative"],
        score_neutral=score.scores["neutral"],
        score_positive=score.scores["positive"],
        topics=list(score.topics),
        model_version=model_version,
    )
    session.add(row)
    return row


def as_utc(at: datetime) -> datetime:
    """Stored times are UTC; SQLite gives them back naive."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def window_rows(
    session: Session, lo: datetime, hi: datetime, topic: str | None, district: str | None
) -> list[dict[str, Any]]:
    """Posts created in [lo, hi) as the trend and alert functions take them: the model's label and the
    analysts' (which the library counts in its place)."""
    stmt = select(SocialPost).where(
        SocialPost.created_at >= lo.astimezone(UTC), SocialPost.created_at < hi.astimezone(UTC)
    )
    if district:
        stmt = stmt.where(SocialPost.district == district)
    rows = []
    for p in session.scalars(stmt.order_by(SocialPost.created_at)):
        topics = list(p.topics or [])
        if topic and topic not in topics:
            continue
        rows.append(
            {
                "id": str(p.id),
                "created_at": as_utc(p.created_at),
                "label": p.label,
                "human_label": p.human_label,
                "score_negative": p.score_negative,
                "topics": topics,
                "district": p.district,
                "text": p.text,
                "source": p.source,
                "external_id": p.external_id,
            }
        )
    return rows


def alert_view(alert: Any, rows: Sequence[dict[str, Any]], evidence: int) -> dict[str, Any]:
    """One :class:`social_listening.Alert` as the API and the pages show it: bucket, topic and its Vietnamese
    name, counts, baseline, z score and the first ``evidence`` posts that drive it (text cut at 280
    characters); ``rows`` are the :func:`window_rows` the alert was found in."""
    from social_listening.topics import topic_name

    by_id = {r["id"]: r for r in rows}
    posts = [by_id[i] for i in alert.post_ids[:evidence] if i in by_id]
    return {
        "bucket": alert.start,
        "end": alert.end,
        "topic": alert.topic,
        "topic_name": topic_name(alert.topic) if alert.topic else None,
        "group": alert.group,
        "metric": alert.metric,
        "count": alert.negative,
        "total": alert.total,
        "value": alert.value,
        "baseline": alert.baseline,
        "z_score": round(alert.z_score, 2),
        "evidence": [{"id": p["external_id"], "source": p["source"], "text": p["text"][:280]} for p in posts],
    }


def alerts(
    session: Session,
    lo: datetime,
    hi: datetime,
    *,
    interval: str = "day",
    group_by: str | None = "topic",
    evidence: int = 50,
) -> list[dict[str, Any]]:
    """Spikes of negative talk among the posts created in [lo, hi), oldest first, each as :func:`alert_view`
    (the same answer as ``GET /v1/social/alerts``)."""
    from social_listening import detect_spikes

    rows = window_rows(session, lo, hi, None, None)
    found = detect_spikes(rows, interval=interval, group_by=group_by)  # type: ignore[arg-type]
    return [alert_view(a, rows, evidence) for a in found]


def _label_filter(stmt: Select[Any], label: str) -> Select[Any]:
    return stmt.where(
        or_(SocialPost.human_label == label, (SocialPost.human_label.is_(None)) & (SocialPost.label == label))
    )


def list_posts(
    session: Session, *, label: str | None, topic: str | None, district: str | None, limit: int, offset: int
) -> list[SocialPost]:
    """Stored posts, newest first, filtered by effective label, topic and district."""
    stmt = select(SocialPost).order_by(SocialPost.created_at.desc(), SocialPost.id.desc())
    if label:
        stmt = _label_filter(stmt, label)
    if district:
        stmt = stmt.where(SocialPost.district == district)
    out = []
    for p in session.scalars(stmt.limit(limit * (4 if topic else 1)).offset(offset)):
        if topic and topic not in (p.topics or []):
            continue
        out.append(p)
    return out[:limit]


def review_queue(session: Session, limit: int) -> list[tuple[SocialPost, float]]:
    """Unlabelled posts the model is least sure of (smallest margin between its two best labels)."""
    candidates = session.scalars(
        select(SocialPost).where(SocialPost.human_label.is_(None)).order_by(SocialPost.created_at.desc()).limit(5000)
    ).all()

    def margin(p: SocialPost) -> float:
        top = sorted((p.score_negative, p.score_neutral, p.score_positive), reverse=True)
        return top[0] - top[1]

    return [(p, margin(p)) for p in sorted(candidates, key=margin)[:limit]]


def find_post(session: Session, *, post_id: int | None, external_id: str | None, source: str | None) -> SocialPost:
    """A stored post by its internal number or by the id the center gave it (and its source, when two
    sources used the same id)."""
    if post_id is not None:
        post = session.get(SocialPost, post_id)
        if post is None:
            raise NotFound(f"post {post_id} not found")
        return post
    stmt = select(SocialPost).where(SocialPost.external_id == external_id)
    if source:
        stmt = stmt.where(SocialPost.source == source)
    found = session.scalars(stmt.limit(2)).all()
    if not found:
        raise NotFound(f"post {external_id!r}" + (f" of {source!r}" if source else "") + " not found")
    if len(found) > 1:
        raise NotFound(f"post id {external_id!r} exists in several sources; give 'source' too")
    return found[0]


def add_label(session: Session, *, post: SocialPost | None, text: str, label: str, analyst: str) -> SocialLabel:
    """Store an analyst's label; on a stored post it overrides the model's label from now on."""
    row = SocialLabel(post_id=post.id if post else None, text=text, label=label, analyst=analyst)
    session.add(row)
    if post is not None:
        post.human_label = label
    session.flush()
    return row


def training_labels(session: Session) -> tuple[list[str], list[str]]:
    """The analysts' labels for training (newest label wins for a text), oldest first."""
    latest: dict[str, str] = {}
    for row in session.scalars(select(SocialLabel).order_by(SocialLabel.id)):
        latest[row.text] = row.label
    return list(latest), list(latest.values())
