"""Social listening: sentiment scoring, post ingestion, trends and alerts, review queue and labels."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import audit
from api.auth import Principal
from api.deps import Analyst, ServicesDep, SessionDep, Viewer
from api.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from api.schemas import ModelRef, NoNulStr, UtcDatetime, body_schema
from api.services import Services
from api.settings import Settings

if TYPE_CHECKING:
    from social_listening.scoring import TextScore
from api.storage.tables import SocialPost
from api.stores import posts as posts_store

router = APIRouter(tags=["social listening"])

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Largest number a post id or an offset may be (the database's 32-bit integers).
MAX_ID = 2**31 - 1
MAX_OFFSET = MAX_ID
Label = Literal["negative", "neutral", "positive"]


class SentimentIn(BaseModel):
    texts: list[Any] = Field(description="strings to score (validated one by one; errors name the item)")


class SentimentResult(BaseModel):
    label: Literal["negative", "neutral", "positive"]
    scores: dict[str, float]
    topics: list[str]


class SentimentOut(BaseModel):
    model: ModelRef
    results: list[SentimentResult]


class IngestedPost(BaseModel):
    id: str
    source: str
    duplicate: bool
    label: Label | None = None
    topics: list[str] = Field(default_factory=list)


class IngestOut(BaseModel):
    model: ModelRef
    inserted: int
    duplicates: int
    posts: list[IngestedPost]


class PostOut(BaseModel):
    post_id: int = Field(description="the service's number of the post")
    id: str = Field(description="the id the center gave the post")
    source: str
    text: str
    created_at: datetime
    district: str | None
    url: str | None
    label: Label = Field(description="the analysts' label when given, else the model's")
    model_label: Label
    human_label: Label | None
    scores: dict[str, float]
    topics: list[str]
    model_version: str
    margin: float | None = Field(None, description="review queue only: gap between the two best scores")


class LabelOut(BaseModel):
    id: int
    post_id: int | None
    label: Label
    text: str


class PostIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: NoNulStr = Field(min_length=1, max_length=200)
    text: Any
    source: NoNulStr = Field(min_length=1, max_length=64, description="facebook, zalo, news, forum, ...")
    created_at: UtcDatetime
    district: NoNulStr | None = Field(None, max_length=120)
    url: NoNulStr | None = Field(None, max_length=2000)


class PostsIn(BaseModel):
    posts: list[PostIn] = Field(min_length=1)


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: int | None = Field(None, ge=1, le=MAX_ID, description="a stored post's number (its text is used)")
    id: NoNulStr | None = Field(None, min_length=1, max_length=200, description="or the id the center gave the post")
    source: NoNulStr | None = Field(
        None, min_length=1, max_length=64, description="the source of that id, if ambiguous"
    )
    text: NoNulStr | None = Field(None, max_length=20_000, description="or a text that is not stored")
    label: Literal["negative", "neutral", "positive"]


def _score(services: Services, texts: list[str]) -> tuple[str, list[TextScore]]:
    from social_listening.scoring import score_texts

    served = services.champions.get("sentiment")
    return served.version, score_texts(served.model.classifier, texts)


def _result(score: TextScore) -> SentimentResult:
    return SentimentResult(label=score.label, scores=score.scores, topics=list(score.topics))


def _validate(services: Services, texts: list[Any]) -> list[str]:
    from social_listening import validate_texts

    cfg = services.settings.social
    if len(texts) > cfg.max_batch:
        raise PayloadTooLarge(
            f"at most {cfg.max_batch} texts per request; got {len(texts)}", detail={"limit": cfg.max_batch}
        )
    return validate_texts(texts, max_chars=cfg.max_text_chars)


@router.post("/v1/sentiment", response_model=SentimentOut)
def sentiment(body: SentimentIn, services: ServicesDep, _: Viewer) -> SentimentOut:
    """Score texts (negative / neutral / positive with calibrated probabilities) and tag their topics."""
    if not body.texts:
        raise InvalidInput("texts must hold at least one text", code="validation_error")
    texts = _validate(services, body.texts)
    version, scores = _score(services, texts)
    return SentimentOut(model=ModelRef(name="sentiment", version=version), results=[_result(x) for x in scores])


def _posts_from_file(data: bytes, filename: str, settings: Settings) -> list[dict[str, Any]]:
    """The rows of a posts file; a workbook is vetted first (zip bomb, rows and cells within the intake caps
    and one row per post at most ``IOC_SOCIAL__MAX_POSTS`` plus the header) without inflating it."""
    if not data.strip():
        raise InvalidInput("the posts file is empty: expected columns id,text,source,created_at", code="empty_file")
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm"))
    if is_xlsx and not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput(
            "the posts file is named .xlsx but is not an Excel workbook (not a zip archive); "
            "save it again as .xlsx, or send it as CSV",
            code="unreadable_file",
        )
    if not is_xlsx and b"\x00" in data:
        raise InvalidInput("the posts file holds NUL characters; save it as UTF-8 CSV", code="nul_character")
    if is_xlsx:
        from forecasting.intake import IntakeLimits
        from forecasting.intake.grid import open_workbook

        cfg = settings.intake
        rows = min(cfg.max_rows, settings.social.max_posts + 1)
        limits = IntakeLimits(
            max_bytes=cfg.max_bytes,
            max_rows=rows,
            max_cells=cfg.max_cells,
            max_xlsx_uncompressed=cfg.max_uncompressed_bytes,
        )
        open_workbook(data, limits)
    try:
        if is_xlsx:
            frame = pd.read_excel(io.BytesIO(data), dtype=str)
        else:
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, KeyError, zipfile.BadZipFile) as e:
        # openpyxl raises KeyError for a zip without a workbook part
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
    response_model=IngestOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": body_schema(PostsIn)},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            }
        }
    },
)
async def ingest_posts(request: Request, services: ServicesDep, who: Analyst) -> IngestOut:
    """Score, tag and store posts (JSON, or a CSV/XLSX file with columns id,text,source,created_at
    [,district,url]). All or nothing; posts already stored (same source and id) are ignored."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("multipart upload needs a 'file' field", code="validation_error")
        data, name = await upload.read(), upload.filename or ""
        raw_posts = await run_in_threadpool(_posts_from_file, data, name, services.settings)
    elif ctype == "application/json":
        try:
            payload = await request.json()
        except ValueError as e:
            raise InvalidInput(f"malformed JSON: {e}", code="validation_error") from e
        if not isinstance(payload, dict) or not isinstance(payload.get("posts"), list):
            raise InvalidInput('expected {"posts": [...]}', code="validation_error")
        raw_posts = payload["posts"]
    else:
        raise UnsupportedMediaType(
            f"unsupported content type {ctype or 'none'!r}: send JSON or a multipart 'file'",
        )
    cap = services.settings.social.max_posts
    if len(raw_posts) > cap:
        raise PayloadTooLarge(
            f"at most {cap} posts per request (IOC_SOCIAL__MAX_POSTS); got {len(raw_posts)}",
            detail={"posts": len(raw_posts), "limit": cap},
        )
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


