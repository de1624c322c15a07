"""Social listening: sentiment scoring, post ingestion, trends and alerts, review queue and labels."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import audit
from api.auth import Principal
from api.deps import Analyst, ServicesDep, SessionDep, Viewer
from api.errors import InvalidInput, NotFound, PayloadTooLarge
from api.schemas import ModelRef
from api.services import Services
from api.storage.tables import SocialLabel, SocialPost

router = APIRouter(tags=["social listening"])

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LABELS = ("negative", "neutral", "positive")
MAX_POSTS = 5000


class SentimentIn(BaseModel):
    texts: list[Any] = Field(description="strings to score (validated one by one; errors name the item)")


class SentimentResult(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    scores: dict[str, float]
    topics: list[str]


class SentimentOut(BaseModel):
    model: ModelRef
    results: list[SentimentResult]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=200)
    text: Any
    source: str = Field(min_length=1, max_length=64, description="facebook, zalo, news, forum, ...")
    created_at: datetime
    district: str | None = Field(None, max_length=120)
    url: str | None = Field(None, max_length=2000)


class PostsIn(BaseModel):
    posts: list[PostIn] = Field(min_length=1)


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: int | None = Field(None, description="a stored post (its text is used)")
    text: str | None = Field(None, max_length=20_000, description="or a text that is not stored")
    label: Literal["negative", "neutral", "positive"]


def _score(services: Services, texts: list[str]) -> tuple[str, list[SentimentResult]]:
    from social_listening import tag_topics

    served = services.champions.get("sentiment")
    proba = served.model.classifier.predict_proba(texts)
    classes = list(served.model.classifier.classes_)
    results = []
    for text, row in zip(texts, proba, strict=True):
        scores = {c: round(float(p), 6) for c, p in zip(classes, row, strict=True)}
        results.append(
            SentimentResult(label=max(scores, key=scores.__getitem__), scores=scores, topics=list(tag_topics(text)))
        )
    return served.version, results


def _validate(services: Services, texts: list[Any]) -> list[str]:
    from social_listening import TextError, validate_texts

    cfg = services.settings.social
    if len(texts) > cfg.max_batch:
        raise PayloadTooLarge(
            f"at most {cfg.max_batch} texts per request; got {len(texts)}", detail={"limit": cfg.max_batch}
        )
    try:
        return validate_texts(texts, max_chars=cfg.max_text_chars)
    except TextError as e:
        raise InvalidInput(str(e), code=e.reason, detail={"index": e.index}) from e


@router.post("/v1/sentiment", response_model=SentimentOut)
def sentiment(body: SentimentIn, services: ServicesDep, _: Viewer) -> SentimentOut:
    """Score texts (negative / neutral / positive with calibrated probabilities) and tag their topics."""
    if not body.texts:
        raise InvalidInput("texts must hold at least one text", code="validation_error")
    texts = _validate(services, body.texts)
    version, results = _score(services, texts)
    return SentimentOut(model=ModelRef(name="sentiment", version=version), results=results)


def _posts_from_file(data: bytes, filename: str) -> list[dict[str, Any]]:
    if not data.strip():
        raise InvalidInput("the posts file is empty: expected columns id,text,source,created_at", code="empty_file")
    try:
        if filename.lower().endswith((".xlsx", ".xlsm")):
            frame = pd.read_excel(io.BytesIO(data), dtype=str)
        else:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read the posts file as CSV/XLSX: {e}", code="unreadable_file") from e
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("id", "text", "source", "created_at") if c not in frame.columns]
    if missing:
        raise InvalidInput(
            f"the posts file lacks column(s) {missing}; it has {list(frame.columns)}",
            code="missing_columns",
            detail={"missing": missing},
        )
    frame = frame.replace({"": None})
    return frame.to_dict(orient="records")  # type: ignore[no-any-return]


@router.post(
    "/v1/social/posts",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": PostsIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            }
        }
    },
)
async def ingest_posts(request: Request, services: ServicesDep, who: Analyst) -> dict[str, Any]:
    """Score, tag and store posts (JSON, or a CSV/XLSX file with columns id,text,source,created_at
    [,district,url]). All or nothing; posts already stored (same source and id) are ignored."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("multipart upload needs a 'file' field", code="validation_error")
        raw_posts = _posts_from_file(await upload.read(), upload.filename or "")
    elif ctype == "application/json":
        try:
            payload = await request.json()
        except ValueError as e:
            raise InvalidInput(f"malformed JSON: {e}", code="validation_error") from e
        if not isinstance(payload, dict) or not isinstance(payload.get("posts"), list):
            raise InvalidInput('expected {"posts": [...]}', code="validation_error")
        raw_posts = payload["posts"]
    else:
        raise InvalidInput(
            f"unsupported content type {ctype or 'none'!r}: send JSON or a multipart 'file'",
            code="unsupported_media_type",
        )
    if len(raw_posts) > MAX_POSTS:
        raise PayloadTooLarge(f"at most {MAX_POSTS} posts per request; got {len(raw_posts)}")
    if not raw_posts:
        raise InvalidInput("no posts given", code="validation_error")
    posts = []
    for i, item in enumerate(raw_posts):
        try:
            posts.append(PostIn.model_validate(item))
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"posts[{i}].{where}: {first['msg']}", code="validation_error", detail={"index": i, "field": where}
            ) from e
    return await run_in_threadpool(_store_posts, services, posts, who)


