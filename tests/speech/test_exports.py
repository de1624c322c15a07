from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from speech.exports import EXPORT_FORMATS, MEDIA_TYPES, MeetingInfo, content_disposition, export
from speech.transcript import Segment, Transcript, Word

HANOI = timezone(timedelta(hours=7))


@pytest.fixture()
def transcript() -> Transcript:
    # Ten words of 0.9 s, one a second: the segment spans 0.5 .. 10.4 s, more than a 7 s cue.
    words = tuple(Word(0.5 + i, 1.4 + i, f" từ{i}") for i in range(10))
    return Transcript(
        title="Họp UBND tỉnh tháng 6",
        created_at=datetime(2024, 6, 28, 1, 30),  # naive: UTC, as the service stores it
        duration_s=3725.0,
        segments=(
            Segment(0.5, 10.4, "từ0 từ1 từ2 từ3 từ4 từ5 từ6 từ7 từ8 từ9", speaker="Người nói 1", words=words),
            Segment(11.0, 13.25, "Hôm nay họp về Đà Lạt.", speaker="Người nói 1"),
            Segment(3600.0, 3602.5, "Dạ, thưa đồng chí --> Chủ tịch.", speaker="Người nói 2"),
        ),
    )


def test_all_formats_render_bytes(transcript: Transcript) -> None:
    assert set(EXPORT_FORMATS) == {"txt", "srt", "vtt", "json", "docx"} == set(MEDIA_TYPES)
    meeting = MeetingInfo(chair="Nguyễn Văn A")
    for fmt in EXPORT_FORMATS:
        data = export(transcript, fmt)  # the callers' two-argument form keeps working
        assert isinstance(data, bytes) and data
        assert export(transcript, fmt, meeting)


def test_txt_groups_speaker_turns(transcript: Transcript) -> None:
    text = export(transcript, "txt").decode("utf-8")
    # 01:30 UTC is 08:30 in Asia/Ho_Chi_Minh.
    assert text.startswith("Họp UBND tỉnh tháng 6\nNgày: 28/06/2024 08:30\nThời lượng: 01:02:05\n")
    assert "Người nói: Người nói 1, Người nói 2" in text
    assert "[00:00:00] Người nói 1: từ0 từ1 từ2 từ3 từ4 từ5 từ6 từ7 từ8 từ9 Hôm nay họp về Đà Lạt." in text
    assert "[01:00:00] Người nói 2: Dạ, thưa" in text


@pytest.mark.parametrize(
    ("created_at", "shown"),
    [
        (datetime(2026, 12, 4, 20, 15), "Ngày: 05/12/2026 03:15"),  # naive = UTC, next day in Vietnam
        (datetime(2026, 12, 4, 20, 15, tzinfo=UTC), "Ngày: 05/12/2026 03:15"),
        (datetime(2026, 12, 4, 20, 15, tzinfo=HANOI), "Ngày: 04/12/2026 20:15"),
        (datetime(2026, 12, 4, 20, 15, tzinfo=timezone(timedelta(hours=-5))), "Ngày: 05/12/2026 08:15"),
    ],
)
def test_txt_date_in_ho_chi_minh(created_at: datetime, shown: str) -> None:
    text = export(Transcript("Họp", created_at, 60.0), "txt").decode("utf-8")
    assert text.splitlines()[1] == shown


def test_txt_meeting_header(transcript: Transcript) -> None:
    meeting = MeetingInfo(
        title="Cuộc họp giao ban tháng 6",
        organisation="Ủy ban nhân dân tỉnh Lâm Đồng",
        number="12/BB-UBND",
        place_name="Lâm Đồng",
        start=datetime(2024, 6, 28, 1, 30, tzinfo=UTC),
        venue="Phòng họp số 1",
        chair="Nguyễn Văn A - Chủ tịch",
        secretary="Trần Thị B",
        attendees=["Lê Văn C", "Phạm Thị D"],
        agenda="Kinh tế - xã hội tháng 6\nNhiệm vụ tháng 7",
        conclusions="Giao Sở Tài chính tổng hợp.",
    )
    lines = export(transcript, "txt", meeting).decode("utf-8").splitlines()
    assert lines[:8] == [
        "ỦY BAN NHÂN DÂN TỈNH LÂM ĐỒNG",
        "Số: 12/BB-UBND",
        "",
        "BIÊN BẢN",
        "Cuộc họp giao ban tháng 6",
        "Lâm Đồng, ngày 28 tháng 6 năm 2024",
        "",
        "Thời gian bắt đầu: 08:30, ngày 28/06/2024",
    ]
    # The end is the start plus the recording's 3725 s.
    assert "Thời gian kết thúc: 09:32, ngày 28/06/2024" in lines
    for expected in ("Địa điểm: Phòng họp số 1", "Chủ trì: Nguyễn Văn A - Chủ tịch", "Thư ký: Trần Thị B"):
        assert expected in lines
    i = lines.index("Thành viên tham dự:")
    assert lines[i + 1 : i + 3] == ["- Lê Văn C", "- Phạm Thị D"]
    i = lines.index("Chương trình:")
    assert lines[i + 1 : i + 3] == ["- Kinh tế - xã hội tháng 6", "- Nhiệm vụ tháng 7"]
    assert lines.index("NỘI DUNG") < lines.index("KẾT LUẬN") < lines.index("Giao Sở Tài chính tổng hợp.")
    assert "[01:00:00] Người nói 2: Dạ, thưa đồng chí --> Chủ tịch." in lines