def _store_posts(services: Services, posts: list[PostIn], who: Principal) -> IngestOut:
    from social_listening import TextError, validate_text

    texts = []
    for i, p in enumerate(posts):
        try:
            texts.append(validate_text(p.text, max_chars=services.settings.social.max_text_chars))
        except TextError as e:  # name the post by its position and its id, not as a bare text
            raise InvalidInput(f"posts[{i}] ({p.id}): {e}", code=e.code, detail={"index": i, "id": p.id}) from e
    keys = [(p.source, p.id) for p in posts]
    if len(set(keys)) != len(keys):
        seen: set[tuple[str, str]] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise InvalidInput(f"post {dup[1]!r} of {dup[0]!r} appears twice in the request", code="duplicate_in_request")
    version, scores = _score(services, texts)
    inserted, duplicates, out = 0, 0, []
    with services.db.transaction() as s:
        existing = posts_store.existing_keys(s, keys)
        for p, text, score in zip(posts, texts, scores, strict=True):
            if (p.source, p.id) in existing:
                duplicates += 1
                out.append(IngestedPost(id=p.id, source=p.source, duplicate=True))
                continue
            posts_store.add_post(
                s,
                external_id=p.id,
                source=p.source,
                text=text,
                created_at=p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=LOCAL_TZ),
                district=p.district,
                url=p.url,
                score=score,
                model_version=version,
            )
            inserted += 1
            out.append(
                IngestedPost(id=p.id, source=p.source, duplicate=False, label=score.label, topics=list(score.topics))
            )
        audit.record(
            s,
            who,
            "social.ingest",
            "social_posts",
            f"{inserted} posts",
            {"inserted": inserted, "duplicates": duplicates},
        )
    return IngestOut(
        model=ModelRef(name="sentiment", version=version), inserted=inserted, duplicates=duplicates, posts=out
    )


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


Interval = Literal["hour", "day", "week"]
GroupBy = Literal["topic", "district"]


class EvidenceOut(BaseModel):
    id: str = Field(description="the id the center gave the post")
    source: str
    text: str = Field(description="the post, cut at 280 characters")


class AlertOut(BaseModel):
    bucket: UtcDatetime = Field(description="start of the bucket that spiked (with its UTC offset)")
    end: UtcDatetime
    topic: str | None = Field(description="the topic that drove the spike (its negative count rose most)")
    topic_name: str | None = Field(description="that topic's Vietnamese name")
    group: str | None = Field(description="the group the alert is about (topic or district), None for overall")
    metric: str
    count: int = Field(description="negative posts in the bucket")
    total: int
    value: float
    baseline: float
    z_score: float
    evidence: list[EvidenceOut] = Field(description="the posts that drive the spike, most telling first")


class BucketOut(BaseModel):
    bucket: UtcDatetime
    group: str | None
    total: int
    counts: dict[str, int]
    shares: dict[str, float]


