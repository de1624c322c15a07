"""Meeting transcriptions: upload (202 + job), status with partial segments, exports, edits, delete, search.

Secretaries see the transcriptions they uploaded; admins see all. The owner may share one with viewers
(``shared_with_viewers``): every signed-in role then reads it (transcript, history, downloads), and only the
owner and admins change it. Someone else's unshared id answers 404; a change to a shared one by a reader, 403.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator
from sqlalchemy.orm import Session

from api import audit, jobs
from api.auth import Principal
from api.deps import Secretary, ServicesDep, SessionDep, Viewer
from api.errors import Conflict, InvalidInput
from api.schemas import MAX_DB_INT, NoNulStr, UtcDatetime, refuse_nul
from api.services import Services
from api.storage.tables import Job, Transcription, TranscriptSegment
from api.stores import transcripts
from api.text_search import query_key, search_key
from speech.transcript import REPAIR_FLAGS

router = APIRouter(prefix="/v1/transcriptions", tags=["transcriptions"])

TranscriptionId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="transcription id")]
LANGUAGES = {"vi", "en", "fr", "zh", "km", "lo", "ko", "ja"}


class Accepted(BaseModel):
    id: str
    status: str
    job_id: str
    duration_s: float


class WordOut(BaseModel):
    start: float = Field(description="seconds from the start of the recording")
    end: float
    text: str
    probability: float = Field(description="the model's confidence in the word, 0..1; low ones are worth a listen")


class SegmentOut(BaseModel):
    idx: int
    start: float
    end: float
    speaker: str | None
    text: str
    flags: list[str] = Field(
        description="repetition_repaired / repetition_redecoded / gap_recovered: passages worth a listen"
    )
    repaired: bool = Field(description="text here was repaired or recovered by the decoder (see flags)")
    dropped_s: float = Field(description="seconds of audio whose text a loop repair removed")
    words: list[WordOut] = Field(default_factory=list)


LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Name = Annotated[NoNulStr, Field(min_length=1, max_length=200)]


class MeetingDetails(BaseModel):
    """What the minutes (biên bản) say about the meeting; every field optional. A time given without an offset
    is read as Asia/Ho_Chi_Minh."""

    model_config = ConfigDict(extra="forbid")
    organisation: NoNulStr | None = Field(None, max_length=300, description="issuing body, e.g. 'UBND TỈNH LÂM ĐỒNG'")
    number: NoNulStr | None = Field(None, max_length=60, description="the record's number, e.g. '12/BB-UBND'")
    meeting_at: datetime | None = Field(None, description="when the meeting began")
    ended_at: datetime | None = Field(None, description="when it ended (default: start + recording length)")
    venue: NoNulStr | None = Field(None, max_length=300)
    chair: NoNulStr | None = Field(None, max_length=200, description="who chaired (chủ trì)")
    secretary: NoNulStr | None = Field(None, max_length=200, description="who took the minutes (thư ký)")
    attendees: list[Name] | None = Field(None, max_length=300)
    absent: list[Name] | None = Field(None, max_length=300)
    agenda: NoNulStr | None = Field(None, max_length=5000, description="one item per line")
    conclusions: NoNulStr | None = Field(None, max_length=20000, description="kết luận, one item per line")

    @field_validator("meeting_at", "ended_at")
    @classmethod
    def _local_time(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=LOCAL_TZ) if value is not None and value.tzinfo is None else value

    def stored(self, only_set: bool = True) -> dict[str, Any]:
        """The JSON the transcripts store keeps (times as ISO strings with their offset)."""
        data = self.model_dump(exclude_unset=only_set)
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


class TranscriptionPatch(BaseModel):
    """A change of the title or of the meeting's details (only the fields sent change; null clears one)."""

    model_config = ConfigDict(extra="forbid")
    title: NoNulStr | None = Field(None, min_length=1, max_length=300)
    meeting: MeetingDetails | None = None
    shared_with_viewers: StrictBool | None = Field(
        None, description="let viewers (leaders) and every other role read the transcript and its downloads"
    )


