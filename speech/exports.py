"""Transcript exports: TXT, SRT, VTT, JSON and DOCX minutes, as bytes (UTF-8 for the text formats).

TXT and DOCX group consecutive segments of the same speaker into one timestamped paragraph; the DOCX is a
Vietnamese "BIÊN BẢN" in the form of Nghị định 30/2020 (see :mod:`speech.minutes`), filled from an
optional :class:`~speech.minutes.MeetingInfo`. SRT and VTT split segments into subtitle cues of at most
2 lines of 42 characters and 7 seconds (at word boundaries, timed by the word timings when the segment
has them, else in proportion to the characters) and keep the speaker on every cue. Times are shown in
Asia/Ho_Chi_Minh; a naive ``Transcript.created_at`` is taken as UTC.

Example::

    data = export(transcript, "docx", MeetingInfo(chair="Nguyễn Văn A", venue="Phòng họp số 1"))
    Path("bien-ban.docx").write_bytes(data)
    headers = {"Content-Disposition": content_disposition("Biên bản họp ngày 05-12.docx")}
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import quote

from speech.minutes import MeetingInfo, date_line, local_time, minutes_docx
from speech.transcript import Segment, Transcript

__all__ = ["EXPORT_FORMATS", "MEDIA_TYPES", "MeetingInfo", "content_disposition", "export"]

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
_MAX_LINE_CHARS = 42
_MAX_LINES = 2


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


# -- subtitle cues ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    """A word as shown on screen (whitespace-delimited), with its time span in seconds."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class _Cue:
    start: float
    end: float
    lines: tuple[str, ...]
    speaker: str | None


def _subtitle_text(text: str) -> str:
    # "-->" inside a cue's text would read as a timing line; a line break would end the cue.
    return " ".join(unicodedata.normalize("NFC", text).replace("-->", "->").split())


def _tokens(s: Segment) -> list[_Token]:
    """The segment's words with times: its word timings when they spell its text, else by characters."""
    text = _subtitle_text(s.text)
    if not text:
        return []
    if s.words and _subtitle_text("".join(w.text for w in s.words)) == text:
        merged: list[_Token] = []
        for w in s.words:
            piece = _subtitle_text(w.text)
            if not piece:
                continue
            if merged and not w.text[:1].isspace():  # a piece glued to the word before ("chí" + ".")
                last = merged[-1]
                merged[-1] = _Token(last.start, max(last.end, w.end), last.text + piece)
            else:
                merged.append(_Token(w.start, w.end, piece))
        # A piece with inner spaces ("thưa các") or a first piece without one would not line up.
        if " ".join(m.text for m in merged) == text:
            return merged
    # No usable word timings (none recorded, or the text was edited): time words by their characters.
    span = max(s.end - s.start, 0.0)
    out: list[_Token] = []
    pos = 0
    for word in text.split(" "):
        a, b = pos, pos + len(word)
        out.append(_Token(s.start + span * a / len(text), s.start + span * b / len(text), word))
        pos = b + 1
    return out


def _chop(tokens: list[_Token], width: int) -> list[_Token]:
    """Words longer than a line (URLs, codes) cut into line-long pieces, times shared by characters."""
    out: list[_Token] = []
    for tok in tokens:
        if len(tok.text) <= width:
            out.append(tok)
            continue
        n = len(tok.text)
        for i in range(0, n, width):
            j = min(i + width, n)
            dur = tok.end - tok.start
            out.append(_Token(tok.start + dur * i / n, tok.start + dur * j / n, tok.text[i:j]))
    return out