class SummaryOut(BaseModel):
    start: date
    end: date
    interval: str
    group_by: str | None
    topic: str | None
    district: str | None
    total: int
    buckets: list[BucketOut]
    alerts: list[AlertOut]


@router.get("/v1/social/summary", response_model=SummaryOut)
def summary(
    session: SessionDep,
    _: Viewer,
    start: date | None = None,
    end: date | None = None,
    interval: Interval = "day",
    topic: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=120)] = None,
    group_by: GroupBy | None = None,
) -> SummaryOut:
    """Counts and shares per label per bucket (optionally per topic or district), and spike alerts. An
    analyst's label counts in place of the model's."""
    from social_listening import detect_spikes, summarize_trends

    lo, hi = _window(start, end)
    rows = posts_store.window_rows(session, lo, hi, topic, district)
    trend = summarize_trends(rows, interval=interval, group_by=group_by)
    alerts = detect_spikes(rows, interval=interval, group_by=group_by)
    return SummaryOut(
        start=lo.date(),
        end=(hi - timedelta(days=1)).date(),
        interval=interval,
        group_by=group_by,
        topic=topic,
        district=district,
        total=len(rows),
        buckets=[
            BucketOut(
                bucket=b.start,
                group=b.group,
                total=b.total,
                counts=dict(b.counts),
                shares={k: round(v, 4) for k, v in b.shares.items()},
            )
            for b in trend.buckets
        ],
        alerts=[_alert(a, rows, evidence=3) for a in alerts],
    )


def _alert(a: Any, rows: list[dict[str, Any]], evidence: int) -> AlertOut:
    return AlertOut.model_validate(posts_store.alert_view(a, rows, evidence))


@router.get("/v1/social/alerts", response_model=list[AlertOut])
def alerts(
    session: SessionDep,
    _: Viewer,
    start: date | None = None,
    end: date | None = None,
    interval: Interval = "day",
    group_by: GroupBy | None = "topic",
) -> list[AlertOut]:
    """Spikes of negative talk against a rolling median/MAD baseline, with the posts that drive them."""
    lo, hi = _window(start, end)
    found = posts_store.alerts(session, lo, hi, interval=interval, group_by=group_by, evidence=50)
    return [AlertOut.model_validate(a) for a in found]


@router.get("/v1/social/posts", response_model=list[PostOut])
def list_posts(
    session: SessionDep,
    _: Viewer,
    label: Literal["negative", "neutral", "positive"] | None = None,
    topic: Annotated[str | None, Query(max_length=64)] = None,
    district: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[PostOut]:
    """Stored posts, newest first, with their scores and topics; ``label`` is the analysts' when they gave one."""
    rows = posts_store.list_posts(session, label=label, topic=topic, district=district, limit=limit, offset=offset)
    return [_post_out(p) for p in rows]


def _post_out(p: SocialPost, margin: float | None = None) -> PostOut:
    return PostOut(
        post_id=p.id,
        id=p.external_id,
        source=p.source,
        text=p.text,
        created_at=posts_store.as_utc(p.created_at),
        district=p.district,
        url=p.url,
        label=posts_store.effective_label(p),
        model_label=p.label,
        human_label=p.human_label,
        scores={"negative": p.score_negative, "neutral": p.score_neutral, "positive": p.score_positive},
        topics=list(p.topics or []),
        model_version=p.model_version,
        margin=margin,
    )


@router.get("/v1/social/review", response_model=list[PostOut])
def review(session: SessionDep, _: Analyst, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[PostOut]:
    """Stored posts the model is least sure of (smallest margin between its two best labels), not yet labelled."""
    return [_post_out(p, round(m, 4)) for p, m in posts_store.review_queue(session, limit)]


@router.post("/v1/social/labels", status_code=201, response_model=LabelOut)
def add_label(body: LabelIn, services: ServicesDep, who: Analyst) -> LabelOut:
    """Store an analyst's label for a stored post (by ``post_id``, or by the center's ``id`` and ``source``) or a
    free text. On a post it replaces the model's label in posts, summaries and alerts at once; the next
    `sentiment` training uses it."""
    from social_listening import validate_text

    given = [body.post_id is not None, body.id is not None, body.text is not None]
    if sum(given) != 1:
        raise InvalidInput("give exactly one of 'post_id', 'id' (with 'source') or 'text'", code="validation_error")
    with services.db.transaction() as s:
        post = None
        if body.text is None:
            post = posts_store.find_post(s, post_id=body.post_id, external_id=body.id, source=body.source)
            text = post.text
        else:
            text = validate_text(body.text, max_chars=services.settings.social.max_text_chars)
        row = posts_store.add_label(s, post=post, text=text, label=body.label, analyst=who.name)
        audit.record(
            s,
            who,
            "social.label",
            "social_label",
            str(row.id),
            {"post_id": post.id if post else None, "label": body.label},
        )
        return LabelOut(id=row.id, post_id=post.id if post else None, label=body.label, text=text)
