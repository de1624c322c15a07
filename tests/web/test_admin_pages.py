"""Mô hình and Quản trị without a browser (who may open them, CSP), the rollback target, and minutes shared with
viewers: a viewer reads a shared meeting (list, page, transcript, downloads) and never an unshared one; only the
owner and admins change it; refused requests change nothing."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from api.auth import Principal
from api.security_headers import CSP
from tests.api.auth_support import Web
from tests.web import page_support
from tests.web.page_support import signed_in

site = page_support.site  # the page tests' SQLite site, in place of the browser journeys' one


def _principal(client: Any) -> Principal:
    me = client.get("/v1/me").json()
    return Principal(key_id=None, name=me["name"], role=me["role"], user_id=me["user_id"])


@pytest.mark.parametrize("role", ["viewer", "secretary", "analyst", "admin"])
def test_models_page_reads_for_everyone_actions_for_analysts(site: Web, role: str) -> None:
    c = signed_in(site, role)
    r = c.get("/mo-hinh")
    assert r.status_code == 200 and "<h1>Mô hình</h1>" in r.text
    assert "đang xây dựng" not in r.text
    assert '<script type="module" src="/static/web/models.js">' in r.text
    assert f'data-can-act="{"1" if role in ("analyst", "admin") else "0"}"' in r.text
    assert '<dialog id="confirm-dialog"' in r.text
    assert r.headers["content-security-policy"] == CSP
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) and not re.search(r"<style|\sstyle=", r.text)


@pytest.mark.parametrize("role", ["viewer", "secretary", "analyst", "admin"])
def test_admin_page_is_for_admins_only(site: Web, role: str) -> None:
    c = signed_in(site, role)
    r = c.get("/quan-tri")
    if role != "admin":
        assert r.status_code == 403
        assert "Vai trò của bạn không được dùng trang này" in r.text and "admin.js" not in r.text
        return
    assert r.status_code == 200 and "<h1>Quản trị</h1>" in r.text
    for label in ("Người dùng", "Khóa API", "Nhật ký kiểm toán", "Tạo người dùng", "Tạo khóa", "Lọc"):
        assert label in r.text, label
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) and not re.search(r"<style|\sstyle=", r.text)
    assert site.client().get("/quan-tri").status_code == 303  # not signed in: to the sign-in page


def test_rollback_target_is_the_champion_before_the_current_one(site: Web) -> None:
    from api import audit
    from api.model_lifecycle import previous_champion

    who = Principal(key_id=None, name="Phân tích", role="analyst", user_id=1)
    with site.services.db.transaction() as s:
        assert previous_champion(s, "forecasting", None) is None
        assert previous_champion(s, "forecasting", "1") is None  # registered at first start, never promoted
        audit.record(s, who, "model.promote", "model", "forecasting/2", {"previous": "1"})
        audit.record(s, who, "model.promote", "model", "sentiment/2", {"previous": "1"})
        s.flush()
        assert previous_champion(s, "forecasting", "2") == "1"
        audit.record(s, who, "model.promote", "model", "forecasting/1", {"previous": "2"})
        s.flush()
        assert previous_champion(s, "forecasting", "1") == "2"  # after a rollback: undo it
        audit.record(s, who, "model.promote", "model", "forecasting/3", {"previous": None})
        s.flush()
        assert previous_champion(s, "forecasting", "3") is None


def _meeting(site: Web, owner: Principal, text: str = "Kính thưa các đồng chí") -> str:
    from api.storage.tables import Job, TranscriptSegment
    from api.stores import transcripts

    tid, job_id = uuid.uuid4().hex, uuid.uuid4().hex
    with site.services.db.transaction() as s:
        s.add(Job(id=job_id, kind="transcribe", status="succeeded", progress=1.0, payload={}, owner=owner.subject))
        row = transcripts.create(
            s,
            transcription_id=tid,
            owner=owner,
            audio_path=Path("/nope.ogg"),
            filename="hop.ogg",
            title="Họp giao ban tháng 12",
            language="vi",
            vocabulary="",
            speakers=None,
            job_id=job_id,
            duration_s=3.0,
        )
        row.text = text
        s.flush()
        s.add(TranscriptSegment(transcription_id=tid, idx=0, start=0.0, end=3.0, speaker="Chủ tọa", text=text))
    return tid


def _shared(site: Web, tid: str) -> bool:
    from api.storage.tables import Transcription

    with site.services.db.session() as s:
        row = s.get(Transcription, tid)
        assert row is not None
        return bool(row.shared_with_viewers)


def test_minutes_shared_with_viewers(site: Web) -> None:
    lan = signed_in(site, "secretary", "lan")
    minh = signed_in(site, "secretary", "minh")
    leader = signed_in(site, "viewer", "lanhdao")
    analyst = signed_in(site, "analyst", "phan")
    tid = _meeting(site, _principal(lan))
    page = f"/cuoc-hop/{tid}"

    # unshared: only the owner (and admins) see it
    for other in (leader, minh, analyst):
        r = other.get(page)
        assert r.status_code == 404 and "Không tìm thấy cuộc họp" in r.text and "bạn không được xem" in r.text
        assert other.get(f"/v1/transcriptions/{tid}").status_code == 404
        assert other.get(f"/v1/transcriptions/{tid}/export?format=txt").status_code == 404
        assert tid not in other.get("/v1/transcriptions").text
        assert tid not in other.get("/").text
    owner_page = lan.get(page)
    assert owner_page.status_code == 200 and 'data-editable="1"' in owner_page.text
    assert 'id="share"' in owner_page.text and " checked" not in owner_page.text
    assert tid in lan.get("/").text

    # refused changes change nothing: no CSRF token, a bad value, a reader, another secretary
    assert lan.patch(f"/v1/transcriptions/{tid}", json={"shared_with_viewers": True}).status_code == 403
    token = {"X-CSRF-Token": site.csrf(lan)}
    for bad in ({"shared_with_viewers": "yes"}, {"shared_with_viewers": 1}, {"shared": True}):
        r = lan.patch(f"/v1/transcriptions/{tid}", json=bad, headers=token)
        assert r.status_code == 422, (bad, r.text)
    r = minh.patch(
        f"/v1/transcriptions/{tid}", json={"shared_with_viewers": True}, headers={"X-CSRF-Token": site.csrf(minh)}
    )
    assert r.status_code == 404
    assert not _shared(site, tid) and site.audit("transcription.share") == []

    r = lan.patch(f"/v1/transcriptions/{tid}", json={"shared_with_viewers": True}, headers=token)
    assert r.status_code == 200 and r.json()["shared_with_viewers"] is True
    assert _shared(site, tid) and len(site.audit("transcription.share")) == 1
    assert " checked" in lan.get(page).text

    # shared: every role reads it, read-only
    for reader in (leader, minh, analyst):
        r = reader.get(page)
        assert r.status_code == 200, r.text[:300]
        assert 'data-editable="0"' in r.text and 'id="rename-form"' not in r.text and 'id="share"' not in r.text
        assert "chia sẻ để đọc" in r.text
        body = reader.get(f"/v1/transcriptions/{tid}").json()
        assert body["segments"][0]["text"] == "Kính thưa các đồng chí" and body["shared_with_viewers"] is True
        export = reader.get(f"/v1/transcriptions/{tid}/export?format=txt")
        assert export.status_code == 200 and "Kính thưa các đồng chí" in export.text
        assert [t["id"] for t in reader.get("/v1/transcriptions").json()] == [tid]
        assert f"/cuoc-hop/{tid}" in reader.get("/").text
    assert 'href="/">← Tổng quan' in leader.get(page).text  # a viewer has no meetings page to go back to

    # ... and cannot change it
    minh_token = {"X-CSRF-Token": site.csrf(minh)}
    r = minh.patch(f"/v1/transcriptions/{tid}", json={"title": "Đổi tên"}, headers=minh_token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "read_only"
    assert minh.patch(f"/v1/transcriptions/{tid}/segments/0", json={"text": "x"}, headers=minh_token).status_code == 403
    assert minh.delete(f"/v1/transcriptions/{tid}", headers=minh_token).status_code == 403
    leader_token = {"X-CSRF-Token": site.csrf(leader)}
    r = leader.patch(f"/v1/transcriptions/{tid}", json={"shared_with_viewers": False}, headers=leader_token)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    body = lan.get(f"/v1/transcriptions/{tid}").json()
    assert body["title"] == "Họp giao ban tháng 12" and body["segments"][0]["text"] == "Kính thưa các đồng chí"
    assert _shared(site, tid)

    # unshared again: gone for the readers
    assert lan.patch(f"/v1/transcriptions/{tid}", json={"shared_with_viewers": False}, headers=token).status_code == 200
    assert leader.get(page).status_code == 404 and tid not in leader.get("/").text
    assert [e.action for e in site.audit() if e.action.startswith("transcription.")] == [
        "transcription.share",
        "transcription.unshare",
    ]
