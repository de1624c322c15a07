"""The analyst's journey through Chỉ tiêu in Chromium: the catalogue, an indicator's charts (a vi-VN tooltip on
hover), a department's CSV previewed and then committed, a plan target set and its probability shown; a
leader's read-only view on the 1920x1080 wall; screenshots of every page in tests/web/artifacts/."""

from __future__ import annotations

import math
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_key
from tests.web.browser_support import WALL, Site, browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CODE = "lamdong_thu_thang"
NAME = "Thu ngân sách tỉnh Lâm Đồng theo tháng"
#: As a department writes it: a title row, a unit row, ';' separated, vi-VN numbers, a missing cell.
DEPARTMENT_CSV = (
    "SỞ TÀI CHÍNH TỈNH LÂM ĐỒNG - BÁO CÁO THU NGÂN SÁCH\n"
    "Đơn vị tính: tỷ đồng\n"
    "Kỳ;Giá trị\n"
    "Tháng 1/2024;1.234,5\n"
    "Tháng 2/2024;1.180,2\n"
    "Tháng 3/2024;1.305\n"
    "Tháng 4/2024;-\n"
)


def _history(site: Site) -> None:
    """The indicator with five years of monthly history (2019-2023), defined through the API."""
    headers = {"Authorization": f"Bearer {make_key(site.services, 'admin')}"}
    with httpx.Client(base_url=site.base, headers=headers) as c:
        r = c.put(
            f"/v1/indicators/{CODE}",
            json={"name": NAME, "unit": "tỷ đồng", "frequency": "M", "kind": "flow", "source": "Sở Tài chính"},
        )
        assert r.status_code == 200, r.text
        obs = [
            {"period": f"{y}-{m:02d}", "value": round(1000 + 25 * (y - 2019) + 80 * math.sin(m / 2), 1)}
            for y in range(2019, 2024)
            for m in range(1, 13)
        ]
        r = c.post(f"/v1/indicators/{CODE}/observations", json={"observations": obs})
        assert r.status_code == 200, r.text


