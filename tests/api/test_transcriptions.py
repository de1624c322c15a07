"""Transcription routes end to end with the real Whisper base weights and an in-process worker."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_key, make_settings, start_services
from tests.speech import media

CLIP = Path(__file__).parents[1] / "speech" / "data" / "hop_vi_2speakers.ogg"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from api.app import create_app
    from api.tasks.speech import register_default_whisper

    settings = make_settings(tmp_path_factory.mktemp("speech") / "var", jobs={"workers": 1, "stale_after_s": 600})
    services = start_services(settings)
    register_default_whisper(services)
    with TestClient(create_app(services=services, run_startup=False)) as client:
        keys = {
            name: {"Authorization": f"Bearer {make_key(services, role, name)}"}
            for name, role in (("lan", "secretary"), ("minh", "secretary"), ("root", "admin"), ("viewer", "viewer"))
        }
        yield {"client": client, "services": services, "keys": keys, "tmp": tmp_path_factory.mktemp("media")}
    services.close()


def _wait_done(client: TestClient, tid: str, headers: dict[str, str], timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen_progress = []
    while time.monotonic() < deadline:
        body = client.get(f"/v1/transcriptions/{tid}", headers=headers).json()
        seen_progress.append(body["progress"])
        if body["status"] in ("succeeded", "failed"):
            body["seen_progress"] = seen_progress
            return body
        time.sleep(0.5)
    raise AssertionError(f"transcription {tid} did not finish in {timeout}s")


@pytest.mark.slow
def test_upload_transcribe_export_edit_search_delete(env: dict[str, Any]) -> None:
    client, keys = env["client"], env["keys"]
    r = client.post(
        "/v1/transcriptions",
        headers=keys["lan"],
        files={"file": ("hop.ogg", CLIP.read_bytes(), "audio/ogg")},
        data={"title": "Họp giao ban", "speakers": "2", "vocabulary": "Lâm Đồng, Đà Lạt"},
    )
    assert r.status_code == 202, r.text
    tid = r.json()["id"]
    assert r.json()["status"] == "queued" and r.json()["duration_s"] == pytest.approx(18.6, abs=0.2)
    body = _wait_done(client, tid, keys["lan"])
    assert body["status"] == "succeeded", body["error"]
    assert body["progress"] == 1.0 and len(body["segments"]) >= 2
    assert len(body["speakers"]) == 2
    assert body["model_version"] == "1"
    assert all(0 <= s["start"] < s["end"] <= 19.0 for s in body["segments"])
    text = body["text"].lower()
    assert "đồng chí" in text or "kinh tế" in text, text

    for fmt, check in (
        ("txt", lambda b: "Người nói" in b.decode()),
        ("srt", lambda b: b"-->" in b),
        ("vtt", lambda b: b.startswith(b"WEBVTT")),
        ("json", lambda b: b'"segments"' in b),
        ("docx", lambda b: zipfile.is_zipfile(BytesIO(b))),
    ):
        r = client.get(f"/v1/transcriptions/{tid}/export?format={fmt}", headers=keys["lan"])
        assert r.status_code == 200 and check(r.content), (fmt, r.content[:200])
        # The download keeps the Vietnamese title (RFC 6266 filename*), with an ASCII fallback.
        assert f"filename*=UTF-8''H%E1%BB%8Dp%20giao%20ban.{fmt}" in r.headers["content-disposition"]
    assert client.get(f"/v1/transcriptions/{tid}/export?format=pdf", headers=keys["lan"]).status_code == 422

    r = client.patch(
        f"/v1/transcriptions/{tid}/segments/0",
        headers=keys["lan"],
        json={"text": "Kính thưa các đồng chí, hôm nay họp về Bảo Lộc.", "speaker": "Chủ tọa"},
    )
    assert r.status_code == 200 and r.json()["speaker"] == "Chủ tọa"
    history = client.get(f"/v1/transcriptions/{tid}/segments/0/history", headers=keys["lan"]).json()
    assert [h["field"] for h in history] == ["text", "speaker"] and history[0]["editor"] == "lan"
    assert client.patch(f"/v1/transcriptions/{tid}/segments/0", headers=keys["lan"], json={}).status_code == 422
    assert (
        client.patch(f"/v1/transcriptions/{tid}/segments/999", headers=keys["lan"], json={"text": "x"}).status_code
        == 404
    )

    # full-text search, with and without diacritics; other secretaries see nothing
    for q in ("Bảo Lộc", "bao loc"):
        found = client.get("/v1/transcriptions", params={"q": q}, headers=keys["lan"]).json()
        assert [t["id"] for t in found] == [tid], q
        assert "Bảo Lộc" in found[0]["snippet"]
    assert client.get("/v1/transcriptions", params={"q": "không có từ này"}, headers=keys["lan"]).json() == []
    assert client.get("/v1/transcriptions", headers=keys["minh"]).json() == []
    assert client.get(f"/v1/transcriptions/{tid}", headers=keys["minh"]).status_code == 404
    assert client.get(f"/v1/transcriptions/{tid}", headers=keys["root"]).status_code == 200
    assert client.get(f"/v1/transcriptions/{tid}", headers=keys["viewer"]).status_code == 404  # not shared

    audio = Path(env["services"].settings.uploads_dir)
    assert any(audio.iterdir())
    assert client.delete(f"/v1/transcriptions/{tid}", headers=keys["lan"]).status_code == 204
    assert client.get(f"/v1/transcriptions/{tid}", headers=keys["lan"]).status_code == 404
    assert not any(audio.iterdir())
    actions = [e["action"] for e in client.get("/v1/audit", headers=keys["root"]).json()]
    assert actions[:3] == ["transcription.delete", "transcription.edit_segment", "transcription.create"]


def _bad_files(tmp: Path) -> list[tuple[str, Path, int, str]]:
    mp3 = media.write_audio(tmp / "ok.mp3", media.tone(30.0), codec="libmp3lame", bit_rate=32000)
    truncated = tmp / "truncated.mp3"  # an upload cut off after a tenth of a 30 s recording
    truncated.write_bytes(mp3.read_bytes()[: len(mp3.read_bytes()) // 10])
    text = tmp / "notes.mp3"
    text.write_text("Biên bản cuộc họp, không phải âm thanh.\n" * 50, encoding="utf-8")
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    return [
        ("empty file", empty, 422, "empty"),
        ("text named .mp3", text, 415, "not_audio"),
        ("truncated mp3", truncated, 422, "truncated"),
        ("WAV whose header lies", media.wav_with_lying_header(tmp / "lying.wav"), 422, ""),
        ("video without audio", media.video_without_audio(tmp / "video.mp4"), 415, "no_audio_stream"),
        ("unsupported codec", media.wav_unknown_codec(tmp / "codec.wav"), 415, "unsupported_codec"),
        ("5-hour silent file", media.long_silent_mp3(tmp / "long.mp3", 5, tmp), 422, "too_long"),
    ]


@pytest.mark.slow
def test_bad_uploads_get_a_clear_4xx_and_leave_nothing_behind(env: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from api.storage.tables import Job, Transcription

    client, services = env["client"], env["services"]
    with services.db.session() as s:
        before = (
            s.scalar(select(func.count()).select_from(Transcription)),
            s.scalar(select(func.count()).select_from(Job)),
        )
    uploads_before = set(services.settings.uploads_dir.glob("*")) if services.settings.uploads_dir.exists() else set()
    for what, path, status, code in _bad_files(env["tmp"]):
        r = client.post(
            "/v1/transcriptions",
            headers=env["keys"]["lan"],
            files={"file": (path.name, path.read_bytes(), "application/octet-stream")},
        )
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text)
        assert r.status_code == status, (what, r.text)
        err = r.json()["error"]
        assert err["message"] and (not code or err["code"] == code), (what, err)
    for bad in ({"language": "xx"}, {"speakers": "0"}, {"speakers": "many"}):
        r = client.post(
            "/v1/transcriptions",
            headers=env["keys"]["lan"],
            data=bad,
            files={"file": ("hop.ogg", CLIP.read_bytes(), "audio/ogg")},
        )
        assert r.status_code == 422, (bad, r.text)
    r = client.post("/v1/transcriptions", headers=env["keys"]["lan"], data={"title": "no file"})
    assert r.status_code == 422
    with services.db.session() as s:
        after = (
            s.scalar(select(func.count()).select_from(Transcription)),
            s.scalar(select(func.count()).select_from(Job)),
        )
    assert after == before
    assert set(services.settings.uploads_dir.glob("*")) == uploads_before


@pytest.mark.slow
def test_a_new_attempt_resumes_after_the_last_stored_segment(env: dict[str, Any]) -> None:
    """What a worker killed mid-job leaves behind (stored segments) is kept, and decoding restarts after it."""
    import shutil

    from api import jobs
    from api.storage.tables import Transcription, TranscriptSegment

    services = env["services"]
    tid = "0" * 31 + "1"
    audio = services.settings.uploads_dir / f"{tid}.ogg"
    audio.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(CLIP, audio)
    job_id = jobs.new_job_id()
    with services.db.transaction() as s:
        s.add(
            Transcription(
                id=tid,
                owner="lan",
                title="resume",
                filename="hop.ogg",
                audio_path=str(audio),
                job_id=job_id,
                duration_s=18.6,
                speakers=2,
            )
        )
        s.flush()
        s.add(TranscriptSegment(transcription_id=tid, idx=0, start=0.0, end=6.5, text="ĐÃ LƯU TRƯỚC KHI MÁY CHẾT"))
    jobs.enqueue(services, "transcribe", {"transcription_id": tid}, owner="system", job_id=job_id)
    body = _wait_done(env["client"], tid, env["keys"]["root"])  # a row made here has no owner identity: admin
    assert body["status"] == "succeeded", body["error"]
    assert body["segments"][0]["text"] == "ĐÃ LƯU TRƯỚC KHI MÁY CHẾT"
    assert all(s["start"] >= 6.4 for s in body["segments"][1:])
    assert jobs.get_job(services, job_id).result["resumed_from_s"] == 6.5
    assert "đồng chí" not in body["segments"][1]["text"].lower() or body["segments"][1]["start"] > 12


def test_partial_export_before_any_segment_is_409(env: dict[str, Any]) -> None:
    from api.storage.tables import Transcription

    services = env["services"]
    tid = "0" * 31 + "2"
    with services.db.transaction() as s:
        s.add(Transcription(id=tid, owner="lan", title="empty", filename="x.ogg", audio_path=None, job_id=None))
    r = env["client"].get(f"/v1/transcriptions/{tid}/export?format=txt", headers=env["keys"]["root"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert env["client"].get("/v1/transcriptions/not-an-id", headers=env["keys"]["lan"]).status_code == 422
    assert env["client"].get(f"/v1/transcriptions/{'f' * 32}", headers=env["keys"]["lan"]).status_code == 404
    _ = np  # numpy is used by the media helpers


@pytest.mark.slow
def test_service_segments_keep_their_words_so_speakers_can_change_inside_a_segment(env: dict[str, Any]) -> None:
    """The service stores each segment's word timings (it used to drop them, so speaker labelling could never
    split a segment where the voice changes, unlike ``ioc transcribe``); the store gives them back to the
    library unchanged (the diarizer splits a segment where its words change speaker: tests/speech)."""
    from api.stores import transcripts

    client, keys, services = env["client"], env["keys"], env["services"]
    r = client.post(
        "/v1/transcriptions",
        headers=keys["lan"],
        files={"file": ("hop.ogg", CLIP.read_bytes(), "audio/ogg")},
        data={"title": "Giữ thời điểm từng từ", "speakers": "2"},
    )
    assert r.status_code == 202, r.text
    tid = r.json()["id"]
    body = _wait_done(client, tid, keys["lan"])
    assert body["status"] == "succeeded", body
    for seg in body["segments"]:
        assert seg["words"], seg
        assert all(seg["start"] - 0.05 <= w["start"] <= w["end"] <= seg["end"] + 0.05 for w in seg["words"]), seg
        assert all(0.0 <= w["probability"] <= 1.0 for w in seg["words"])
    with services.db.session() as s:
        stored = transcripts.segments(s, tid)
    assert [len(x.words) for x in stored] == [len(x["words"]) for x in body["segments"]]
    assert [x.words[0].text for x in stored] == [x["words"][0]["text"] for x in body["segments"]]


@pytest.mark.slow
def test_minutes_are_filled_from_what_the_secretary_entered(env: dict[str, Any]) -> None:
    """Issue 14.12: the DOCX had no meeting date, venue, chair, attendees, conclusions or signatures, and was
    dated with the upload time in UTC."""
    import docx

    client, keys = env["client"], env["keys"]
    r = client.post(
        "/v1/transcriptions",
        headers=keys["lan"],
        files={"file": ("hop.ogg", CLIP.read_bytes(), "audio/ogg")},
        data={
            "title": "Họp giao ban tháng 12",
            "meeting_at": "2026-12-05T23:30",  # Vietnam time: the next day already in UTC is not the date
            "venue": "Phòng họp số 2, Trung tâm Điều hành",
            "chair": "Nguyễn Văn An",
            "attendees": "Trần Thị Bình\nLê Văn Cường",
            "organisation": "UBND tỉnh Lâm Đồng",
        },
    )
    assert r.status_code == 202, r.text
    tid = r.json()["id"]
    body = _wait_done(client, tid, keys["lan"])
    assert body["meeting"]["venue"] == "Phòng họp số 2, Trung tâm Điều hành"
    assert body["meeting"]["meeting_at"].startswith("2026-12-05T23:30:00+07:00")
    assert body["meeting"]["attendees"] == ["Trần Thị Bình", "Lê Văn Cường"]
    r = client.patch(
        f"/v1/transcriptions/{tid}",
        headers=keys["lan"],
        json={"meeting": {"conclusions": "Giao Sở Tài chính báo cáo trước ngày 15/12.", "venue": None}},
    )
    assert r.status_code == 200, r.text
    assert "venue" not in {k for k, v in r.json()["meeting"].items() if v}
    assert client.patch(f"/v1/transcriptions/{tid}", headers=keys["minh"], json={"title": "x"}).status_code == 404
    bad = client.patch(f"/v1/transcriptions/{tid}", headers=keys["lan"], json={"meeting": {"colour": "red"}})
    assert bad.status_code == 422

    r = client.get(f"/v1/transcriptions/{tid}/export?format=docx", headers=keys["lan"])
    assert r.status_code == 200
    doc = docx.Document(BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells
    )
    for expected in ("BIÊN BẢN", "Nguyễn Văn An", "Trần Thị Bình", "Giao Sở Tài chính", "ngày 05 tháng 12 năm 2026"):
        assert expected in text, expected
    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297  # A4
