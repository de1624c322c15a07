"""The web pages without a browser: sign-in redirects, navigation by role, the audio route's visibility,
the strict CSP (no inline script or style) and the offline API docs."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from api.auth import Principal
from api.security_headers import CSP
from tests.api.auth_support import Web
from tests.web import page_support
from tests.web.page_support import signed_in

site = page_support.site  # the page tests' SQLite site, in place of the browser journeys' one

NAV = ["Tổng quan", "Chỉ tiêu", "Cuộc họp", "Dư luận xã hội", "Mô hình", "Quản trị"]


def _nav(html: str) -> list[str]:
    block = re.search(r'<nav aria-label="Điều hướng chính".*?</nav>', html, re.S)
    assert block, html[:500]
    return re.findall(r"<a [^>]*>([^<]+)</a>", block.group(0))


def _meeting(site: Web, owner: Principal, audio: Path) -> str:
    from api.stores import transcripts

    tid = uuid.uuid4().hex
    with site.services.db.transaction() as s:
        transcripts.create(
            s,
            transcription_id=tid,
            owner=owner,
            audio_path=audio,
            filename=audio.name,
            title="Họp thử",
            language="vi",
            vocabulary="",
            speakers=None,
            job_id=uuid.uuid4().hex,
            duration_s=1.0,
        )
    return tid


def test_unsigned_visitors_go_to_sign_in_with_next(site: Web) -> None:
    c = site.client()
    for path in ("/", "/cuoc-hop?q=giao%20ban", "/chi-tieu", f"/cuoc-hop/{uuid.uuid4().hex}"):
        r = c.get(path)
        assert r.status_code == 303, (path, r.status_code)
        target = urlsplit(r.headers["location"])
        assert target.path == "/dang-nhap" and parse_qs(target.query)["next"] == [path], r.headers["location"]
    old = c.get("/dashboard")  # the old dashboard's address leads to the overview
    assert old.status_code == 307 and old.headers["location"] == "/"


@pytest.mark.parametrize(
    ("role", "links"),
    [
        ("viewer", ["Tổng quan", "Chỉ tiêu", "Dư luận xã hội", "Mô hình"]),
        ("secretary", ["Tổng quan", "Chỉ tiêu", "Cuộc họp", "Dư luận xã hội", "Mô hình"]),
        ("admin", NAV),
    ],
)
def test_navigation_shows_what_the_role_may_use(site: Web, role: str, links: list[str]) -> None:
    c = signed_in(site, role)
    home = c.get("/")
    assert home.status_code == 200 and "<h1>Tổng quan</h1>" in home.text
    assert _nav(home.text) == links
    assert 'action="/dang-xuat"' in home.text and "Đăng xuất" in home.text
    for path in ("/chi-tieu", "/du-luan", "/mo-hinh", "/quan-tri", "/cuoc-hop", "/man-hinh"):
        r = c.get(path)
        allowed = {"/quan-tri": role == "admin", "/cuoc-hop": role != "viewer"}.get(path, True)
        assert r.status_code == (200 if allowed else 403), (role, path, r.status_code)
        if allowed:  # every section is built
            assert "đang xây dựng" not in r.text


def test_sign_out_button_ends_the_session(site: Web) -> None:
    c = signed_in(site, "secretary")
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/").text)
    assert token
    r = c.post("/dang-xuat", data={"csrf_token": token.group(1)})
    assert r.status_code == 303 and "da-dang-xuat" in r.headers["location"]
    assert c.get("/").status_code == 303


def test_pages_carry_no_inline_script_or_style(site: Web) -> None:
    c = signed_in(site, "admin")
    tid = _meeting(site, Principal(key_id=None, name="Người khác", role="secretary", user_id=999), Path("/nope.ogg"))
    for path in ("/", "/man-hinh", "/du-luan", "/cuoc-hop", f"/cuoc-hop/{tid}", "/chi-tieu", "/quan-tri", "/docs"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert r.headers["content-security-policy"] == CSP, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path
        assert not re.search(r"<style|\sstyle=", r.text), path
        assert 'lang="vi"' in r.text and 'name="viewport"' in r.text, path


def test_meeting_audio_only_to_those_who_may_read_the_transcript(site: Web, tmp_path: Path) -> None:
    audio = tmp_path / "hop.ogg"
    audio.write_bytes(b"OggS" + bytes(range(256)) * 4)
    owner = signed_in(site, "secretary", "lan")
    me = owner.get("/v1/me").json()
    principal = Principal(key_id=None, name=me["name"], role="secretary", user_id=me["user_id"])
    tid = _meeting(site, principal, audio)
    path = f"/cuoc-hop/{tid}/am-thanh"

    r = owner.get(path)
    assert r.status_code == 200 and r.content == audio.read_bytes()
    assert r.headers["content-type"] == "audio/ogg"
    part = owner.get(path, headers={"Range": "bytes=4-11"})  # the player seeks with ranges
    assert part.status_code == 206 and part.content == bytes(range(8))
    assert owner.get(f"/cuoc-hop/{tid}").status_code == 200

    other = signed_in(site, "secretary", "minh")
    assert other.get(path).status_code == 404
    assert other.get(f"/cuoc-hop/{tid}").status_code == 404
    leader = signed_in(site, "viewer")
    assert leader.get(path).status_code == 404  # not shared with viewers
    assert leader.get(f"/cuoc-hop/{tid}").status_code == 404
    assert signed_in(site, "admin").get(path).status_code == 200
    assert site.client().get(path).status_code == 401
    assert site.client().get(path, headers=site.key("secretary")).status_code == 404
    assert site.client().get(path, headers=site.key("admin")).status_code == 200

    audio.unlink()
    assert owner.get(path).status_code == 404


def test_docs_are_offline_and_authorize_with_a_bearer_key(site: Web) -> None:
    c = site.client()
    docs = c.get("/docs")
    assert docs.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', docs.text)
    assert scripts == ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/web/docs.js"], docs.text
    for url in [*scripts, "/static/vendor/swagger-ui/swagger-ui.css"]:
        assert c.get(url).status_code == 200, url
    schema = c.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert schema["paths"]["/v1/transcriptions"]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
