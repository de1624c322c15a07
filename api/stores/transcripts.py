"""Transcriptions and their segments in the database, and the row <-> :class:`speech.Segment` mapping.

Segments keep their word timings (``words``), so speaker labelling can split a segment where the speaker
changes, in the service as in ``ioc transcribe``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import Forbidden, NotFound
from api.storage.tables import Job, SegmentEdit, Transcription, TranscriptSegment
from api.text_search import query_key, search_key

if TYPE_CHECKING:
    from speech import Segment, Transcript
    from speech.minutes import MeetingInfo


def segment_row(transcription_id: str, idx: int, seg: Segment) -> TranscriptSegment:
    """The row that stores ``seg`` as segment ``idx`` of a transcription (words included)."""
    data = seg.to_dict()
    return TranscriptSegment(
        transcription_id=transcription_id,
        idx=idx,
        start=seg.start,
        end=seg.end,
        speaker=seg.speaker,
        text=seg.text,
        flags=list(seg.flags),
        words=data["words"],
        dropped_s=seg.dropped_s,
    )


def to_segment(row: TranscriptSegment) -> Segment:
    """The library value of a stored segment (inverse of :func:`segment_row`)."""
    from speech import Segment

    return Segment.from_dict(
        {
            "start": row.start,
            "end": row.end,
            "text": row.text,
            "speaker": row.speaker,
            "flags": row.flags or [],
            "words": row.words or [],
            "dropped_s": row.dropped_s or 0.0,
        }
    )


def create(
    session: Session,
    *,
    transcription_id: str,
    owner: Principal,
    audio_path: Path,
    filename: str,
    title: str,
    language: str,
    vocabulary: str,
    speakers: int | None,
    job_id: str,
    duration_s: float,
    meeting: dict[str, Any] | None = None,
) -> Transcription:
    """A new transcription of an upload, owned by ``owner``; its segments come from the job ``job_id``;
    ``meeting`` holds the details entered for the minutes (see :data:`MEETING_FIELDS`)."""
    row = Transcription(
        id=transcription_id,
        owner=owner.name,
        owner_key_id=owner.key_id,
        owner_subject=owner.subject,
        title=title or Path(filename).stem,
        filename=filename[:300],
        audio_path=str(audio_path),
        language=language,
        vocabulary=vocabulary,
        speakers=speakers,
        job_id=job_id,
        duration_s=duration_s,
    )
    if meeting:
        set_meeting(row, meeting)
    session.add(row)
    return row


#: The meeting details a secretary may enter, as stored in ``Transcription.meeting`` (times as ISO strings with
#: their offset, lists of names as lists).
MEETING_FIELDS = (
    "organisation",
    "number",
    "meeting_at",
    "ended_at",
    "venue",
    "chair",
    "secretary",
    "attendees",
    "absent",
    "agenda",
    "conclusions",
)


def set_meeting(row: Transcription, details: dict[str, Any]) -> dict[str, Any]:
    """Merge ``details`` (a subset of :data:`MEETING_FIELDS`; ``None`` clears a field) into the row's meeting
    details; returns them."""
    meeting = dict(row.meeting or {})
    for key, value in details.items():
        if key not in MEETING_FIELDS:
            raise ValueError(f"unknown meeting detail {key!r}; expected some of {MEETING_FIELDS}")
        if value is None or value == "" or value == []:
            meeting.pop(key, None)
        else:
            meeting[key] = value
    row.meeting = meeting or None
    return meeting


def meeting_info(row: Transcription, place_name: str | None = None) -> MeetingInfo:
    """The minutes' header of a stored transcription (:class:`speech.minutes.MeetingInfo`)."""
    from datetime import datetime

    from speech.minutes import MeetingInfo

    m = dict(row.meeting or {})

    def when(key: str) -> datetime | None:
        return datetime.fromisoformat(m[key]) if m.get(key) else None

    return MeetingInfo(
        title=row.title or None,
        organisation=m.get("organisation"),
        number=m.get("number"),
        place_name=place_name,
        start=when("meeting_at"),
        end=when("ended_at"),
        venue=m.get("venue"),
        chair=m.get("chair"),
        secretary=m.get("secretary") or row.owner or None,
        attendees=tuple(m.get("attendees") or ()),
        absent=tuple(m.get("absent") or ()),
        agenda=m.get("agenda"),
        conclusions=m.get("conclusions"),
    )


def get(session: Session, transcription_id: str) -> Transcription | None:
    return session.get(Transcription, transcription_id)


def visible(session: Session, who: Principal, transcription_id: str) -> Transcription:
    """The transcription if ``who`` may read it: its owner (by subject), an admin, or anyone signed in when the
    owner shared it with viewers; 404 otherwise, so that ids of others' meetings are not revealed. Display names
    are not identities: two keys may share one."""
    row = session.get(Transcription, transcription_id)
    if row is None or not (may_edit(who, row) or row.shared_with_viewers):
        raise NotFound(f"Không tìm thấy cuộc họp {transcription_id!r}, hoặc bạn không được xem.")
    return row


def may_edit(who: Principal, row: Transcription) -> bool:
    """Only the owner and admins change a transcription (details, segments, sharing) or delete it."""
    return who.is_admin or (row.owner_subject is not None and row.owner_subject == who.subject)


def editable(session: Session, who: Principal, transcription_id: str) -> Transcription:
    """The transcription if ``who`` may change it; 404 when they may not even read it (:func:`visible`), 403
    when they read it only because it is shared."""
    row = visible(session, who, transcription_id)
    if not may_edit(who, row):
        raise Forbidden(
            "Biên bản này được chia sẻ để đọc; chỉ người tải lên hoặc quản trị viên được sửa.", code="read_only"
        )
    return row