class TranscriptionOut(BaseModel):
    id: str
    title: str
    filename: str
    status: str = Field(description="queued, running, succeeded or failed")
    progress: float
    message: str | None = Field(None, description="what the job is doing, with the time left while decoding")
    duration_s: float | None
    language: str
    speakers: list[str]
    model_version: str
    created_at: UtcDatetime
    meeting: MeetingDetails = Field(description="the details the minutes are filled from")
    shared_with_viewers: bool = Field(description="every signed-in role may read it (read-only)")
    segments: list[SegmentOut]
    text: str
    error: str | None


class TranscriptionSummary(BaseModel):
    id: str
    title: str
    filename: str
    status: str
    progress: float
    duration_s: float | None
    created_at: UtcDatetime
    owner: str
    shared_with_viewers: bool
    snippet: str


class SegmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: NoNulStr | None = Field(None, max_length=20_000)
    speaker: NoNulStr | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _something(self) -> SegmentPatch:
        if self.text is None and self.speaker is None:
            raise ValueError("give 'text' and/or 'speaker'")
        return self


def _segment_out(row: TranscriptSegment) -> SegmentOut:
    return SegmentOut(
        idx=row.idx,
        start=row.start,
        end=row.end,
        speaker=row.speaker,
        text=row.text,
        flags=list(row.flags or []),
        repaired=any(f in REPAIR_FLAGS for f in row.flags or []),
        dropped_s=row.dropped_s or 0.0,
        words=[WordOut.model_validate(w) for w in row.words or []],
    )


def _out(session: Session, row: Transcription) -> TranscriptionOut:
    segs = transcripts.segment_rows(session, row.id)
    text = row.text or " ".join(s.text for s in segs)
    speakers = list(dict.fromkeys(s.speaker for s in segs if s.speaker))
    return TranscriptionOut(
        id=row.id,
        title=row.title,
        filename=row.filename,
        **transcripts.job_state(session, row),
        duration_s=row.duration_s,
        language=row.language,
        speakers=speakers,
        model_version=row.model_version,
        created_at=row.created_at,
        meeting=MeetingDetails.model_validate(row.meeting or {}),
        shared_with_viewers=bool(row.shared_with_viewers),
        segments=[_segment_out(s) for s in segs],
        text=text,
    )


@router.post("", status_code=202, response_model=Accepted)
async def upload(
    services: ServicesDep,
    who: Secretary,
    file: Annotated[UploadFile, File(description="the recording: mp3, m4a, wav, ogg, mp4, ...")],
    title: Annotated[str, Form(max_length=300)] = "",
    language: Annotated[str, Form(description="ISO 639-1 code")] = "vi",
    vocabulary: Annotated[str, Form(max_length=5000, description="names and terms, comma separated")] = "",
    speakers: Annotated[int | None, Form(ge=1, le=20, description="number of speakers, if known")] = None,
    meeting_at: Annotated[
        str, Form(max_length=40, description="when the meeting began, e.g. 2026-12-05T08:00 (Vietnam time)")
    ] = "",
    venue: Annotated[str, Form(max_length=300)] = "",
    chair: Annotated[str, Form(max_length=200, description="who chaired (chủ trì)")] = "",
    attendees: Annotated[str, Form(max_length=20000, description="one name per line")] = "",
    organisation: Annotated[str, Form(max_length=300, description="issuing body of the minutes")] = "",
) -> Accepted:
    """Upload a recording with what the minutes need (title, meeting time, venue, chair, attendees); it is
    checked (probed) now and transcribed in the background."""
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {sorted(LANGUAGES)}; got {language!r}", code="validation_error")
    for field, value in (("title", title), ("vocabulary", vocabulary), ("file name", file.filename or "")):
        refuse_nul(value, field)
    try:
        meeting = MeetingDetails.model_validate(
            {
                "meeting_at": meeting_at.strip() or None,
                "venue": venue.strip() or None,
                "chair": chair.strip() or None,
                "organisation": organisation.strip() or None,
                "attendees": [a.strip() for a in re.split(r"[\n;]", attendees) if a.strip()] or None,
            }
        ).stored(only_set=False)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", code="validation_error", detail={"field": where}) from e
    tid = uuid.uuid4().hex
    suffix = re.sub(r"[^A-Za-z0-9.]", "", FsPath(file.filename or "").suffix)[:10]
    dest = services.settings.uploads_dir / f"{tid}{suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        await run_in_threadpool(_save, file, dest)
        info = await run_in_threadpool(_probe, services, dest)
        job = await run_in_threadpool(
            _create,
            services,
            who,
            tid,
            dest,
            file.filename or "",
            title,
            language,
            vocabulary,
            speakers,
            info.duration_s,
            meeting,
        )
    except BaseException:
        dest.unlink(missing_ok=True)  # a refused upload leaves nothing behind
        raise
    return Accepted(id=tid, status=job.status, job_id=job.id, duration_s=info.duration_s)