def _greedy(words: Sequence[str], width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for w in words:
        if line and len(line) + 1 + len(w) <= width:
            line += " " + w
        else:
            if line:
                lines.append(line)
            line = w
    if line:
        lines.append(line)
    return lines


def _fits(words: Sequence[str], width: int, max_lines: int) -> bool:
    return bool(words) and max(len(w) for w in words) <= width and len(_greedy(words, width)) <= max_lines


def _wrap(words: Sequence[str], width: int, max_lines: int) -> list[str] | None:
    """``words`` in at most ``max_lines`` lines of at most ``width`` characters, lines balanced; None if
    they do not fit."""
    if not _fits(words, width, max_lines):
        return None
    lines = _greedy(words, width)
    # The narrowest width that needs no more lines gives the most even lines; greedy wrapping needs no
    # fewer lines at a narrower width, so the narrowest is found by bisection.
    lo, hi = max(len(w) for w in words), width
    while lo < hi:
        mid = (lo + hi) // 2
        if len(_greedy(words, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid + 1
    return _greedy(words, lo)


def _cues(t: Transcript, max_cue_s: float, max_line_chars: int, max_lines: int, prefix: bool) -> list[_Cue]:
    """Subtitle cues: at most ``max_lines`` lines of ``max_line_chars`` characters and ``max_cue_s``
    seconds each; with ``prefix``, every cue starts with ``"Speaker: "`` and that counts in its lines."""
    if max_cue_s <= 0 or max_line_chars < 1 or max_lines < 1:
        raise ValueError(
            "Expected max_cue_s > 0, max_line_chars >= 1 and max_lines >= 1. "
            f"Got {max_cue_s!r}, {max_line_chars!r}, {max_lines!r}."
        )
    cues: list[_Cue] = []
    for s in t.segments:
        tokens = _chop(_tokens(s), max_line_chars)
        if not tokens:
            continue
        head = f"{_subtitle_text(s.speaker)}:".split(" ") if prefix and s.speaker else []
        groups: list[list[_Token]] = []
        group: list[_Token] = []
        for tok in tokens:
            fits = _fits(head + [x.text for x in group] + [tok.text], max_line_chars, max_lines)
            if group and (not fits or tok.end - group[0].start > max_cue_s):
                groups.append(group)
                group = []
            group.append(tok)
        groups.append(group)
        for i, g in enumerate(groups):
            words = head + [x.text for x in g]
            # A speaker label too long to share the lines with even one word still gets its cue.
            lines = _wrap(words, max_line_chars, max_lines) or _greedy(words, max_line_chars)
            start = g[0].start
            end = max(g[-1].end, s.end) if i == len(groups) - 1 else g[-1].end
            end = min(end, start + max_cue_s)
            cues.append(_Cue(start, max(end, start + 0.001), tuple(lines), s.speaker))
    return cues


def _meeting_lines(t: Transcript, m: MeetingInfo) -> list[str]:
    """The TXT header of a meeting: only what was entered, times in Asia/Ho_Chi_Minh."""
    lines: list[str] = []
    for org in (m.parent_organisation, m.organisation):
        if org:
            lines.append(org.upper())
    if m.number:
        lines.append(f"Số: {m.number}")
    lines += ["", "BIÊN BẢN", m.title or t.title, date_line(m.place_name, m.start or t.created_at), ""]
    if m.start is not None:
        start = local_time(m.start)
        lines.append(f"Thời gian bắt đầu: {start:%H:%M}, ngày {start:%d/%m/%Y}")
    end = m.ended(t.duration_s)
    if end is not None:
        finish = local_time(end)
        lines.append(f"Thời gian kết thúc: {finish:%H:%M}, ngày {finish:%d/%m/%Y}")
    for label, value in (("Địa điểm", m.venue), ("Chủ trì", m.chair), ("Thư ký", m.secretary)):
        if value:
            lines.append(f"{label}: {value}")
    for label, names in (("Thành viên tham dự", m.attendees), ("Vắng mặt", m.absent)):
        if names:
            lines.append(f"{label}:")
            lines += [f"- {name}" for name in names]
    if m.agenda:
        lines += ["Chương trình:", *(f"- {x.strip()}" for x in m.agenda.splitlines() if x.strip())]
    return lines


def to_txt(t: Transcript, meeting: MeetingInfo | None = None) -> bytes:
    """Plain text: a header, then ``[hh:mm:ss] Speaker: text`` paragraphs.

    Without ``meeting`` the header is the title, the date (``created_at`` in Asia/Ho_Chi_Minh), the
    duration and the speakers; with it, what the secretary entered comes first and the conclusions last.
    """
    if meeting is None:
        lines = [t.title, f"Ngày: {local_time(t.created_at):%d/%m/%Y %H:%M}"]
    else:
        lines = _meeting_lines(t, meeting)
    lines.append(f"Thời lượng: {_hms(t.duration_s)}")
    if t.speakers:
        lines.append(f"Người nói: {', '.join(t.speakers)}")
    lines.append("")
    if meeting is not None:
        lines += ["NỘI DUNG", ""]
    for p in _paragraphs(t):
        who = f"{p.speaker}: " if p.speaker else ""
        lines.append(f"[{_hms(p.start)}] {who}{p.text}")
    if meeting is not None and meeting.conclusions:
        lines += ["", "KẾT LUẬN", "", *(x.strip() for x in meeting.conclusions.splitlines() if x.strip())]
    return unicodedata.normalize("NFC", "\n".join(lines) + "\n").encode("utf-8")


def to_srt(
    t: Transcript,
    max_cue_s: float = _MAX_CUE_S,
    *,
    max_line_chars: int = _MAX_LINE_CHARS,
    max_lines: int = _MAX_LINES,
) -> bytes:
    """SubRip subtitles: numbered cues of at most ``max_lines`` lines of ``max_line_chars`` characters
    (the ``"Speaker: "`` prefix included) and ``max_cue_s`` seconds."""
    blocks = []
    for i, c in enumerate(_cues(t, max_cue_s, max_line_chars, max_lines, prefix=True), start=1):
        blocks.append(f"{i}\n{_clock(c.start)} --> {_clock(c.end)}\n" + "\n".join(c.lines) + "\n")
    return "\n".join(blocks).encode("utf-8")


def to_vtt(
    t: Transcript,
    max_cue_s: float = _MAX_CUE_S,
    *,
    max_line_chars: int = _MAX_LINE_CHARS,
    max_lines: int = _MAX_LINES,
) -> bytes:
    """WebVTT subtitles; the speaker goes in a voice tag (``<v Người nói 1>``), which players do not
    count in the ``max_lines`` lines of ``max_line_chars`` characters."""
    blocks = ["WEBVTT\n"]
    for c in _cues(t, max_cue_s, max_line_chars, max_lines, prefix=False):
        text = "\n".join(_vtt_escape(line) for line in c.lines)
        if c.speaker:
            text = f"<v {_vtt_escape(_subtitle_text(c.speaker))}>{text}"
        blocks.append(f"{_clock(c.start, '.')} --> {_clock(c.end, '.')}\n{text}\n")
    return "\n".join(blocks).encode("utf-8")


def _vtt_escape(text: str) -> str:
    """Cue text as WebVTT wants it: ``&``, ``<`` and ``>`` as character references (else read as tags)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_json(t: Transcript, meeting: MeetingInfo | None = None) -> bytes:
    """JSON: title, created_at (ISO 8601, Asia/Ho_Chi_Minh, with offset), duration_s, language, speakers,
    text, segments, and ``meeting`` (:meth:`MeetingInfo.to_dict`) when given."""
    doc = {
        "title": t.title,
        "created_at": local_time(t.created_at).isoformat(),
        "duration_s": round(t.duration_s, 3),
        "language": t.language,
        "speakers": list(t.speakers),
        "text": t.text,
        "segments": [s.to_dict() for s in t.segments],
    }
    if meeting is not None:
        doc["meeting"] = meeting.to_dict()
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def to_docx(t: Transcript, meeting: MeetingInfo | None = None) -> bytes:
    """Meeting minutes: a "BIÊN BẢN" (Nghị định 30/2020 layout, A4, Times New Roman) filled from
    ``meeting``, the transcript by speaker turn with timestamps, dotted lines where nothing was entered."""
    return minutes_docx(t, meeting, _paragraphs(t))


_WRITERS: dict[str, Callable[[Transcript, MeetingInfo | None], bytes]] = {
    "txt": to_txt,
    "srt": lambda t, _m: to_srt(t),
    "vtt": lambda t, _m: to_vtt(t),
    "json": to_json,
    "docx": to_docx,
}


def export(transcript: Transcript, fmt: str, meeting: MeetingInfo | None = None) -> bytes:
    """Render ``transcript`` as ``fmt`` (one of :data:`EXPORT_FORMATS`).

    Args:
        transcript: the transcript; a naive ``created_at`` is taken as UTC.
        fmt: ``"txt"``, ``"srt"``, ``"vtt"``, ``"json"`` or ``"docx"`` (any case, a leading dot allowed).
        meeting: what the secretary entered about the meeting; used by TXT, JSON and DOCX (subtitles
            have no header).

    Raises:
        ValueError: for an unknown format.
    """
    key = fmt.lower().lstrip(".")
    if key not in _WRITERS:
        raise ValueError(f"Expected an export format among {', '.join(EXPORT_FORMATS)}. Got: {fmt!r}.")
    return _WRITERS[key](transcript, meeting)


# -- download names ---------------------------------------------------------------------------------------

# RFC 5987 attr-char beyond letters and digits (quote() always keeps "_.-~").
_ATTR_CHARS = "!#$&+^`|"
_FALLBACK_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-()[],+")


def _ascii_name(name: str) -> str:
    """``name`` without diacritics ("Biên bản" -> "Bien ban", "Đ" -> "D"), other characters as ``_``."""
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    out = "".join(c if c in _FALLBACK_OK else "_" for c in plain if not unicodedata.combining(c))
    return out


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` header value that keeps a Vietnamese file name (RFC 6266 and 5987).

    Browsers read ``filename*`` (UTF-8, percent-encoded); older clients fall back on the ASCII
    ``filename``, the same name without diacritics. Path separators, quotes and control characters are
    replaced, so the value is safe to put in a header as is (ASCII only).

    Example: ``content_disposition("Biên bản họp ngày 05-12.docx")`` gives
    ``attachment; filename="Bien ban hop ngay 05-12.docx"; filename*=UTF-8''Bi%C3%AAn%20b%E1%BA%A3n%20h``
    ``%E1%BB%8Dp%20ng%C3%A0y%2005-12.docx`` (one line).

    Raises:
        ValueError: for an empty name (after cleaning) or a disposition other than attachment/inline.
    """
    if disposition not in ("attachment", "inline"):
        raise ValueError(f"Expected disposition 'attachment' or 'inline'. Got: {disposition!r}.")
    name = unicodedata.normalize("NFC", filename)
    name = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in name)
    name = " ".join(name.replace("/", "-").replace("\\", "-").split()).strip(" .")
    if not name.strip("_-"):
        raise ValueError(
            f"Expected a file name with at least one letter or digit. Got: {filename!r}; "
            "fall back on the record's id, e.g. f'{id}.docx'."
        )
    fallback = _ascii_name(name)
    encoded = quote(name, safe=_ATTR_CHARS, encoding="utf-8")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
