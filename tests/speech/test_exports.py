from __future__ import annotations

import io
import json
from datetime import datetime

import pytest

from speech.exports import EXPORT_FORMATS, MEDIA_TYPES, export
from speech.transcript import Segment, Transcript, Word


@pytest.fixture()
def transcript() -> Transcript:
    words = tuple(Word(0.5 + i, 1.4 + i, f" từ{i}") for i in range(10))
    return Transcript(
        title="Họp UBND tỉnh tháng 6",
        created_at=datetime(2024, 6, 28, 8, 30),
        duration_s=3725.0,
        segments=(
            Segment(0.5, 10.4, "Kính thưa các đồng chí.", speaker="Người nói 1", words=words),
            Segment(11.0, 13.25, "Hôm nay họp về Đà Lạt.", speaker="Người nói 1"),
            Segment(3600.0, 3602.5, "Dạ, thưa đồng chí --> Chủ tịch.", speaker="Người nói 2"),
        ),
    )


def test_all_formats_render_bytes(transcript: Transcript) -> None:
    assert set(EXPORT_FORMATS) == {"txt", "srt", "vtt", "json", "docx"} == set(MEDIA_TYPES)
    for fmt in EXPORT_FORMATS:
        data = export(transcript, fmt)
        assert isinstance(data, bytes) and data


def test_txt_groups_speaker_turns(transcript: Transcript) -> None:
    text = export(transcript, "txt").decode("utf-8")
    assert text.startswith("Họp UBND tỉnh tháng 6\nNgày: 28/06/2024 08:30\nThời lượng: 01:02:05\n")
    assert "Người nói: Người nói 1, Người nói 2" in text
    assert "[00:00:00] Người nói 1: Kính thưa các đồng chí. Hôm nay họp về Đà Lạt." in text
    assert "[01:00:00] Người nói 2: Dạ, thưa" in text


def test_srt_cues_split_long_segments(transcript: Transcript) -> None:
    srt = export(transcript, "srt").decode("utf-8")
    blocks = srt.strip().split("\n\n")
    assert blocks[0].splitlines()[0] == "1"
    assert blocks[0].splitlines()[1] == "00:00:00,500 --> 00:00:07,400"
    assert blocks[0].splitlines()[2].startswith("Người nói 1: từ0 từ1")
    assert "01:00:00,000 --> 01:00:02,500" in srt
    assert len(blocks) == 4  # the 9.9 s segment becomes two cues of <= 7 s


def test_vtt(transcript: Transcript) -> None:
    vtt = export(transcript, "vtt").decode("utf-8")
    assert vtt.startswith("WEBVTT\n")
    assert "00:00:11.000 --> 00:00:13.250\n<v Người nói 1>Hôm nay họp về Đà Lạt." in vtt
    assert "-->" not in vtt.split("<v Người nói 2>")[1]


def test_json_round_trip(transcript: Transcript) -> None:
    doc = json.loads(export(transcript, "json"))
    assert doc["title"] == transcript.title
    assert doc["speakers"] == ["Người nói 1", "Người nói 2"]
    assert doc["segments"][0]["words"][0] == {"start": 0.5, "end": 1.4, "text": " từ0", "probability": 1.0}
    assert Segment.from_dict(doc["segments"][1]) == transcript.segments[1]


def test_docx_minutes(transcript: Transcript) -> None:
    from docx import Document

    doc = Document(io.BytesIO(export(transcript, "DOCX")))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "Họp UBND tỉnh tháng 6"
    assert any("Thời lượng: 01:02:05" in t for t in texts)
    assert any("Người nói: Người nói 1, Người nói 2" in t for t in texts)
    assert "[00:00:00] Người nói 1: Kính thưa các đồng chí. Hôm nay họp về Đà Lạt." in texts
    assert doc.core_properties.title == transcript.title


def test_unknown_format(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="Expected an export format among txt, srt"):
        export(transcript, "pdf")


def test_empty_transcript() -> None:
    t = Transcript("Trống", datetime(2024, 1, 1), 0.0)
    assert export(t, "srt") == b""
    assert b"WEBVTT" in export(t, "vtt")
    assert export(t, "docx")[:2] == b"PK"