def _save(upload: UploadFile, dest: FsPath) -> None:
    with dest.open("wb") as out:
        shutil.copyfileobj(upload.file, out, length=1 << 20)


def _probe(services: Services, path: FsPath) -> Any:
    from speech import probe

    return probe(path, max_duration_s=services.settings.speech.max_duration_s)


def _create(
    services: Services,
    who: Principal,
    tid: str,
    dest: FsPath,
    filename: str,
    title: str,
    language: str,
    vocabulary: str,
    speakers: int | None,
    duration_s: float,
    meeting: dict[str, Any],
) -> Job:
    job_id = jobs.new_job_id()
    with services.db.transaction() as s:
        # the job first: a full queue (429) refuses the upload before anything is stored
        job = jobs.add(s, services, "transcribe", {"transcription_id": tid}, owner=who.subject, job_id=job_id)
        transcripts.create(
            s,
            transcription_id=tid,
            owner=who,
            audio_path=dest,
            filename=filename,
            title=title,
            language=language,
            vocabulary=vocabulary,
            speakers=speakers,
            job_id=job_id,
            duration_s=duration_s,
            meeting={k: v for k, v in meeting.items() if v is not None},
        )
        audit.record(
            s, who, "transcription.create", "transcription", tid, {"filename": filename, "duration_s": duration_s}
        )
    return jobs.submit(services, job)


