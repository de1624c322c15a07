"""The secretary's journey in a real headless Chromium at phone width (390 px) against a running server
with the shipped Whisper weights: sign in, upload, watch it finish, rename a speaker, fix a line, listen,
download the DOCX minutes. Screenshots go to tests/web/artifacts/ (git-ignored): look at them."""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.api.auth_support import FAST_HASH, PASSWORD
from tests.conftest import make_settings, start_services

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CLIP = Path(__file__).parents[1] / "speech" / "data" / "hop_vi_2speakers.ogg"
ARTIFACTS = Path(__file__).parent / "artifacts"
WIDTH = 390
NAV = ["Tổng quan", "Chỉ tiêu", "Cuộc họp", "Dư luận xã hội", "Mô hình"]  # a secretary's; not "Quản trị"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from api.app import create_app
    from api.routes.session import password_hasher
    from api.tasks.speech import register_default_whisper
    from api.users import create_user

    settings = make_settings(
        tmp_path_factory.mktemp("web") / "var", jobs={"workers": 1, "stale_after_s": 600}, auth=dict(FAST_HASH)
    )
    services = start_services(settings)
    register_default_whisper(services)
    with services.db.transaction() as s:
        create_user(
            s,
            username="lan",
            name="Nguyễn Thị Lan",
            role="secretary",
            password=PASSWORD,
            hasher=password_hasher(services),
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services, workers=1, run_startup=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    services.close()


def _no_sideways_scroll(page: Any, name: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name}: the page is {width} px wide at a {WIDTH} px viewport (scrolls sideways)"


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
def test_secretary_uploads_follows_edits_and_downloads_minutes(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the browser tests (scripts/setup installs it); not at {CHROMIUM}")
    base = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        # the browser's own zone is elsewhere: times must still read in Asia/Ho_Chi_Minh
        context = browser.new_context(
            viewport={"width": WIDTH, "height": 844},
            locale="vi-VN",
            timezone_id="America/New_York",
            accept_downloads=True,
        )
        page = context.new_page()
        errors: list[str] = []
        elsewhere: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on(
            "request",
            lambda r: (
                None
                if urlsplit(r.url).scheme in ("data", "blob") or urlsplit(r.url).hostname == "127.0.0.1"
                else elsewhere.append(r.url)
            ),
        )

        # Unsigned: the meetings page sends to the sign-in form, and back after it.
        page.goto(base + "/cuoc-hop")
        assert urlsplit(page.url).path == "/dang-nhap" and "next=%2Fcuoc-hop" in page.url
        _shot(page, "01-dang-nhap")
        page.get_by_label("Tên đăng nhập").fill("lan")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(base + "/cuoc-hop")
        nav = page.get_by_role("navigation", name="Điều hướng chính")
        assert nav.get_by_role("link").all_inner_texts() == NAV
        expect(page.get_by_text("Nguyễn Thị Lan")).to_be_visible()
        expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
        _no_sideways_scroll(page, "cuoc-hop")
        _shot(page, "02-cuoc-hop")

        # Upload, then the page follows the meeting until its downloads appear, without a reload.
        page.get_by_label("Tệp ghi âm").set_input_files(str(CLIP))
        page.get_by_label("Tên cuộc họp").fill("Họp giao ban Sở Du lịch")
        page.get_by_label("Số người nói (nếu biết)").fill("2")
        page.get_by_label("Từ vựng riêng", exact=False).fill("Lâm Đồng, Đà Lạt")
        page.get_by_role("button", name="Tải lên").click()
        page.wait_for_url(f"{base}/cuoc-hop/*")
        meeting_url = page.url
        tid = urlsplit(meeting_url).path.rsplit("/", 1)[-1]
        page.wait_for_function("() => document.getElementById('progress-text').textContent.includes('%')")
        _no_sideways_scroll(page, "cuoc-hop/{id} (progress)")
        _shot(page, "03-tien-do")
        page.evaluate("() => { window.__notReloaded = true; }")
        docx_link = page.get_by_role("link", name="Tải DOCX")
        expect(docx_link).to_be_visible(timeout=300_000)
        assert page.evaluate("() => window.__notReloaded === true"), "the page reloaded to show the result"
        created = datetime.fromisoformat(page.request.get(f"{base}/v1/transcriptions/{tid}").json()["created_at"])
        shown = page.locator("main p.meta time").inner_text()
        assert shown == f"{created.astimezone(ZoneInfo('Asia/Ho_Chi_Minh')):%H:%M %d/%m/%Y}", shown
        for name in ("Tải SRT", "Tải VTT", "Tải TXT"):
            expect(page.get_by_role("link", name=name)).to_be_visible()
        segments = page.locator("#segments > li")
        n = segments.count()
        assert n >= 2

        # Rename a speaker everywhere at once.
        old = page.locator("#rename-from").input_value()
        page.get_by_label("Tên mới").fill("Chủ tọa Trần Văn Hùng")
        page.get_by_role("button", name="Đổi tên").click()
        expect(page.locator("#editor-message")).to_contain_text("Đã đổi tên", timeout=30_000)
        body = page.request.get(f"{base}/v1/transcriptions/{tid}").json()
        speakers = [s["speaker"] for s in body["segments"]]
        assert old not in speakers and "Chủ tọa Trần Văn Hùng" in speakers, speakers
        assert page.locator("#segments .speaker", has_text="Chủ tọa Trần Văn Hùng").count() == speakers.count(
            "Chủ tọa Trần Văn Hùng"
        )

        # Fix a line in place; it is saved when the field is left.
        line = page.get_by_role("textbox", name="Lời đoạn 1")
        line.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("Kính thưa các đồng chí, hôm nay chúng ta họp về kinh tế xã hội tỉnh Lâm Đồng.")
        page.keyboard.press("Enter")
        expect(page.locator("#editor-message")).to_contain_text("Đã lưu đoạn 1", timeout=30_000)
        body = page.request.get(f"{base}/v1/transcriptions/{tid}").json()
        assert (
            body["segments"][0]["text"]
            == "Kính thưa các đồng chí, hôm nay chúng ta họp về kinh tế xã hội tỉnh Lâm Đồng."
        )

        # Click a segment's time: the player plays from its start and that segment is highlighted.
        last = body["segments"][-1]
        segments.last.get_by_role("button").click()
        page.wait_for_function(
            "(idx) => document.querySelector(`#segments li[data-idx='${idx}']`).classList.contains('playing')",
            arg=last["idx"],
            timeout=15_000,
        )
        at = page.evaluate("() => document.getElementById('player').currentTime")
        assert last["start"] - 0.01 <= at <= last["end"], (at, last)
        page.evaluate("() => document.getElementById('player').pause()")
        _no_sideways_scroll(page, "cuoc-hop/{id} (editor)")
        _shot(page, "04-bien-ban")

        # The DOCX minutes carry the edits.
        with page.expect_download() as download:
            docx_link.click()
        data = Path(download.value.path()).read_bytes()
        assert zipfile.is_zipfile(io.BytesIO(data))
        document = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
        assert "BIÊN BẢN" in document and "Chủ tọa Trần Văn Hùng" in document

        # The list finds it; the overview lists it; unbuilt sections say so; the docs run offline.
        page.goto(base + "/cuoc-hop")
        page.get_by_label("Tìm trong tên và nội dung").fill("giao ban")
        page.get_by_role("button", name="Tìm").click()
        expect(page.get_by_role("link", name="Họp giao ban Sở Du lịch")).to_be_visible()
        _no_sideways_scroll(page, "cuoc-hop?q=")
        page.get_by_role("link", name="Tổng quan").click()
        expect(page.get_by_role("link", name="Họp giao ban Sở Du lịch")).to_be_visible()
        _no_sideways_scroll(page, "tong-quan")
        _shot(page, "05-tong-quan")
        page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Chỉ tiêu").click()
        expect(page.get_by_text("Trang này đang xây dựng.")).to_be_visible()
        _no_sideways_scroll(page, "chi-tieu")
        _shot(page, "06-dang-xay-dung")
        page.goto(base + "/docs")
        expect(page.get_by_role("button", name="Authorize")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("/v1/transcriptions", exact=True).first).to_be_visible()
        _shot(page, "07-docs")

        page.goto(base + "/cuoc-hop")
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url(f"{base}/dang-nhap*")
        assert "Bạn đã đăng xuất." in page.inner_text("main")

        assert not elsewhere, f"requests left 127.0.0.1: {elsewhere}"
        assert not errors, errors
        browser.close()
