"""Transcript exports: TXT, SRT, VTT, JSON and DOCX minutes, as bytes (UTF-8 for the text formats).

TXT and DOCX group consecutive segments of the same speaker into one timestamped paragraph; SRT and
VTT keep one cue per segment (long segments are split at word boundaries into cues of at most
``max_cue_s`` seconds when word timings exist) and prefix the speaker.

Example::

    data = export(transcript, "docx")      # bytes of a .docx
    Path("bien-ban.docx").write_bytes(data)
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from speech.transcript import Segment, Transcript

__all__ = ["EXPORT_FORMATS", "MEDIA_TYPES", "export"]

#: Media type of each export format.
MEDIA_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
EXPORT_FORMATS: tuple[str, ...] = tuple(MEDIA_TYPES)
_MAX_CUE_S = 7.0


def _clock(seconds: float, sep: str = ",", hours: bool = True) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}" if hours else f"{m:02d}:{s:02d}{sep}{ms:03d}"


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _paragraphs(t: Transcript) -> list[Segment]:
    """Consecutive segments of one speaker joined into one paragraph."""
    out: list[Segment] = []
    for s in t.segments:
        if not s.text:
            continue
        if out and out[-1].speaker == s.speaker and s.speaker is not None:
            out[-1] = replace(out[-1], end=s.end, text=f"{out[-1].text} {s.text}")
        else:
            out.append(s)
    return out


def _cues(t: Transcript, max_cue_s: float) -> list[Segment]:
    cues: list[Segment] = []
    for s in t.segments:
        if not s.text:
            continue
        if s.end - s.start <= max_cue_s or not s.words:
            cues.append(s)
            continue
        group: list[Any] = []
        for w in s.words:
            if group and w.end - group[0].start > max_cue_s:
                cues.append(
                    replace(
                        s,
                        start=group[0].start,
                        end=group[-1].end,
                        text="".join(x.text for x in group).strip(),
                        words=tuple(group),
                    )
                )
                group = []
            group.append(w)
        if group:
            cues.append(
                replace(
                    s,
                    start=group[0].start,
                    end=max(group[-1].end, s.end),
                    text="".join(x.text for x in group).strip(),
                    words=tuple(group),
                )
            )
    return cues


def to_txt(t: Transcript) -> bytes:
    """Plain text: a header, then ``[hh:mm:ss] Speaker: text`` paragraphs."""
    lines = [t.title, f"Ngày: {t.created_at:%d/%m/%Y %H:%M}", f"Thời lượng: {_hms(t.duration_s)}"]
    if t.speakers:
        lines.append(f"Người nói: {', '.join(t.speakers)}")
    lines.append("")
    for p in _paragraphs(t):
        who = f"{p.speaker}: " if p.speaker else ""
        lines.append(f"[{_hms(p.start)}] {who}{p.text}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def to_srt(t: Transcript, max_cue_s: float = _MAX_CUE_S) -> bytes:
    """SubRip subtitles, one numbered cue per segment (split when longer than ``max_cue_s``)."""
    blocks = []
    for i, c in enumerate(_cues(t, max_cue_s), start=1):
        text = f"{c.speaker}: {c.text}" if c.speaker else c.text
        blocks.append(f"{i}\n{_clock(c.start)} --> {_clock(max(c.end, c.start + 0.001))}\n{text}\n")
    return "\n".join(blocks).encode("utf-8")


def to_vtt(t: Transcript, max_cue_s: float = _MAX_CUE_S) -> bytes:
    """WebVTT subtitles; the speaker goes in a voice tag (``<v Người nói 1>``)."""
    blocks = ["WEBVTT\n"]
    for c in _cues(t, max_cue_s):
        text = c.text.replace("-->", "->")
        if c.speaker:
            text = f"<v {c.speaker}>{text}"
        blocks.append(f"{_clock(c.start, '.')} --> {_clock(max(c.end, c.start + 0.001), '.')}\n{text}\n")
    return "\n".join(blocks).encode("utf-8")


def to_json(t: Transcript) -> bytes:
    """JSON: title, created_at (ISO 8601), duration_s, language, speakers, text, segments."""
    doc = {
        "title": t.title,
        "created_at": t.created_at.isoformat(),
        "duration_s": round(t.duration_s, 3),
        "language": t.language,
        "speakers": list(t.speakers),
        "text": t.text,
        "segments": [s.to_dict() for s in t.segments],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def to_docx(t: Transcript) -> bytes:
    """Meeting minutes (python-docx): title, date, duration, speakers, timestamped paragraphs."""
    from docx import Document
    from docx.shared import Pt, RGBColor

    doc = Document()
    doc.core_properties.title = t.title
    doc.core_properties.language = t.language
    doc.add_heading(t.title, level=0)
    meta = doc.add_paragraph()
    for label, value in (
        ("Ngày: ", f"{t.created_at:%d/%m/%Y %H:%M}"),
        ("Thời lượng: ", _hms(t.duration_s)),
        ("Người nói: ", ", ".join(t.speakers) if t.speakers else "không xác định"),
    ):
        meta.add_run(label).bold = True
        meta.add_run(value + "\n")
    doc.add_heading("Nội dung", level=1)
    for p in _paragraphs(t):
        para = doc.add_paragraph()
        stamp = para.add_run(f"[{_hms(p.start)}] ")
        stamp.font.color.rgb = RGBColor(0x66, 0x66, 0x66)
        stamp.font.size = Pt(9)
        if p.speaker:
            para.add_run(f"{p.speaker}: ").bold = True
        para.add_run(p.text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_WRITERS: dict[str, Callable[[Transcript], bytes]] = {
    "txt": to_txt,
    "srt": to_srt,
    "vtt": to_vtt,
    "json": to_json,
    "docx": to_docx,
}


def export(transcript: Transcript, fmt: str) -> bytes:
    """Render ``transcript`` as ``fmt`` (one of :data:`EXPORT_FORMATS`).

    Raises:
        ValueError: for an unknown format.
    """
    key = fmt.lower().lstrip(".")
    if key not in _WRITERS:
        raise ValueError(f"Expected an export format among {', '.join(EXPORT_FORMATS)}. Got: {fmt!r}.")
    return _WRITERS[key](transcript)