def _store_posts(services: Services, posts: list[PostIn], who: Principal) -> dict[str, Any]:
    from social_listening import TextError, validate_text

    texts = []
    for i, p in enumerate(posts):
        try:
            texts.append(validate_text(p.text, index=i, max_chars=services.settings.social.max_text_chars))
        except TextError as e:
            raise InvalidInput(f"posts[{i}] ({p.id}): {e}", code=e.reason, detail={"index": i, "id": p.id}) from e
    keys = [(p.source, p.id) for p in posts]
    if len(set(keys)) != len(keys):
        seen: set[tuple[str, str]] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise InvalidInput(f"post {dup[1]!r} of {dup[0]!r} appears twice in the request", code="duplicate_in_request")
    version, results = _score(services, texts)
    inserted, duplicates, out = 0, 0, []
    with services.db.transaction() as s:
        existing = {
            (src, eid)
            for src, eid in s.execute(
                select(SocialPost.source, SocialPost.external_id).where(
                    SocialPost.external_id.in_([p.id for p in posts])
                )
            )
        }
        for p, text, r in zip(posts, texts, results, strict=True):
            if (p.source, p.id) in existing:
                duplicates += 1
                out.append({"id": p.id, "source": p.source, "duplicate": True})
                continue
            at = p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=LOCAL_TZ)
            s.add(
                SocialPost(
                    external_id=p.id,
                    source=p.source,
                    text=text,
                    created_at=at.astimezone(UTC),
                    district=p.district,
                    url=p.url,
                    label=r.label,
                    score_negative=r.scores["negative"],
                    score_neutral=r.scores["neutral"],
                    score_positive=r.scores["positive"],
                    topics=r.topics,
                    model_version=version,
                )
            )
            inserted += 1
            out.append({"id": p.id, "source": p.source, "duplicate": False, "label": r.label, "topics": r.topics})
        audit.record(
            s,
            who,
            "social.ingest",
            "social_posts",
            f"{inserted} posts",
            {"inserted": inserted, "duplicates": duplicates},
        )
    return {
        "model": {"name": "sentiment", "version": version},
        "inserted": inserted,
        "duplicates": duplicates,
        "posts": out,
    }


def _window(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    end_day = end or datetime.now(LOCAL_TZ).date()
    start_day = start or end_day - timedelta(days=29)
    if start_day > end_day:
        raise InvalidInput(f"start {start_day} is after end {end_day}", code="validation_error")
    if (end_day - start_day).days > 3 * 366:
        raise InvalidInput("the window is limited to 3 years", code="validation_error")
    return (
        datetime.combine(start_day, time.min, LOCAL_TZ),
        datetime.combine(end_day + timedelta(days=1), time.min, LOCAL_TZ),
    )


def _posts(
    session: Session, lo: datetime, hi: datetime, topic: str | None, district: str | None
) -> list[dict[str, Any]]:
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
        at = p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=UTC)
        rows.append(
            {
                "id": str(p.id),
                "created_at": at,
                "label": p.label,
                "topics": topics,
                "district": p.district,
                "text": p.text,
                "source": p.source,
                "external_id": p.external_id,
            }
        )
    return rows


Interval = Literal["hour", "day", "week"]
GroupBy = Literal["topic", "district"]


@router.get("/v1/social/summary")
def summary(
    session: SessionDep,
    _: Viewer,
    start: date | None = None,
    end: date | None = None,
    interval: Interval = "day",
    topic: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=120)] = None,
    group_by: GroupBy | None = None,
) -> dict[str, Any]:
    """Counts and shares per label per bucket (optionally per topic or district), and spike alerts."""
    from social_listening import detect_spikes, summarize_trends

    lo, hi = _window(start, end)
    rows = _posts(session, lo, hi, topic, district)
    trend = summarize_trends(rows, interval=interval, group_by=group_by)
    alerts = detect_spikes(rows, interval=interval, group_by=group_by)
    return {
        "start": lo.date().isoformat(),
        "end": (hi - timedelta(days=1)).date().isoformat(),
        "interval": interval,
        "group_by": group_by,
        "topic": topic,
        "district": district,
        "total": len(rows),
        "buckets": [
            {
                "bucket": b.start.isoformat(),
                "group": b.group,
                "total": b.total,
                "counts": dict(b.counts),
                "shares": {k: round(v, 4) for k, v in b.shares.items()},
            }
            for b in trend.buckets
        ],
        "alerts": [_alert(a, rows, evidence=3) for a in alerts],
    }


