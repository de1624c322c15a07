"""The service's tables. Change them only together with a new Alembic revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    actor_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    #: who acted, as :attr:`api.auth.Principal.subject` ("user:<id>", "key:<id>", "system"); ``actor`` is the
    #: display name at the time
    actor_subject: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class HealthProbe(Base):
    """One row the readiness check rewrites to prove the database takes writes."""

    __tablename__ = "health_probe"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


#: Statuses in which a job holds its exclusive key and counts towards its owner's queue.
ACTIVE_JOB = text("status IN ('queued', 'running')")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "ix_jobs_active_exclusive_key",
            "exclusive_key",
            unique=True,
            sqlite_where=ACTIVE_JOB,
            postgresql_where=ACTIVE_JOB,
        ),
        Index("ix_jobs_owner_status", "owner", "status"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: the subject (``"user:<id>"``, ``"key:<id>"``) of who started the job; it and admins may read it
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker: Mapped[str | None] = mapped_column(String(120), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    #: at most one queued or running job holds each key (``"train:forecasting"``: one training per model)
    exclusive_key: Mapped[str | None] = mapped_column(String(120), default=None)


class Indicator(Base):
    __tablename__ = "indicators"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(64), default="")
    frequency: Mapped[str] = mapped_column(String(1))
    kind: Mapped[str] = mapped_column(String(8), default="stock")  # "flow" accumulates over the year
    source: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    targets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    forecast_from: Mapped[str | None] = mapped_column(String(16), default=None)  # regime change before it
    #: the office that reports it ("Sở Tài chính", ...)
    department: Mapped[str] = mapped_column(String(300), default="", server_default="")
    #: values are never negative (flows and levels such as đồng, lượt, tấn): forecasts are censored at zero
    nonnegative: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    #: the codes whose sum this indicator is (sectors, former provinces, communes); None for a leaf
    components: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Observation(Base):
    """Every value ever stored; the newest revision of a period is the current one."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("indicator_code", "period", "revision", name="uq_observation_revision"),
        Index("ix_observations_current", "indicator_code", "is_current"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(120), default="")
    note: Mapped[str] = mapped_column(String(300), default="")


class ForecastCache(Base):
    __tablename__ = "forecast_cache"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    indicator_code: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Anomaly(Base):
    __tablename__ = "anomalies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator_code: Mapped[str] = mapped_column(ForeignKey("indicators.code", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    lower_95: Mapped[float] = mapped_column(Float)
    upper_95: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(32), default="")
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, acknowledged, closed
    reviewed_by: Mapped[str | None] = mapped_column(String(120), default=None)  # a Principal.subject
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


class Transcription(Base):
    __tablename__ = "transcriptions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)  # display name at upload
    owner_key_id: Mapped[int | None] = mapped_column(Integer, default=None)
    #: who may see it (with admins): :attr:`api.auth.Principal.subject`; NULL for rows no migration could map
    owner_subject: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    filename: Mapped[str] = mapped_column(String(300), default="")
    audio_path: Mapped[str | None] = mapped_column(Text, default=None)
    language: Mapped[str] = mapped_column(String(8), default="vi")
    vocabulary: Mapped[str] = mapped_column(Text, default="")
    speakers: Mapped[int | None] = mapped_column(Integer, default=None)
    job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    model_version: Mapped[str] = mapped_column(String(32), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # lowercased, with and without diacritics
    #: what the secretary entered for the minutes (api.stores.transcripts.MEETING_FIELDS): meeting time, venue,
    #: chair, attendees, conclusions...
    meeting: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: the owner let every signed-in role read it (transcript and downloads, not edits); see transcripts.visible
    shared_with_viewers: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (UniqueConstraint("transcription_id", "idx", name="uq_segment_idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transcription_id: Mapped[str] = mapped_column(ForeignKey("transcriptions.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    speaker: Mapped[str | None] = mapped_column(String(64), default=None)
    text: Mapped[str] = mapped_column(Text)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: word timings ``[{"start", "end", "text", "probability"}]``, so speakers can change inside a segment
    words: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    #: seconds of audio whose text a loop repair removed (the editor marks where to listen)
    dropped_s: Mapped[float | None] = mapped_column(Float, default=0.0)


class SegmentEdit(Base):
    __tablename__ = "segment_edits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("transcript_segments.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(16))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    editor: Mapped[str] = mapped_column(String(120))  # display name at the time
    editor_subject: Mapped[str | None] = mapped_column(String(64), default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SocialPost(Base):
    __tablename__ = "social_posts"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_post_source_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
    district: Mapped[str | None] = mapped_column(String(120), default=None, index=True)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    label: Mapped[str] = mapped_column(String(16), index=True)
    #: an analyst's label; when set it overrides the model's ``label`` in posts, counts and alerts
    human_label: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    score_negative: Mapped[float] = mapped_column(Float)
    score_neutral: Mapped[float] = mapped_column(Float)
    score_positive: Mapped[float] = mapped_column(Float)
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    model_version: Mapped[str] = mapped_column(String(32), default="")
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class SocialLabel(Base):
    __tablename__ = "social_labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("social_posts.id", ondelete="SET NULL"), default=None)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16))
    analyst: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """A person who signs in to the web pages (machines use :class:`ApiKey`)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # NFC, lower case
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(default=None)


class UserSession(Base):
    """A signed-in browser: only the SHA-256 of its random cookie token is stored."""

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # absolute expiry; idle expiry is from last_seen_at
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class AuthThrottle(Base):
    """Failed authentications of one (scope, key) in a fixed window, and a lock; one row per key."""

    __tablename__ = "auth_throttle"
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)  # "account", "address", "key_address"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column()
    last_failure_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class Source(Base):
    """A published file pulled on a schedule: its URL, how to read it, and the state of its pulls."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(16))  # csv, xlsx, json, json-stat
    indicator_code: Mapped[str | None] = mapped_column(String(64), default=None)  # None: matched to the catalogue
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")  # a Principal.subject
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    next_due_at: Mapped[datetime] = mapped_column(index=True)
    claim_seq: Mapped[int] = mapped_column(Integer, default=0)  # compare-and-set of the scheduler's claim
    etag: Mapped[str | None] = mapped_column(String(300), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    last_job_id: Mapped[str | None] = mapped_column(String(32), default=None)
    last_pull_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str | None] = mapped_column(String(16), default=None)  # stored, unchanged, failed
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    frequency: Mapped[str | None] = mapped_column(String(1), default=None)  # of the data last read
    last_period: Mapped[str | None] = mapped_column(String(16), default=None)  # newest period seen
    last_new_data_at: Mapped[datetime | None] = mapped_column(default=None)  # when a new period last arrived
    alert: Mapped[str | None] = mapped_column(String(32), default=None)  # source_failed, source_stale
    alert_since: Mapped[datetime | None] = mapped_column(default=None)
    alert_message: Mapped[str | None] = mapped_column(Text, default=None)
