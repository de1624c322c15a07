"""The Chỉ tiêu pages without a browser: the catalogue with latest values in vi-VN, an indicator's page for
each role (analysts get the upload and the editing, viewers neither, and their writes are refused), the
Vietnamese 404, the data downloads, the strict CSP."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.security_headers import CSP
from api.web.indicators import fold, period_label, vi_number
from tests.api.auth_support import Web, wipe
from tests.web.page_support import signed_in


@pytest.fixture
def site(sqlite_services: Any) -> Iterator[Web]:
    from sqlalchemy import delete

    from api.storage.tables import Indicator

    wipe(sqlite_services)
    with sqlite_services.db.transaction() as s:
        s.execute(delete(Indicator))
    w = Web(sqlite_services)
    key = w.key("analyst")
    c = w.client()
    r = c.put(
        "/v1/indicators/thu_ns",
        headers=key,
        json={"name": "Thu ngân sách Đắk Nông", "unit": "tỷ đồng", "frequency": "M", "kind": "flow"},
    )
    assert r.status_code == 200, r.text
    obs = [{"period": f"2023-{m:02d}", "value": 1000 + 10 * m} for m in range(1, 13)]
    obs.append({"period": "2024-01", "value": 1234.5})
    r = c.post("/v1/indicators/thu_ns/observations", headers=key, json={"observations": obs})
    assert r.status_code == 200, r.text
    r = c.put(
        "/v1/indicators/-cmd",
        headers=key,
        json={"name": "=HYPERLINK(1)", "unit": "%", "frequency": "Y"},
    )
    assert r.status_code == 200, r.text
    yield w
    w.close()


def test_numbers_and_periods_in_vietnamese() -> None:
    assert [vi_number(v) for v in (1234.5, 1000000, 0.254, -39372.38, 0.0, None)] == [
        "1.234,5",
        "1.000.000",
        "0,25",
        "-39.372,4",
        "0",
        "",
    ]
    assert [period_label(p) for p in ("2024-01", "2024-Q3", "2024", None)] == [
        "Tháng 1/2024",
        "Quý III/2024",
        "Năm 2024",
        "",
    ]
    assert fold("Đắk Nông") == "dak nong"


def test_catalogue_lists_latest_values_and_filters(site: Web) -> None:
    c = signed_in(site, "viewer")
    r = c.get("/chi-tieu")
    assert r.status_code == 200
    assert "<h1>Bộ chỉ tiêu</h1>" in r.text
    assert 'href="/chi-tieu/thu_ns"' in r.text and "Thu ngân sách Đắk Nông" in r.text
    assert "1.234,5" in r.text and "Tháng 1/2024" in r.text
    assert 'href="/v1/indicators/catalogue.xlsx"' in r.text
    assert "chưa có số liệu" in r.text  # the indicator without observations
    found = c.get("/chi-tieu", params={"q": "dak nong"})  # no diacritics typed
    assert "Thu ngân sách Đắk Nông" in found.text and "Hiển thị 1 / 2" in found.text
    yearly = c.get("/chi-tieu", params={"tan_suat": "Y"})
    assert "Thu ngân sách Đắk Nông" not in yearly.text and "Hiển thị 1 / 2" in yearly.text


def test_viewer_reads_the_page_without_upload_or_edit_controls(site: Web) -> None:
    c = signed_in(site, "viewer")
    r = c.get("/chi-tieu/thu_ns")
    assert r.status_code == 200
    text = r.text
    assert '<h1 id="ind-name">Thu ngân sách Đắk Nông</h1>' in text
    for shown in ("forecast-chart", "Mục tiêu kế hoạch", "Bảng số liệu", "Tải XLSX", "Tải CSV", "1.234,5"):
        assert shown in text, shown
    assert "/static/vendor/echarts/echarts.min.js" in text and "/static/vendor/echarts/langVI.js" in text
    assert 'data-can-edit="false"' in text
    for hidden in ("Tệp số liệu", 'id="upload-form"', 'id="target-form"', 'id="meta-form"', "Lưu mục tiêu"):
        assert hidden not in text, hidden


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_get_upload_and_editing(site: Web, role: str) -> None:
    text = signed_in(site, role).get("/chi-tieu/thu_ns").text
    assert re.search(r'<label for="file">Tệp số liệu</label>\s*<input id="file" name="file" type="file"', text)
    for shown in ('id="upload-form"', 'id="target-form"', 'id="meta-form"', 'data-can-edit="true"', "Xem trước"):
        assert shown in text, shown


def test_a_viewers_writes_are_refused_and_change_nothing(site: Web) -> None:
    c = signed_in(site, "viewer")
    token = site.csrf(c)
    csv_file = "Kỳ;Giá trị\nTháng 2/2024;9.999\n".encode()
    r = c.post(
        "/v1/indicators/thu_ns/observations",
        headers={"X-CSRF-Token": token},
        files={"file": ("x.csv", csv_file, "text/csv")},
    )
    assert r.status_code == 403, r.text
    r = c.patch("/v1/indicators/thu_ns", headers={"X-CSRF-Token": token}, json={"unit": "đồng"})
    assert r.status_code == 403, r.text
    page = c.get("/chi-tieu/thu_ns").text
    assert "9.999" not in page and "Tháng 2/2024" not in page and 'id="fact-unit">tỷ đồng<' in page


def test_unknown_indicator_is_a_vietnamese_404(site: Web) -> None:
    c = signed_in(site, "viewer")
    for path in ("/chi-tieu/khong_co", "/chi-tieu/a%20b", "/chi-tieu/khong_co/so-lieu.csv"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "Không tìm thấy chỉ tiêu" in r.text and 'href="/chi-tieu"' in r.text, path
        assert r.headers["content-type"].startswith("text/html")


def test_pages_carry_no_inline_script_or_style(site: Web) -> None:
    c = signed_in(site, "analyst")
    for path in ("/chi-tieu", "/chi-tieu/thu_ns", "/chi-tieu/-cmd", "/chi-tieu/khong_co"):
        r = c.get(path)
        assert r.status_code in (200, 404), (path, r.status_code)
        assert r.headers["content-security-policy"] == CSP, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), path
        assert not re.search(r"<style|\sstyle=", r.text), path
    for asset in ("charts.js", "indicator.js", "indicators.js", "format.js", "api.js"):
        assert c.get(f"/static/web/{asset}").status_code == 200, asset


def test_data_downloads(site: Web) -> None:
    c = signed_in(site, "viewer")
    r = c.get("/chi-tieu/thu_ns/so-lieu.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="thu_ns.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["period", "value"] and rows[-1] == ["2024-01", "1234.5"] and len(rows) == 14
    x = c.get("/chi-tieu/thu_ns/so-lieu.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
    cells = [[cell.value for cell in row] for row in ws.iter_rows()]
    assert cells[0] == ["Thu ngân sách Đắk Nông", None] or cells[0][0] == "Thu ngân sách Đắk Nông"
    assert ["Kỳ", "Giá trị"] in cells and ["2024-01", 1234.5] in cells
    # the file reads back as an upload of the same values (nothing to change)
    analyst = signed_in(site, "analyst")
    back = analyst.post(
        "/v1/indicators/thu_ns/observations?dry_run=true",
        headers={"X-CSRF-Token": site.csrf(analyst)},
        files={"file": ("thu_ns.xlsx", x.content, "application/octet-stream")},
    )
    assert back.status_code == 200, back.text
    assert back.json()["unchanged"] == 13 and back.json()["inserted"] == 0
    # a name that a spreadsheet would run is written as text
    odd = c.get("/chi-tieu/-cmd/so-lieu.xlsx")
    assert odd.status_code == 200
    first = openpyxl.load_workbook(io.BytesIO(odd.content)).active["A1"].value
    assert first == "'=HYPERLINK(1)"
