"""Tổng quan, its wall mode (/man-hinh) and Dư luận xã hội without a browser: who may open them, the old
/dashboard address, a card's figures against the API's, the cached indicator summary, a social alert's posts
on the page, the label buttons only for those who may label, and no inline script or style."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.security_headers import CSP
from api.web.overview import vi_number, vi_percent
from tests.api.auth_support import Web
from tests.web.browser_support import start_site

CODE = "vn_exports"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The app on services with the demo indicators, the shipped models and a person of each role."""
    services, close = start_site(tmp_path_factory.mktemp("overview"))
    w = Web(services)
    try:
        yield w
    finally:
        w.close()
        close()


def _as(web: Web, username: str) -> Any:
    c = web.client()
    assert web.sign_in(c, username).status_code == 303
    return c


def _posts(day: datetime, n: int, text: str, prefix: str, district: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{day:%m%d}-{i}",
            "text": text,
            "source": "facebook",
            "created_at": (day + timedelta(hours=9, minutes=i)).isoformat(),
            "district": district,
        }
        for i in range(n)
    ]


def ingest_spike(post: Any) -> list[dict[str, Any]]:
    """Three weeks of quiet talk, then a day of complaints about a landslide: one alert (``post`` sends JSON to
    ``/v1/social/posts`` as an analyst and returns the response)."""
    today = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    posts: list[dict[str, Any]] = []
    for d in range(20, 0, -1):
        day = today - timedelta(days=d)
        posts += _posts(day, 3, "Đường đèo Prenn lại kẹt xe, chán thật sự", "neg", "Đà Lạt")
        posts += _posts(day, 4, "Lễ hội hoa Đà Lạt đẹp quá, cảm ơn thành phố", "pos", "Đà Lạt")
    posts += _posts(today, 30, "Sạt lở đường đèo mà chưa ai xử lý, dân bức xúc lắm", "spike", "Bảo Lộc")
    r = post({"posts": posts})
    assert r.status_code == 200, r.text
    return posts


def _card(page: str, code: str) -> str:
    found = re.search(rf'<li class="ov-card" data-code="{code}">(.*?)</li>', page, re.S)
    assert found, page[:2000]
    return html.unescape(re.sub(r"\s+", " ", found.group(1)))


def test_every_role_opens_the_pages_and_the_old_dashboard_leads_to_the_overview(web: Web) -> None:
    anonymous = web.client()
    for path in ("/", "/man-hinh", "/du-luan"):
        r = anonymous.get(path)
        assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/dang-nhap", path
    old = anonymous.get("/dashboard")
    assert old.status_code in (303, 307) and old.headers["location"] == "/"
    for username in ("leader", "lan", "analyst", "admin"):
        c = _as(web, username)
        for path in ("/", "/man-hinh", "/du-luan"):
            r = c.get(path)
            assert r.status_code == 200, (username, path, r.status_code)
            assert r.headers["content-security-policy"] == CSP
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path
            assert not re.search(r"<style|\sstyle=|\son[a-z]+=", r.text), path
        assert c.get("/dashboard", follow_redirects=True).url.path == "/"
    from api.routes.dashboard import STATIC_DIR

    assert not list(STATIC_DIR.glob("dashboard.*"))