def test_txt_meeting_header_only_what_was_entered(transcript: Transcript) -> None:
    lines = export(transcript, "txt", MeetingInfo(venue="Hội trường A")).decode("utf-8").splitlines()
    assert lines[:4] == ["", "BIÊN BẢN", "Họp UBND tỉnh tháng 6", "……, ngày 28 tháng 6 năm 2024"]
    assert "Địa điểm: Hội trường A" in lines
    assert not any(line.startswith(("Chủ trì", "Thư ký", "Thời gian", "KẾT LUẬN")) for line in lines)


def test_json_round_trip(transcript: Transcript) -> None:
    doc = json.loads(export(transcript, "json"))
    assert doc["title"] == transcript.title
    assert doc["created_at"] == "2024-06-28T08:30:00+07:00"
    assert doc["speakers"] == ["Người nói 1", "Người nói 2"]
    assert doc["segments"][0]["words"][0] == {"start": 0.5, "end": 1.4, "text": " từ0", "probability": 1.0}
    assert Segment.from_dict(doc["segments"][1]) == transcript.segments[1]
    assert "meeting" not in doc


def test_json_meeting(transcript: Transcript) -> None:
    meeting = MeetingInfo(chair="Nguyễn Văn A", start=datetime(2024, 6, 28, 1, 30, tzinfo=UTC), attendees=["C"])
    doc = json.loads(export(transcript, "json", meeting))
    assert doc["meeting"]["chair"] == "Nguyễn Văn A"
    assert doc["meeting"]["start"] == "2024-06-28T08:30:00+07:00"
    assert doc["meeting"]["attendees"] == ["C"]
    assert doc["meeting"]["venue"] is None


def test_unknown_format(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="Expected an export format among txt, srt"):
        export(transcript, "pdf")


def test_empty_transcript() -> None:
    t = Transcript("Trống", datetime(2024, 1, 1), 0.0)
    assert export(t, "srt") == b""
    assert b"WEBVTT" in export(t, "vtt")
    assert export(t, "docx")[:2] == b"PK"


# -- Content-Disposition ----------------------------------------------------------------------------------


_EXT_VALUE = re.compile(r"filename\*=UTF-8''((?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+)$")


def _parsed_filename(header: str) -> str:
    """The name a client that follows RFC 6266 reads: ``filename*``, checked against RFC 5987's grammar
    (attr-chars and %XX only) and decoded as strict UTF-8."""
    match = _EXT_VALUE.search(header)
    assert match, f"no RFC 5987 filename* in {header!r}"
    return unquote(match.group(1), encoding="utf-8", errors="strict")


def test_content_disposition_vietnamese() -> None:
    value = content_disposition("Biên bản họp ngày 05-12.docx")
    assert value == (
        'attachment; filename="Bien ban hop ngay 05-12.docx"; '
        "filename*=UTF-8''Bi%C3%AAn%20b%E1%BA%A3n%20h%E1%BB%8Dp%20ng%C3%A0y%2005-12.docx"
    )
    assert value.isascii()  # headers travel as Latin-1; Starlette refuses anything else
    assert _parsed_filename(value) == "Biên bản họp ngày 05-12.docx"


@pytest.mark.parametrize(
    ("name", "fallback", "parsed"),
    [
        ("Đà Lạt – Đường.txt", "Da Lat _ Duong.txt", "Đà Lạt – Đường.txt"),
        # NFD input (as macOS file names come) is sent NFC.
        (unicodedata.normalize("NFD", "Biên bản.srt"), "Bien ban.srt", "Biên bản.srt"),
        # A quote, a line break (header injection) and path separators cannot escape.
        ('Họp "gấp"\r\nX-Evil: 1/../a\\b.vtt', "Hop _gap_ X-Evil_ 1-..-a-b.vtt", 'Họp "gấp" X-Evil: 1-..-a-b.vtt'),
        ("report.json", "report.json", "report.json"),
    ],
)
def test_content_disposition_table(name: str, fallback: str, parsed: str) -> None:
    value = content_disposition(name)
    assert value.isascii() and "\r" not in value and "\n" not in value
    assert f'filename="{fallback}";' in value
    assert _parsed_filename(value) == parsed


def test_content_disposition_refuses() -> None:
    with pytest.raises(ValueError, match="at least one letter or digit"):
        content_disposition(" ./ ")
    with pytest.raises(ValueError, match="'attachment' or 'inline'"):
        content_disposition("a.txt", "download")
    assert content_disposition("a.txt", "inline").startswith('inline; filename="a.txt"')
