"""People sign in with a user name and password: the page, sessions, CSRF, expiry, disabled users, redirects.

Run on SQLite and PostgreSQL (one service per database for the module; state wiped before each test).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from api.storage.tables import User, UserSession, utcnow
from tests.api.auth_support import PASSWORD, Web

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _sessions(web: Web) -> list[Any]:
    with web.services.db.session() as s:
        return list(s.scalars(select(UserSession)))


def _users(web: Web) -> list[str]:
    with web.services.db.session() as s:
        return list(s.scalars(select(User.username).order_by(User.id)))


def test_sign_in_page_is_vietnamese_accessible_and_without_inline_code(web: Web) -> None:
    c = web.client()
    page = c.get("/dang-nhap")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="vi">' in html
    assert re.search(r'<label for="username">Tên đăng nhập</label>\s*<input id="username" name="username"', html)
    assert re.search(r'<label for="password">Mật khẩu</label>\s*<input id="password" name="password"', html)
    assert re.search(r'<button type="submit">Đăng nhập</button>', html)
    assert 'type="password"' in html and 'autocomplete="current-password"' in html
    # CSP-clean: scripts and styles only from files, no inline handlers
    assert "<script" not in html and "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert page.headers["cache-control"] == "no-store"
    css = c.get("/dashboard/static/signin.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    moved = c.get("/login?next=/dashboard")
    assert moved.status_code == 308 and moved.headers["location"] == "/dang-nhap?next=/dashboard"


def test_sign_in_opens_a_session_with_a_safe_cookie(web: Web) -> None:
    user = web.create_user("lan.nguyen", "analyst", name="Nguyễn Thị Lan")
    c = web.client()
    r = web.sign_in(c, "Lan.Nguyen", next_path="/dashboard?tab=1")
    assert r.status_code == 303 and r.headers["location"] == "/dashboard?tab=1"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("ioc_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here
    token = cookie.split(";")[0].split("=", 1)[1]
    rows = _sessions(web)
    assert len(rows) == 1 and rows[0].user_id == user.id
    assert token not in {rows[0].token_hash} and len(rows[0].token_hash) == 64  # only the hash is stored
    me = c.get("/v1/me").json()
    assert me["subject"] == f"user:{user.id}" and me["kind"] == "user" and me["role"] == "analyst"
    assert me["name"] == "Nguyễn Thị Lan" and me["username"] == "lan.nguyen" and len(me["csrf_token"]) == 64
    # signed-in pages read the API with the cookie alone
    assert c.get("/v1/models").status_code == 200
    entries = web.audit("user.sign_in")
    assert len(entries) == 1 and entries[0].object_id == str(user.id) and entries[0].detail["address"] == "10.0.0.1"


def test_cookie_is_secure_over_https_and_behind_a_trusted_proxy_only(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    web.create_user("hoa.tran", "viewer")
    r = web.sign_in(web.client(base_url="https://testserver"), "hoa.tran")
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    untrusted = web.client("10.9.9.9", headers=proxied)
    r = web.sign_in(untrusted, "hoa.tran")
    assert r.status_code == 303 and "Secure" not in r.headers["set-cookie"]
    monkeypatch.setattr(web.services.settings.auth, "trusted_proxies", ["10.9.0.0/16"])
    trusted = web.client("10.9.9.9", headers=proxied)
    page = trusted.get("/dang-nhap")
    assert "Secure" in page.headers["set-cookie"]  # the form's cookie too
    form_cookie = page.headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    # the test client talks plain http to the app, so it would not send a Secure cookie back: send it by hand
    r = trusted.post(
        "/dang-nhap",
        data={"username": "hoa.tran", "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": form_cookie},
    )
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
    addresses = [e.detail["address"] for e in web.audit("user.sign_in")]
    assert addresses == ["10.0.0.1", "10.9.9.9", "203.0.113.9"]  # X-Forwarded-For only from the trusted proxy


def test_wrong_password_and_unknown_user_get_the_same_answer(web: Web) -> None:
    web.create_user("minh.le", "viewer")
    c = web.client()
    wrong = web.sign_in(c, "minh.le", "không-phải-mật-khẩu")
    unknown = web.sign_in(c, "khong.ton.tai", "không-phải-mật-khẩu")
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.text
        assert "ioc_session=" not in r.headers.get("set-cookie", "")
    strip = re.compile(r'value="[^"]*"')  # the typed user name and the form token differ
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)
    assert _sessions(web) == []
    failed = web.audit("user.sign_in_failed")
    assert [e.detail["reason"] for e in failed] == ["wrong_password", "unknown_user"]
    assert failed[1].object_id == "unknown"  # a mistyped name (maybe a password) is not written down
    assert c.get("/v1/me").status_code == 401


def test_sign_in_form_without_its_token_is_refused(web: Web) -> None:
    web.create_user("an.pham", "viewer")
    c = web.client()
    r = c.post("/dang-nhap", data={"username": "an.pham", "password": PASSWORD})
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    web.form_token(c)  # the cookie is set now, but a forged form does not know its value
    r = c.post("/dang-nhap", data={"username": "an.pham", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and _sessions(web) == []


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/phish",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1",  # encoded: stays a path; the raw control characters below are refused
        "/\r\nSet-Cookie: x=1",
        " //evil.example",
        "/dang-nhap?next=//evil.example",
    ],
)
def test_next_never_leaves_the_site(web: Web, target: str) -> None:
    web.create_user("binh.vo", "viewer")
    r = web.sign_in(web.client(), "binh.vo", next_path=target)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert "evil.example" not in location or location.startswith("/%0d%0a")
    if target not in {"/%0d%0aSet-Cookie:x=1"}:
        assert location == "/"


def test_session_expires_when_idle_and_at_its_absolute_limit(web: Web) -> None:
    web.create_user("chi.do", "viewer")
    idle = web.client()
    web.sign_in(idle, "chi.do")
    absolute = web.client()
    web.sign_in(absolute, "chi.do")
    assert idle.get("/v1/me").status_code == 200 and absolute.get("/v1/me").status_code == 200
    first, second = sorted(_sessions(web), key=lambda r: r.id)
    auth = web.services.settings.auth
    with web.services.db.transaction() as s:
        s.execute(
            update(UserSession)
            .where(UserSession.id == first.id)
            .values(last_seen_at=utcnow() - timedelta(seconds=auth.session_idle_s + 5))
        )
        s.execute(
            update(UserSession).where(UserSession.id == second.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = idle.get("/v1/me")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "session_expired" and "hết hạn" in err["message"] and "/dang-nhap" in err["message"]
    assert 'ioc_session=""' in r.headers["set-cookie"]  # the browser forgets the dead cookie
    # a page request is sent to the sign-in page with a message, and back here afterwards
    page = absolute.get("/metrics?x=1", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/dang-nhap?msg=het-han&next=%2Fmetrics%3Fx%3D1"
    shown = web.client().get(page.headers["location"])
    assert "Phiên đăng nhập đã hết hạn" in shown.text and 'name="next" value="/metrics?x=1"' in shown.text
    assert _sessions(web) == []  # expired rows are deleted when met


def test_state_changes_by_cookie_need_the_csrf_token(web: Web) -> None:
    web.create_user("quan.tri", "admin")
    c = web.client()
    web.sign_in(c, "quan.tri")
    body = {"username": "moi.nguoi", "name": "Người Mới", "role": "viewer", "password": PASSWORD}
    for headers in ({}, {"X-CSRF-Token": "0" * 64}, {"X-CSRF-Token": ""}):
        r = c.post("/v1/users", json=body, headers=headers)
        assert r.status_code == 403, r.text
        err = r.json()["error"]
        assert err["code"] == "csrf_failed" and "X-CSRF-Token" in err["message"]
    # a token of another session does not fit this one
    other = web.client("10.0.0.2")
    web.sign_in(other, "quan.tri")
    r = c.post("/v1/users", json=body, headers={"X-CSRF-Token": web.csrf(other)})
    assert r.status_code == 403
    assert _users(web) == ["quan.tri"]  # nothing changed
    r = c.post("/v1/users", json=body, headers={"X-CSRF-Token": web.csrf(c)})
    assert r.status_code == 201, r.text
    assert _users(web) == ["quan.tri", "moi.nguoi"]
    # reading needs no token; a Bearer key needs none either, even with a cookie present
    assert c.get("/v1/users").status_code == 200
    r = c.patch(f"/v1/users/{r.json()['id']}", json={"name": "Người Mới Hơn"}, headers=web.key("admin"))
    assert r.status_code == 200 and r.json()["name"] == "Người Mới Hơn"


def test_sign_out_needs_the_token_and_deletes_the_session(web: Web) -> None:
    user = web.create_user("thu.ky", "secretary")
    c = web.client()
    web.sign_in(c, "thu.ky")
    token = web.csrf(c)
    r = c.post("/dang-xuat", data={}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?msg=csrf"
    r = c.post("/dang-xuat", data={"csrf_token": "sai"}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?msg=csrf"
    assert len(_sessions(web)) == 1 and c.get("/v1/me").status_code == 200  # still signed in
    page = c.get("/dang-nhap")
    assert "Bạn đang đăng nhập với tên" in page.text and 'action="/dang-xuat"' in page.text
    assert f'name="csrf_token" value="{token}"' in page.text
    r = c.post("/dang-xuat", data={"csrf_token": token}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?msg=da-dang-xuat"
    assert _sessions(web) == []
    assert c.get("/v1/me").status_code == 401
    entries = web.audit("user.sign_out")
    assert len(entries) == 1 and entries[0].object_id == str(user.id)


def test_viewer_cannot_post_an_admin_form(web: Web) -> None:
    viewer = web.create_user("nguoi.xem", "viewer")
    c = web.client()
    web.sign_in(c, "nguoi.xem")
    token = web.csrf(c)
    body = {"username": "ke.gian", "name": "Kẻ Gian", "role": "admin", "password": PASSWORD}
    r = c.post("/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = c.patch(f"/v1/users/{viewer.id}", json={"role": "admin"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    assert _users(web) == ["nguoi.xem"] and c.get("/v1/me").json()["role"] == "viewer"


def test_disabled_user_cannot_sign_in_and_their_sessions_end(web: Web) -> None:
    user = web.create_user("tam.nghi", "analyst")
    c = web.client()
    web.sign_in(c, "tam.nghi")
    assert c.get("/v1/me").status_code == 200
    r = web.client("10.0.0.5").patch(f"/v1/users/{user.id}", json={"disabled": True}, headers=web.key("admin"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert _sessions(web) == []
    assert c.get("/v1/me").json()["error"]["code"] == "session_expired"
    r = web.sign_in(web.client("10.0.0.6"), "tam.nghi")
    assert r.status_code == 401 and "vô hiệu hóa" in r.text
    assert web.sign_in(web.client("10.0.0.6"), "tam.nghi", "mật-khẩu-sai-rồi").text.count("vô hiệu hóa") == 0
    r = web.client("10.0.0.5").patch(f"/v1/users/{user.id}", json={"disabled": False}, headers=web.key("admin"))
    assert r.status_code == 200
    assert web.sign_in(web.client("10.0.0.7"), "tam.nghi").status_code == 303
    assert [e.action for e in web.audit() if e.action.startswith("user.") and e.action.endswith("able")] == [
        "user.disable",
        "user.enable",
    ]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("auth_services", ["sqlite"], indirect=True)
def test_a_person_signs_in_and_out_in_a_real_browser(web: Web) -> None:
    """Chromium finds the fields by their Vietnamese labels, and the page breaks no rule of the CSP."""
    import socket
    import threading
    import time

    import uvicorn
    from playwright.sync_api import sync_playwright

    from tests.web.browser_support import CHROMIUM

    web.create_user("lan.nguyen", "viewer", name="Nguyễn Thị Lan")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(base + "/login?next=/chi-tieu")
            assert page.url == base + "/dang-nhap?next=/chi-tieu"
            page.get_by_label("Tên đăng nhập").fill("lan.nguyen")
            page.get_by_label("Mật khẩu").fill("sai-mật-khẩu-rồi")
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_selector("text=Tên đăng nhập hoặc mật khẩu không đúng.")
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(base + "/chi-tieu")
            cookie = next(c for c in page.context.cookies() if c["name"] == "ioc_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            page.goto(base + "/dang-nhap")
            assert "Nguyễn Thị Lan" in page.inner_text("main")
            page.get_by_role("button", name="Đăng xuất").click()
            page.wait_for_selector("text=Bạn đã đăng xuất.")
            assert not [c for c in page.context.cookies() if c["name"] == "ioc_session"]
            assert not [m for m in console if "Content Security Policy" in m], console
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