def test_a_card_shows_what_the_api_gives_for_the_same_indicator(web: Web) -> None:
    key = web.key("analyst")
    c = web.client()
    series = c.get(f"/v1/indicators/{CODE}/observations", headers=key).json()["observations"]
    last = series[-1]
    year = last["period"][:4]
    ytd = sum(o["value"] for o in series if o["period"].startswith(year))
    forecast = c.get(f"/v1/indicators/{CODE}/forecast", headers=key).json()
    year_total = ytd + sum(p["mean"] for p in forecast["points"] if p["period"].startswith(year))
    target = {"period": year, "value": round(year_total * 1.01), "label": "Kế hoạch xuất khẩu"}
    assert c.patch(f"/v1/indicators/{CODE}", json={"targets": [target]}, headers=key).status_code == 200
    chance = c.get(f"/v1/indicators/{CODE}/targets", headers=key).json()["targets"][0]["probability"]
    before = next(o for o in series if o["period"] == f"{int(year) - 1}{last['period'][4:]}")

    card = _card(_as(web, "leader").get("/").text, CODE)
    assert f'href="/chi-tieu/{CODE}"' in card
    assert vi_number(last["value"]) in card and f"tháng {int(last['period'][5:])}/{year}" in card
    change = (last["value"] - before["value"]) / abs(before["value"]) * 100
    assert ("+" if change > 0 else "") + vi_number(change) + "%" in card, card
    assert f"Dự báo cả năm {year}: {vi_number(year_total)}" in card.replace("<strong>", "").replace("</strong>", "")
    assert f"khả năng đạt: {vi_percent(chance)}" in card.replace('<strong data-field="probability">', "").replace(
        "</strong>", ""
    )
    words = "nhiều khả năng đạt" if chance >= 0.7 else ("chưa chắc đạt" if chance >= 0.4 else "có nguy cơ không đạt")
    assert words in card
    wall = _as(web, "leader").get("/man-hinh?chu-ky=5").text
    assert vi_percent(chance) in _card(wall, CODE) and 'data-cycle-s="5"' in wall


def test_the_indicator_summary_is_computed_once_per_data_and_model_version(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import overview

    first = overview.indicator_summaries(web.services)
    assert len(first) >= 20
    real = overview._summary
    calls: list[str] = []

    def counting(services: Any, session: Any, ind: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(ind.code)
        return real(services, session, ind, *args, **kwargs)

    monkeypatch.setattr(overview, "_summary", counting)
    assert overview.indicator_summaries(web.services) == first and calls == []
    key = web.key("analyst")
    r = web.client().post(
        "/v1/indicators/vn_cpi_mom/observations",
        json={"observations": [{"period": "2025-03", "value": 0.2}]},
        headers=key,
    )
    assert r.status_code == 200, r.text
    again = overview.indicator_summaries(web.services)
    assert calls == ["vn_cpi_mom"]
    assert next(s for s in again if s["code"] == "vn_cpi_mom")["last_period"] == "2025-03"


def test_a_social_alert_and_its_posts_appear_on_the_overview_and_the_wall(web: Web) -> None:
    key = web.key("analyst")
    api = web.client()
    ingest_spike(lambda body: api.post("/v1/social/posts", json=body, headers=key))
    alerts = api.get("/v1/social/alerts", headers=key).json()
    assert alerts and alerts[-1]["evidence"][0]["id"].startswith("spike-")
    leader = _as(web, "leader")
    for path in ("/", "/man-hinh"):
        page = leader.get(path).text
        block = re.search(r'<details class="ov-alert".*?</details>', page, re.S)
        assert block, path
        assert alerts[-1]["topic_name"] in block.group(0)
        assert "Sạt lở đường đèo mà chưa ai xử lý, dân bức xúc lắm" in block.group(0)
        assert "30 bài tiêu cực" in block.group(0)


def test_only_those_who_may_label_get_the_review_queue(web: Web) -> None:
    viewer = _as(web, "leader").get("/du-luan").text
    assert 'id="sl-review"' not in viewer and 'data-can-label="false"' in viewer
    assert '<script src="/static/vendor/echarts/echarts.min.js"' in viewer
    assert '<script src="/static/vendor/echarts/langVI.js"' in viewer
    analyst = _as(web, "analyst").get("/du-luan").text
    assert 'id="sl-review"' in analyst and 'data-can-label="true"' in analyst
    assert web.client().get("/v1/social/review", headers=web.key("viewer")).status_code == 403
    for url in ("/static/web/social.js", "/static/web/wall.js", "/static/vendor/echarts/echarts.min.js"):
        assert web.client().get(url).status_code == 200, url


def test_vi_number_formats_as_vi_vn() -> None:
    assert vi_number(1234567.25) == "1.234.567,2" or vi_number(1234567.25) == "1.234.567,3"
    assert vi_number(-0.5) == "−0,5" and vi_number(12.0) == "12" and vi_number(None) == ""
    assert vi_percent(0.724) == "72%"