def test_analyst_uploads_previews_commits_and_sets_a_target(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    _history(site)
    upload = tmp_path / "thu_ngan_sach_2024.csv"
    upload.write_text(DEPARTMENT_CSV, encoding="utf-8")
    with browser(site) as b:
        page = b.sign_in("analyst", "/chi-tieu")
        expect(page.get_by_role("heading", name="Bộ chỉ tiêu")).to_be_visible()
        page.get_by_label("Tìm theo tên, mã hoặc đơn vị phụ trách").fill("lam dong thang")
        expect(page.locator("#ind-count")).to_have_text("Hiển thị 1 / 21 chỉ tiêu.")
        page.get_by_label("Tìm theo tên, mã hoặc đơn vị phụ trách").fill("")
        b.no_sideways_scroll("chi-tieu")
        b.shot("chi-tieu-01-bo-chi-tieu-390")

        page.get_by_role("link", name=NAME).click()
        page.wait_for_url(f"{site.base}/chi-tieu/{CODE}")
        expect(page.get_by_role("heading", name=NAME, level=1)).to_be_visible()
        expect(page.locator("#forecast-status")).to_contain_text("Dự báo 12 kỳ tới", timeout=30_000)
        expect(page.locator("#accuracy")).to_contain_text("sai số trung bình khoảng")
        assert "sMAPE" in (page.locator("#accuracy .term").first.get_attribute("title") or "")

        # hovering the chart shows the period and vi-VN numbers
        page.locator("#forecast-chart").scroll_into_view_if_needed()
        box = page.locator("#forecast-chart").bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
        tooltip = page.locator("#forecast-chart div", has_text="Thực tế").last
        expect(tooltip).to_be_visible()
        tip = tooltip.inner_text()
        assert re.search(r"Tháng \d{1,2}/20\d\d", tip), tip
        assert re.search(r"\b\d\.\d{3}(,\d)? tỷ đồng", tip), tip  # 1.234,5 tỷ đồng
        b.shot("chi-tieu-02-chi-tieu-bieu-do-390")

        # a department's file: preview first, nothing stored until "Lưu"
        page.get_by_label("Tệp số liệu").set_input_files(str(upload))
        page.get_by_role("button", name="Xem trước").click()
        preview = page.locator("#preview")
        expect(preview).to_contain_text("Sẽ thêm 3 kỳ mới, sửa 0 kỳ đã có, 0 kỳ không đổi.")
        expect(preview).to_contain_text("một chuỗi số liệu")
        expect(preview).to_contain_text("dòng tiêu đề cột là dòng 3")
        expect(preview.get_by_role("cell", name="1.234,5")).to_be_visible()
        expect(preview.get_by_role("cell", name="Tháng 1/2024")).to_be_visible()
        expect(preview).to_contain_text("không có số liệu")  # the '-' cell, a warning
        expect(page.locator("#data-rows")).not_to_contain_text("Tháng 1/2024")
        b.no_sideways_scroll("xem-truoc")
        b.shot("chi-tieu-03-xem-truoc-390")
        page.get_by_role("button", name="Lưu", exact=True).click()
        expect(page.locator("#upload-message")).to_contain_text("Đã lưu: thêm 3 kỳ mới")
        first = page.locator("#data-rows tr").first
        expect(first).to_contain_text("Tháng 3/2024")
        expect(page.locator("#data-rows tr", has_text="Tháng 1/2024")).to_contain_text("1.234,5")

        # a plan target for 2024, then its probability
        page.get_by_label("Kỳ kế hoạch").fill("2024")
        page.get_by_label("Giá trị mục tiêu").fill("14.000")
        page.get_by_label("Căn cứ (nghị quyết, kế hoạch)").fill("Dự toán thu 2024")
        page.get_by_role("button", name="Lưu mục tiêu").click()
        expect(page.locator("#target-message")).to_have_text("Đã lưu mục tiêu.", timeout=30_000)
        expect(page.locator("#targets-list")).to_contain_text(re.compile(r"khả năng đạt: \d{1,3}%"))
        expect(page.locator("#targets-list")).to_contain_text("Dự toán thu 2024 (Năm 2024)")

        page.locator("#sa-chart").scroll_into_view_if_needed()
        expect(page.locator("#sa-status")).to_contain_text("X-13", timeout=30_000)
        b.no_sideways_scroll("chi-tieu-indicator")
        b.shot("chi-tieu-04-sau-khi-luu-390")

        page.goto(f"{site.base}/chi-tieu/khong-co-chi-tieu-nay")
        expect(page.get_by_role("heading", name="Không tìm thấy chỉ tiêu")).to_be_visible()
        b.no_sideways_scroll("404")
        b.shot("chi-tieu-05-khong-tim-thay-390")
        # the page above answers 404 on purpose (the response and the console's line about it)
        b.errors[:] = [e for e in b.errors if not e.startswith("404 ") and "404 (Not Found)" not in e]


def test_leader_reads_an_indicator_on_the_wall(site: Site) -> None:
    from playwright.sync_api import expect

    with browser(site, viewport=WALL) as b:
        page = b.sign_in("leader", "/chi-tieu")
        b.shot("chi-tieu-06-bo-chi-tieu-1920")
        page.get_by_role("link", name="Kim ngạch xuất khẩu hàng hóa (cả nước)").click()
        expect(page.locator("#forecast-status")).to_contain_text("Dự báo 12 kỳ tới", timeout=30_000)
        expect(page.get_by_label("Tệp số liệu")).to_have_count(0)
        expect(page.locator("#target-form")).to_have_count(0)
        page.locator("#sa-chart").scroll_into_view_if_needed()
        expect(page.locator("#sa-status")).to_contain_text("X-13", timeout=30_000)
        page.evaluate("() => window.scrollTo(0, 0)")
        b.no_sideways_scroll("chi-tieu-wall")
        b.shot("chi-tieu-07-chi-tieu-1920")
        page.goto(f"{site.base}/chi-tieu/lamdong_budget_revenue")
        expect(page.locator("#forecast-status")).to_contain_text("Dự báo 5 kỳ tới", timeout=30_000)
        b.shot("chi-tieu-08-chi-tieu-nam-1920")