@router.get("", response_model=list[TranscriptionSummary])
def list_transcriptions(
    session: SessionDep,
    who: Viewer,
    q: Annotated[str | None, Query(max_length=200, description="full-text search (with or without diacritics)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> list[TranscriptionSummary]:
    """Your transcriptions and those shared with viewers (all of them for admins), newest first; ``q`` searches
    titles and transcripts."""
    out = []
    for row in transcripts.search(session, who, q, limit, offset):
        state = transcripts.job_state(session, row)
        out.append(
            TranscriptionSummary(
                id=row.id,
                title=row.title,
                filename=row.filename,
                status=state["status"],
                progress=state["progress"],
                duration_s=row.duration_s,
                created_at=row.created_at,
                owner=row.owner,
                shared_with_viewers=bool(row.shared_with_viewers),
                snippet=_snippet(row.text, q),
            )
        )
    return out


def _snippet(text: str, q: str | None, width: int = 160) -> str:
    if not text:
        return ""
    if q:
        lowered = search_key(text).split("\n")
        needle = query_key(q)
        for view in lowered:
            i = view.find(needle)
            if i >= 0:
                start = max(0, i - width // 2)
                return ("…" if start else "") + text[start : start + width] + ("…" if start + width < len(text) else "")
    return text[:width] + ("…" if len(text) > width else "")


@router.get("/{transcription_id}", response_model=TranscriptionOut)
def get_transcription(transcription_id: TranscriptionId, session: SessionDep, who: Viewer) -> TranscriptionOut:
    """Status, progress (0..1) and the segments transcribed so far (all of them once succeeded)."""
    return _out(session, transcripts.visible(session, who, transcription_id))


@router.get(
    "/{transcription_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {},
                "application/x-subrip": {},
                "text/vtt": {},
                "application/json": {},
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {},
            }
        }
    },
)
def export_transcription(
    transcription_id: TranscriptionId,
    session: SessionDep,
    who: Viewer,
    format: Annotated[str, Query(pattern=r"^(txt|srt|vtt|json|docx)$")] = "txt",
) -> Response:
    """The transcript as TXT, SRT, VTT, JSON or DOCX minutes (title, date, duration, speakers)."""
    from speech.exports import MEDIA_TYPES, content_disposition, export

    row = transcripts.visible(session, who, transcription_id)
    transcript = transcripts.transcript(session, row)
    if not transcript.segments:
        raise Conflict("nothing has been transcribed yet; try again when the job has progressed")
    return Response(
        export(transcript, format, transcripts.meeting_info(row)),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": content_disposition(f"{row.title or row.id}.{format}")},
    )


@router.patch("/{transcription_id}", response_model=TranscriptionOut)
def patch_transcription(
    transcription_id: TranscriptionId, body: TranscriptionPatch, services: ServicesDep, who: Secretary
) -> TranscriptionOut:
    """Change the title, the meeting's details the minutes are filled from (time, venue, chair, attendees,
    conclusions...) or whether viewers may read it (owner and admins only); audited."""
    with services.db.transaction() as s:
        row = transcripts.editable(s, who, transcription_id)
        changes: dict[str, Any] = {}
        if body.title is not None:
            row.title = body.title.strip()
            changes["title"] = row.title
        if body.meeting is not None:
            changes["meeting"] = transcripts.set_meeting(row, body.meeting.stored())
        if changes:
            audit.record(s, who, "transcription.edit_details", "transcription", row.id, changes)
        if body.shared_with_viewers is not None and body.shared_with_viewers != row.shared_with_viewers:
            row.shared_with_viewers = body.shared_with_viewers
            action = "transcription.share" if body.shared_with_viewers else "transcription.unshare"
            audit.record(s, who, action, "transcription", row.id, {"shared_with_viewers": body.shared_with_viewers})
        s.flush()
        return _out(s, row)


@router.patch("/{transcription_id}/segments/{idx}", response_model=SegmentOut)
def patch_segment(
    transcription_id: TranscriptionId,
    idx: Annotated[int, Path(ge=0, le=MAX_DB_INT)],
    body: SegmentPatch,
    services: ServicesDep,
    who: Secretary,
) -> SegmentOut:
    """Correct a segment's text or speaker; every change is kept in its history."""
    with services.db.transaction() as s:
        row = transcripts.editable(s, who, transcription_id)
        job = transcripts.job_of(s, row)
        if job is not None and job.status in ("queued", "running"):
            raise Conflict("the transcription is still running; edit it when it has finished")
        seg, changes = transcripts.edit_segment(s, row, idx, {"text": body.text, "speaker": body.speaker}, editor=who)
        if changes:
            audit.record(s, who, "transcription.edit_segment", "transcription", row.id, {"idx": idx} | changes)
        return _segment_out(seg)


class SegmentEditOut(BaseModel):
    field: str = Field(description="text or speaker")
    old: str | None
    new: str | None
    editor: str = Field(description="the editor's name, for display")
    editor_subject: str | None = Field(description='who edited: "user:<id>" or "key:<id>" (null for old edits)')
    at: UtcDatetime


@router.get("/{transcription_id}/segments/{idx}/history", response_model=list[SegmentEditOut])
def segment_history(
    transcription_id: TranscriptionId,
    idx: Annotated[int, Path(ge=0, le=MAX_DB_INT)],
    session: SessionDep,
    who: Viewer,
) -> list[SegmentEditOut]:
    """Every edit of a segment, oldest first."""
    row = transcripts.visible(session, who, transcription_id)
    return [
        SegmentEditOut(field=e.field, old=e.old, new=e.new, editor=e.editor, editor_subject=e.editor_subject, at=e.at)
        for e in transcripts.history(session, row, idx)
    ]


@router.delete("/{transcription_id}", status_code=204)
def delete_transcription(transcription_id: TranscriptionId, services: ServicesDep, who: Secretary) -> Response:
    """Delete the recording and its transcript (audited). A running job stops at its next segment."""
    with services.db.transaction() as s:
        row = transcripts.editable(s, who, transcription_id)
        audio, title, filename = row.audio_path, row.title, row.filename
        n = transcripts.delete_transcription(s, row)
        audit.record(
            s,
            who,
            "transcription.delete",
            "transcription",
            transcription_id,
            {"title": title, "filename": filename, "segments": n},
        )
    if audio:
        FsPath(audio).unlink(missing_ok=True)
    return Response(status_code=204)
