"""The leader's journey in a real Chromium: the overview's cards and an alert's posts, Dư luận xã hội with its
trend chart, an analyst's one-click label that changes the counts, and the wall mode cycling at 1920x1080."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import make_key
from tests.web.browser_support import PHONE, WALL, Site, browser
from tests.web.test_overview_pages import ingest_spike

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
SPIKE = "Sạt lở đường đèo mà chưa ai xử lý, dân bức xúc lắm"


@pytest.fixture(scope="module")
def prepared(site: Site) -> Site:
    """Posts with a spike (so an alert exists) and a plan target on exports, set up through the API."""
    headers = {"Authorization": f"Bearer {make_key(site.services, 'analyst')}"}
    with httpx.Client(base_url=site.base, headers=headers, timeout=120) as api:
        ingest_spike(lambda body: api.post("/v1/social/posts", json=body))
        year = api.get("/v1/indicators/vn_exports").json()["last_period"][:4]
        target = {"period": year, "value": 400000, "label": "Kế hoạch xuất khẩu cả năm"}
        assert api.patch("/v1/indicators/vn_exports", json={"targets": [target]}).status_code == 200
    return site


def _hover_chart(page: Any) -> str:
    box = page.locator("#sl-trend canvas").first.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] - 60, box["y"] + box["height"] / 2)
    tip = page.locator("#sl-trend div", has_text=re.compile(r"Ngày \d{2}/\d{2}/\d{4}")).last
    tip.wait_for(state="visible", timeout=10_000)
    return str(tip.inner_text())


def test_leader_reads_the_overview_an_alert_and_the_social_trends(prepared: Site) -> None:
    with browser(prepared, DESKTOP) as b:
        page = b.sign_in("leader", "/")
        cards = page.locator(".ov-card")
        assert cards.count() >= 20
        exports = page.locator('.ov-card[data-code="vn_exports"]')
        assert re.search(r"khả năng đạt: \d{1,3}%", exports.inner_text())
        assert exports.get_by_role("link").get_attribute("href") == "/chi-tieu/vn_exports"
        alert = page.locator("details.ov-alert").first
        assert not page.get_by_text(SPIKE).first.is_visible()
        alert.locator("summary").click()
        assert page.get_by_text(SPIKE).first.is_visible()
        b.shot("tong-quan")

        page.get_by_role("link", name="Dư luận xã hội").first.click()
        page.wait_for_url(prepared.base + "/du-luan")
        page.wait_for_selector("#social[data-loaded]")
        assert page.get_by_text("Tiêu cực").first.is_visible() and page.locator("#sl-trend canvas").count() >= 1
        assert re.search(r"Ngày \d{2}/\d{2}/\d{4}", _hover_chart(page))
        assert page.locator("#sl-review").count() == 0  # a viewer does not label
        assert page.locator("#sl-alerts").get_by_text(SPIKE).first.is_visible()
        assert "Bảo Lộc" in page.locator("#sl-places").inner_text()
        b.shot("du-luan")


def test_an_analyst_labels_a_post_with_one_click_and_the_counts_change(prepared: Site) -> None:
    with browser(prepared, DESKTOP) as b:
        page = b.sign_in("analyst", "/du-luan")
        page.wait_for_selector("#social[data-loaded] #sl-review .sl-item")
        item = page.locator("#sl-review .sl-item").first
        meta = item.locator(".meta").inner_text()
        model_label = "negative" if "Tiêu cực" in meta else ("positive" if "Tích cực" in meta else "neutral")
        new = "neutral" if model_label != "neutral" else "negative"
        count = page.locator(f'#sl-totals strong[data-label="{new}"]')
        before = int(count.inner_text().replace(".", ""))
        loaded = page.locator("#social").get_attribute("data-loaded")
        post_id = item.get_attribute("data-post-id")
        b.shot("du-luan-duyet-nhan")
        item.locator(f'button[data-label="{new}"]').click()
        page.wait_for_function(
            "n => document.getElementById('social').dataset.loaded !== n", arg=loaded, timeout=15_000
        )
        assert int(count.inner_text().replace(".", "")) == before + 1
        assert page.locator(f'#sl-review .sl-item[data-post-id="{post_id}"]').count() == 0
        assert "Đã lưu nhãn" in page.locator("#sl-status").inner_text()
        b.shot("du-luan-da-gan-nhan")


def test_the_pages_fit_a_phone(prepared: Site) -> None:
    with browser(prepared, PHONE) as b:
        page = b.sign_in("analyst", "/")
        b.no_sideways_scroll("tong-quan-390")
        b.shot("tong-quan-390")
        page.goto(prepared.base + "/du-luan")
        page.wait_for_selector("#social[data-loaded]")
        b.no_sideways_scroll("du-luan-390")
        b.shot("du-luan-390")
        page.goto(prepared.base + "/man-hinh")
        b.no_sideways_scroll("man-hinh-390")


def test_the_wall_cycles_through_its_panels_and_refreshes_itself(prepared: Site) -> None:
    with browser(prepared, WALL) as b:
        page = b.sign_in("leader", "/man-hinh")
        page.goto(prepared.base + "/man-hinh?chu-ky=3&lam-moi=5")  # a short cycle for the test
        panels = page.locator(".wall-panel")
        n = panels.count()
        assert n >= 4
        page.wait_for_selector("body[data-panel='0']")
        b.shot("man-hinh-1")
        page.wait_for_selector("body[data-panel='1']", timeout=10_000)  # the next panel after 3 s
        assert panels.nth(1).is_visible() and not panels.nth(0).is_visible()
        page.get_by_role("button", name="Tạm dừng").click()
        for i in range(2, n):
            page.keyboard.press("ArrowRight")
            page.wait_for_selector(f"body[data-panel='{i}']")
            b.shot(f"man-hinh-{i + 1}")
        page.keyboard.press("ArrowRight")
        page.wait_for_selector("body[data-panel='0']")
        page.wait_for_selector("body[data-refreshed]", timeout=15_000)  # new data fetched, no reload
        assert page.locator("body[data-panel='0'] .wall-panel:not([hidden])").count() == 1
        assert page.get_by_role("button", name="Toàn màn hình").is_visible()
        b.no_sideways_scroll("man-hinh")