def _alert(a: Any, rows: list[dict[str, Any]], evidence: int) -> dict[str, Any]:
    by_id = {r["id"]: r for r in rows}
    posts = [by_id[i] for i in a.post_ids[:evidence] if i in by_id]
    return {
        "bucket": a.start.isoformat(),
        "end": a.end.isoformat(),
        "topic": a.group,
        "metric": a.metric,
        "count": a.negative,
        "total": a.total,
        "value": a.value,
        "baseline": a.baseline,
        "z_score": round(a.z_score, 2),
        "evidence": [{"id": p["external_id"], "source": p["source"], "text": p["text"][:280]} for p in posts],
    }


@router.get("/v1/social/alerts")
def alerts(
    session: SessionDep,
    _: Viewer,
    start: date | None = None,
    end: date | None = None,
    interval: Interval = "day",
    group_by: GroupBy | None = "topic",
) -> list[dict[str, Any]]:
    """Spikes of negative talk against a rolling median/MAD baseline, with the posts as evidence."""
    from social_listening import detect_spikes

    lo, hi = _window(start, end)
    rows = _posts(session, lo, hi, None, None)
    return [_alert(a, rows, evidence=50) for a in detect_spikes(rows, interval=interval, group_by=group_by)]


@router.get("/v1/social/posts")
def list_posts(
    session: SessionDep,
    _: Viewer,
    label: Literal["negative", "neutral", "positive"] | None = None,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Stored posts, newest first, with their scores and topics."""
    stmt = select(SocialPost).order_by(SocialPost.created_at.desc(), SocialPost.id.desc())
    if label:
        stmt = stmt.where(SocialPost.label == label)
    if district:
        stmt = stmt.where(SocialPost.district == district)
    out = []
    for p in session.scalars(stmt.limit(limit * (4 if topic else 1)).offset(offset)):
        if topic and topic not in (p.topics or []):
            continue
        out.append(_post_out(p))
    return out[:limit]


def _post_out(p: SocialPost) -> dict[str, Any]:
    return {
        "post_id": p.id,
        "id": p.external_id,
        "source": p.source,
        "text": p.text,
        "created_at": p.created_at.isoformat(),
        "district": p.district,
        "url": p.url,
        "label": p.label,
        "scores": {"negative": p.score_negative, "neutral": p.score_neutral, "positive": p.score_positive},
        "topics": p.topics,
        "model_version": p.model_version,
    }


@router.get("/v1/social/review")
def review(session: SessionDep, _: Analyst, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict[str, Any]]:
    """Stored posts the model is least sure of (smallest margin between its two best labels), not yet labelled."""
    labelled = select(SocialLabel.post_id).where(SocialLabel.post_id.is_not(None))
    candidates = session.scalars(
        select(SocialPost).where(SocialPost.id.not_in(labelled)).order_by(SocialPost.created_at.desc()).limit(5000)
    ).all()

    def margin(p: SocialPost) -> float:
        top = sorted((p.score_negative, p.score_neutral, p.score_positive), reverse=True)
        return top[0] - top[1]

    return [_post_out(p) | {"margin": round(margin(p), 4)} for p in sorted(candidates, key=margin)[:limit]]


@router.post("/v1/social/labels", status_code=201)
def add_label(body: LabelIn, services: ServicesDep, who: Analyst) -> dict[str, Any]:
    """Store an analyst's label for a stored post or a free text; the next `sentiment` training uses it."""
    from social_listening import TextError, validate_text

    if (body.post_id is None) == (body.text is None):
        raise InvalidInput("give exactly one of 'post_id' or 'text'", code="validation_error")
    with services.db.transaction() as s:
        if body.post_id is not None:
            post = s.get(SocialPost, body.post_id)
            if post is None:
                raise NotFound(f"post {body.post_id} not found")
            text = post.text
        else:
            try:
                text = validate_text(body.text, max_chars=services.settings.social.max_text_chars)
            except TextError as e:
                raise InvalidInput(str(e), code=e.reason) from e
        row = SocialLabel(post_id=body.post_id, text=text, label=body.label, analyst=who.name)
        s.add(row)
        s.flush()
        audit.record(
            s, who, "social.label", "social_label", str(row.id), {"post_id": body.post_id, "label": body.label}
        )
        return {"id": row.id, "post_id": body.post_id, "label": body.label, "text": text}