def segment_rows(session: Session, transcription_id: str) -> list[TranscriptSegment]:
    stmt = select(TranscriptSegment).where(TranscriptSegment.transcription_id == transcription_id)
    return list(session.scalars(stmt.order_by(TranscriptSegment.idx)))


def segments(session: Session, transcription_id: str) -> list[Segment]:
    return [to_segment(r) for r in segment_rows(session, transcription_id)]


def segment_row_at(session: Session, transcription_id: str, idx: int) -> TranscriptSegment:
    row = session.scalar(
        select(TranscriptSegment).where(
            TranscriptSegment.transcription_id == transcription_id, TranscriptSegment.idx == idx
        )
    )
    if row is None:
        raise NotFound(f"segment {idx} of transcription {transcription_id!r} not found")
    return row


@dataclass(frozen=True)
class ResumePoint:
    """Where a new attempt of a transcription job continues: after ``start_s`` seconds, at segment ``next_idx``."""

    start_s: float
    next_idx: int


def resume_point(session: Session, transcription_id: str) -> ResumePoint:
    where = TranscriptSegment.transcription_id == transcription_id
    end = session.scalar(select(func.max(TranscriptSegment.end)).where(where))
    count = session.scalar(select(func.count()).where(where))
    return ResumePoint(float(end or 0.0), int(count or 0))


def append_segment(session: Session, transcription_id: str, idx: int, seg: Segment) -> None:
    session.add(segment_row(transcription_id, idx, seg))


def replace_segments(session: Session, row: Transcription, segs: Sequence[Segment], model_version: str) -> None:
    """Store the final segments of a transcription in place of the partial ones, with its text."""
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.transcription_id == row.id))
    for i, seg in enumerate(segs):
        session.add(segment_row(row.id, i, seg))
    _set_text(row, (seg.text for seg in segs))
    row.model_version = model_version
    row.duration_s = row.duration_s or max((seg.end for seg in segs), default=0.0)


def _set_text(row: Transcription, texts: Iterable[str]) -> None:
    row.text = " ".join(t for t in texts if t)
    row.search_text = search_key(row.text)


def job_of(session: Session, row: Transcription) -> Job | None:
    return session.get(Job, row.job_id) if row.job_id else None


def job_state(session: Session, row: Transcription) -> dict[str, Any]:
    """Status, progress and error of a transcription, from its job (a missing job reads as failed)."""
    job = job_of(session, row)
    if job is None:
        return {"status": "failed", "progress": 0.0, "error": "job record missing", "message": None}
    return {"status": job.status, "progress": job.progress, "error": job.error, "message": job.message}


def search(session: Session, who: Principal, q: str | None, limit: int, offset: int) -> list[Transcription]:
    """The transcriptions ``who`` may read (:func:`visible`: their own and those shared with viewers; everyone's
    for admins), newest first; ``q`` matches titles and text, with or without diacritics."""
    stmt = select(Transcription).order_by(Transcription.created_at.desc())
    if not who.is_admin:
        stmt = stmt.where(or_(Transcription.owner_subject == who.subject, Transcription.shared_with_viewers.is_(True)))
    if q and q.strip():
        key = f"%{query_key(q)}%"
        stmt = stmt.where(or_(Transcription.search_text.like(key), Transcription.title.ilike(f"%{q.strip()}%")))
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def edit_segment(
    session: Session, row: Transcription, idx: int, changes: dict[str, str | None], editor: Principal
) -> tuple[TranscriptSegment, dict[str, dict[str, str | None]]]:
    """Apply ``{"text"|"speaker": new}`` to segment ``idx``, keeping every change in its history (who: the
    editor's subject, and its name for display).

    Returns the segment and what changed (``{field: {"old", "new"}}``)."""
    seg = segment_row_at(session, row.id, idx)
    changed: dict[str, dict[str, str | None]] = {}
    for field, value in changes.items():
        if value is None:
            continue
        new = unicodedata.normalize("NFC", value).strip()
        old = getattr(seg, field)
        if new != old:
            session.add(
                SegmentEdit(
                    segment_id=seg.id,
                    field=field,
                    old=old,
                    new=new,
                    editor=editor.name,
                    editor_subject=editor.subject,
                )
            )
            setattr(seg, field, new)
            changed[field] = {"old": old, "new": new}
    if changed:
        session.flush()
        _set_text(row, (r.text for r in segment_rows(session, row.id)))
    return seg, changed


def history(session: Session, row: Transcription, idx: int) -> list[SegmentEdit]:
    seg = segment_row_at(session, row.id, idx)
    return list(session.scalars(select(SegmentEdit).where(SegmentEdit.segment_id == seg.id).order_by(SegmentEdit.id)))


def delete_transcription(session: Session, row: Transcription) -> int:
    """Delete a transcription and its segments; returns how many segments it had."""
    n = len(session.scalars(select(TranscriptSegment.id).where(TranscriptSegment.transcription_id == row.id)).all())
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.transcription_id == row.id))
    session.delete(row)
    return n


def transcript(session: Session, row: Transcription) -> Transcript:
    """The stored transcription as a library :class:`speech.Transcript` (for exports)."""
    from speech import Transcript

    segs = segments(session, row.id)
    return Transcript(
        title=row.title,
        created_at=row.created_at,
        duration_s=row.duration_s or (segs[-1].end if segs else 0.0),
        segments=tuple(segs),
        language=row.language,
    )
