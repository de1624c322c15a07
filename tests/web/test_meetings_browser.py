"""The secretary's journey in a real headless Chromium at phone width (390 px) against a running server
with the shipped Whisper weights: sign in, upload, watch it finish, rename a speaker, fix a line, listen,
download the DOCX minutes. Screenshots go to tests/web/artifacts/ (git-ignored): look at them."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.api.auth_support import PASSWORD
from tests.web.browser_support import Site, browser

CLIP = Path(__file__).parents[1] / "speech" / "data" / "hop_vi_2speakers.ogg"
NAV = ["Tổng quan", "Chỉ tiêu", "Cuộc họp", "Dư luận xã hội", "Mô hình"]  # a secretary's; not "Quản trị"


@pytest.mark.browser
@pytest.mark.slow
def test_secretary_uploads_follows_edits_and_downloads_minutes(site: Site) -> None:
    from playwright.sync_api import expect

    base = site.base
    with browser(site) as b:
        page = b.page
        # Unsigned: the meetings page sends to the sign-in form, and back after it.
        page.goto(base + "/cuoc-hop")
        assert urlsplit(page.url).path == "/dang-nhap" and "next=%2Fcuoc-hop" in page.url
        b.shot("01-dang-nhap")
        page.get_by_label("Tên đăng nhập").fill("lan")
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(base + "/cuoc-hop")
        nav = page.get_by_role("navigation", name="Điều hướng chính")
        assert nav.get_by_role("link").all_inner_texts() == NAV
        expect(page.get_by_text("Nguyễn Thị Lan")).to_be_visible()
        expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
        b.no_sideways_scroll("cuoc-hop")
        b.shot("02-cuoc-hop")

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
        b.no_sideways_scroll("cuoc-hop/{id} (progress)")
        b.shot("03-tien-do")
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
        b.no_sideways_scroll("cuoc-hop/{id} (editor)")
        b.shot("04-bien-ban")

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
        b.no_sideways_scroll("cuoc-hop?q=")
        page.get_by_role("link", name="Tổng quan").click()
        expect(page.get_by_role("link", name="Họp giao ban Sở Du lịch")).to_be_visible()
        b.no_sideways_scroll("tong-quan")
        b.shot("05-tong-quan")
        page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Chỉ tiêu").click()
        expect(page.get_by_role("heading", name="Bộ chỉ tiêu")).to_be_visible()
        b.no_sideways_scroll("chi-tieu")
        b.shot("06-chi-tieu")
        page.goto(base + "/docs")
        expect(page.get_by_role("button", name="Authorize")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("/v1/transcriptions", exact=True).first).to_be_visible()
        b.shot("07-docs")

        page.goto(base + "/cuoc-hop")
        page.get_by_role("button", name="Đăng xuất").click()
        page.wait_for_url(f"{base}/dang-nhap*")
        assert "Bạn đã đăng xuất." in page.inner_text("main")
