"""Indicator files as the offices write them, through the API: one indicator's upload with a dry run, the
catalogue-wide report import, PATCH with components, the catalogue workbook, and coherent forecasts."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def settings(settings: Any, registered_templates: Any) -> Any:
    """This module's tests start with the default pipeline registered as at first start (a copy of the
    session's registered store, tests/conftest.py registered_templates)."""
    from tests.conftest import install_registered

    install_registered(registered_templates("forecasting"), settings)
    return settings


@pytest.fixture
def api(client: Any, services: Any, auth: Any) -> Any:
    from api.tasks.forecasting import register_default_pipeline

    assert register_default_pipeline(services) is None  # already registered (settings above)
    return client


def define(api: Any, auth: Any, code: str, name: str, frequency: str = "M", **extra: Any) -> None:
    body = {"name": name, "unit": "tỷ đồng", "frequency": frequency, "kind": "flow"} | extra
    r = api.put(f"/v1/indicators/{code}", json=body, headers=auth("analyst"))
    assert r.status_code == 200, r.text


def stored(api: Any, auth: Any, code: str) -> list[tuple[str, float]]:
    obs = api.get(f"/v1/indicators/{code}/observations", headers=auth("viewer")).json()["observations"]
    return [(o["period"], o["value"]) for o in obs]


def everything(api: Any, auth: Any, codes: list[str]) -> dict[str, Any]:
    return {c: api.get(f"/v1/indicators/{c}/observations?revisions=true", headers=auth("viewer")).json() for c in codes}


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def vi_number(x: float) -> str:
    """1234.5 -> '1.234,5' (vi-VN)."""
    whole, frac = f"{x:,.1f}".split(".")
    return whole.replace(",", ".") + "," + frac


def monthly_vi_csv() -> bytes:
    """One series as a district office writes it: title and unit rows, 'Tháng m/yyyy', vi-VN numbers, two
    missing cells ('-' and '..')."""
    lines = ["UBND TỈNH LÂM ĐỒNG", "Đơn vị tính: tỷ đồng", "", "Kỳ;Giá trị"]
    for i in range(24):
        y, m = 2019 + i // 12, i % 12 + 1
        cell = "-" if (y, m) == (2019, 3) else ".." if (y, m) == (2020, 7) else vi_number(1000.0 + 12.5 * i)
        lines.append(f"Tháng {m}/{y};{cell}")
    return ("\n".join(lines) + "\n").encode()


@SQLITE_ONLY
def test_vietnamese_file_dry_run_agrees_with_the_commit_and_missing_cells_are_not_stored(api: Any, auth: Any) -> None:
    define(api, auth, "thu_ns", "Thu ngân sách nhà nước")
    files = {"file": ("thu ngân sách.csv", monthly_vi_csv(), "text/csv")}
    dry = api.post("/v1/indicators/thu_ns/observations?dry_run=true", files=files, headers=auth("analyst"))
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["dry_run"] is True and plan["intake"]["layout"] == "long"
    assert plan["intake"]["decimal"] == "," and plan["intake"]["header_row"] == 4
    periods = [o["period"] for o in plan["observations"]]
    assert len(periods) == 22 and "2019-03" not in periods and "2020-07" not in periods
    assert plan["observations"][0] == {"period": "2019-01", "value": 1000.0}
    assert plan["observations"][1] == {"period": "2019-02", "value": 1012.5}
    assert (plan["inserted"], plan["revised"], plan["unchanged"]) == (22, 0, 0)
    assert plan["intake"]["warnings_total"] >= 1  # the missing cells are reported
    assert stored(api, auth, "thu_ns") == []  # the dry run stored nothing

    done = api.post("/v1/indicators/thu_ns/observations", files=files, headers=auth("analyst"))
    assert done.status_code == 200, done.text
    assert (done.json()["inserted"], done.json()["revised"]) == (plan["inserted"], plan["revised"])
    assert stored(api, auth, "thu_ns") == [(o["period"], o["value"]) for o in plan["observations"]]
    # the same file again: the dry run and the commit both find nothing new
    again = api.post("/v1/indicators/thu_ns/observations?dry_run=true", files=files, headers=auth("analyst")).json()
    assert (again["inserted"], again["revised"], again["unchanged"]) == (0, 0, 22)


@SQLITE_ONLY
def test_quarterly_report_workbook_with_two_sheets_gives_one_indicators_row(api: Any, auth: Any) -> None:
    define(api, auth, "khach", "Lượt khách du lịch", frequency="Q")
    define(api, auth, "buong", "Công suất buồng phòng", frequency="Q")
    data = xlsx(
        {
            "Hướng dẫn": [["Điền số liệu vào trang 'Biểu 02'"]],
            "Biểu 02": [
                ["SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH"],
                ["BIỂU 02: DU LỊCH THEO QUÝ"],
                ["Chỉ tiêu", "Quý I/2016", "Quý II/2016", "Quý III/2016", "Quý IV/2016"],
                ["Lượt khách du lịch", "1.234,5", "1.300,25", 1400, 1500],
                ["Công suất buồng phòng", 55, 60, 65, 70],
            ],
        }
    )
    files = {"file": ("du lich.xlsx", data, "application/octet-stream")}
    r = api.post("/v1/indicators/khach/observations", files=files, data={"sheet": "Biểu 02"}, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    assert r.json()["intake"]["layout"] == "wide" and r.json()["intake"]["sheet"] == "Biểu 02"
    assert stored(api, auth, "khach") == [
        ("2016-Q1", 1234.5),
        ("2016-Q2", 1300.25),
        ("2016-Q3", 1400.0),
        ("2016-Q4", 1500.0),
    ]
    assert stored(api, auth, "buong") == []  # another indicator's row is not this upload's business
    # a monthly file is refused for a quarterly indicator, with the row, and nothing changes
    before = everything(api, auth, ["khach"])
    r = api.post(
        "/v1/indicators/khach/observations",
        files={"file": ("m.csv", "Kỳ;Giá trị\nTháng 1/2017;5\n".encode(), "text/csv")},
        headers=auth("analyst"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_file", r.text
    assert everything(api, auth, ["khach"]) == before


def wide_report(extra_rows: list[list[Any]] | None = None) -> bytes:
    rows: list[list[Any]] = [
        ["ỦY BAN NHÂN DÂN TỈNH LÂM ĐỒNG"],
        ["BÁO CÁO TÌNH HÌNH KINH TẾ - XÃ HỘI NĂM 2024"],
        ["Đơn vị tính: tỷ đồng"],
        [],
        ["STT", "Chỉ tiêu", "ĐVT", *[f"Tháng {i}" for i in range(1, 7)], "6 tháng đầu năm"],
        ["I", "KINH TẾ"],
        ["1", "Thu ngân sách nhà nước", "tỷ đồng", "1.000,5", "1.001,5", "1.002,5", "-", "1.004,5", "1.005,5", "6.015"],
        ["2", "tong muc ban le hang hoa va  dich vu", "tỷ đồng", "2.000,5", "2.001,5", "2.002,5", "..", "", ""],
        *(extra_rows or []),
        ["Ghi chú: số liệu sơ bộ"],
    ]
    return xlsx({"Số liệu": rows})


@SQLITE_ONLY
def test_wide_report_import_matches_the_catalogue_all_or_nothing(api: Any, auth: Any) -> None:
    define(api, auth, "thu_ns", "Thu ngân sách nhà nước")
    define(api, auth, "ban_le", "Tổng mức bán lẻ hàng hóa và dịch vụ")
    define(api, auth, "khach_q", "Lượt khách du lịch", frequency="Q")
    files = {"file": ("bieu.xlsx", wide_report(), "application/octet-stream")}
    dry = api.post("/v1/observations", files=files, data={"dry_run": "true"}, headers=auth("analyst"))
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["dry_run"] is True and plan["intake"]["layout"] == "wide"
    assert {i["indicator"]: i["inserted"] for i in plan["indicators"]} == {"thu_ns": 5, "ban_le": 3}
    assert everything(api, auth, ["thu_ns", "ban_le"])["thu_ns"]["observations"] == []

    done = api.post("/v1/observations", files=files, headers=auth("analyst"))
    assert done.status_code == 200, done.text
    assert [(i["indicator"], i["inserted"]) for i in done.json()["indicators"]] == [
        (i["indicator"], i["inserted"]) for i in plan["indicators"]
    ]
    assert stored(api, auth, "thu_ns") == [
        ("2024-01", 1000.5), ("2024-02", 1001.5), ("2024-03", 1002.5), ("2024-05", 1004.5), ("2024-06", 1005.5)
    ]  # fmt: skip
    assert stored(api, auth, "ban_le") == [("2024-01", 2000.5), ("2024-02", 2001.5), ("2024-03", 2002.5)]

    codes = ["thu_ns", "ban_le", "khach_q"]
    before = everything(api, auth, codes)
    # a half-right file: one wrong cell refuses it all
    half = wide_report([["3", "Lượt khách du lịch", "nghìn lượt", 500, "năm trăm"]])
    r = api.post(
        "/v1/observations", files={"file": ("b.xlsx", half, "application/octet-stream")}, headers=auth("analyst")
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_file", r.text
    assert everything(api, auth, codes) == before
    # a quarterly indicator's row in a monthly report: refused, naming it
    r = api.post(
        "/v1/observations",
        files={
            "file": ("b.xlsx", wide_report([["3", "Lượt khách du lịch", "", 500, 520]]), "application/octet-stream")
        },
        headers=auth("analyst"),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "wrong_frequency", r.text
    assert r.json()["error"]["detail"] == [{"indicator": "khach_q", "frequency": "Q", "file_frequency": "M"}]
    assert everything(api, auth, codes) == before
    # a row that matches no indicator: refused with the row, unless allowed
    unknown = wide_report([["4", "Chỉ tiêu không có trong danh mục", "%", 1, 2, 3]])
    files = {"file": ("b.xlsx", unknown, "application/octet-stream")}
    r = api.post("/v1/observations", files=files, headers=auth("analyst"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "unmatched_rows", r.text
    assert [(u["row"], u["n_values"]) for u in r.json()["error"]["detail"]["unmatched"]] == [
        (9, 3)
    ]  # the row as the spreadsheet numbers it
    assert everything(api, auth, codes) == before
    r = api.post("/v1/observations?allow_unmatched=true", files=files, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    assert [i["unchanged"] for i in r.json()["indicators"]] == [5, 3]


@SQLITE_ONLY
def test_patch_changes_only_what_is_sent_and_checks_components(api: Any, auth: Any) -> None:
    define(api, auth, "tong", "Tổng thu", source="Sở Tài chính")
    for code in ("a", "b", "c"):
        define(api, auth, code, f"Thu khu vực {code}")
    define(api, auth, "q", "Thu theo quý", frequency="Q")
    target = {"period": "2026", "value": 5000.0}
    r = api.patch("/v1/indicators/tong", json={"targets": [target]}, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["targets"][0]["value"] == 5000.0 and body["source"] == "Sở Tài chính" and body["unit"] == "tỷ đồng"
    r = api.patch(
        "/v1/indicators/tong",
        json={"department": "Phòng Ngân sách", "nonnegative": True, "components": ["a", "b"]},
        headers=auth("analyst"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["department"], body["nonnegative"], body["components"]) == ("Phòng Ngân sách", True, ["a", "b"])
    assert body["targets"][0]["value"] == 5000.0  # untouched

    def refused(code: str, components: list[str], expect: str) -> None:
        r = api.patch(f"/v1/indicators/{code}", json={"components": components}, headers=auth("analyst"))
        assert r.status_code == 422 and expect in r.json()["error"]["message"], r.text

    refused("a", ["tong"], "cycle")
    refused("c", ["a"], "component of both")
    refused("c", ["nope"], "unknown indicator codes")
    refused("c", ["q"], "frequency")
    refused("c", ["c"], "cycle")
    cat = {i["code"]: i for i in api.get("/v1/indicators", headers=auth("viewer")).json()}
    assert cat["tong"]["components"] == ["a", "b"] and cat["c"]["components"] == []
    assert api.delete("/v1/indicators/a", headers=auth("analyst")).status_code == 422  # still a component
    r = api.patch("/v1/indicators/tong", json={"components": []}, headers=auth("analyst"))
    assert r.status_code == 200 and r.json()["components"] == []
    assert api.patch("/v1/indicators/tong", json={"frequency": "Y"}, headers=auth("analyst")).status_code == 422
    assert api.patch("/v1/indicators/tong", json={}, headers=auth("viewer")).status_code == 403


@SQLITE_ONLY
def test_catalogue_workbook_round_trip_all_or_nothing(api: Any, auth: Any) -> None:
    import openpyxl

    define(api, auth, "tong", "Tổng thu")
    define(api, auth, "a", "Thu A")
    api.patch("/v1/indicators/a", json={"department": "Phòng A"}, headers=auth("analyst"))
    # a source that would run as a formula in a spreadsheet is written neutralised and read back as it was
    api.patch("/v1/indicators/tong", json={"source": '=HYPERLINK("http://x","GSO")'}, headers=auth("analyst"))
    r = api.get("/v1/indicators/catalogue.xlsx", headers=auth("viewer"))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = [list(row) for row in wb.active.iter_rows(values_only=True)]
    header = rows[0]
    assert dict(zip(header, rows[2], strict=True))["source"] == '\'=HYPERLINK("http://x","GSO")'
    assert [dict(zip(header, row, strict=True))["department"] or "" for row in rows[1:]] == ["Phòng A", ""]

    def put(rows: list[list[Any]]) -> Any:
        data = xlsx({"Danh mục": rows})
        return api.put(
            "/v1/indicators/catalogue.xlsx",
            content=data,
            headers=auth("analyst")
            | {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        )

    new_b = dict.fromkeys(header, "") | {"code": "b", "name": "Thu B", "frequency": "M", "nonnegative": True}
    tong = dict(zip(header, rows[2], strict=True)) | {"components": "a, b", "department": "Sở Tài chính"}
    edited = [list(header), rows[1], [tong[h] for h in header], [new_b[h] for h in header]]
    before = api.get("/v1/indicators", headers=auth("viewer")).json()
    # one bad row (a weekly frequency) or a cycle: nothing changes
    bad = [*edited[:3], [new_b[h] if h != "frequency" else "W" for h in header]]
    r = put(bad)
    assert r.status_code == 422 and "row 4" in r.json()["error"]["message"], r.text
    cyc = [list(header), [dict(zip(header, rows[1], strict=True)) | {"components": "tong"}][0].values(), *edited[2:]]
    r = put([list(x) for x in cyc])
    assert r.status_code == 422 and "cycle" in r.json()["error"]["message"], r.text
    assert api.get("/v1/indicators", headers=auth("viewer")).json() == before

    r = put(edited)
    assert r.status_code == 200, r.text
    assert (r.json()["created"], sorted(r.json()["updated"])) == (["b"], ["a", "tong"])
    cat = {i["code"]: i for i in api.get("/v1/indicators", headers=auth("viewer")).json()}
    assert cat["tong"]["components"] == ["a", "b"] and cat["tong"]["department"] == "Sở Tài chính"
    assert cat["b"]["nonnegative"] is True and cat["a"]["department"] == "Phòng A"
    assert cat["tong"]["source"] == '=HYPERLINK("http://x","GSO")'


def seasonal(n: int, level: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [level + 0.8 * i + 0.1 * level * math.sin(2 * math.pi * (i % 12) / 12) + rng.normal(0, 1) for i in range(n)]


def test_components_give_coherent_forecasts(api: Any, auth: Any) -> None:
    parts = {"ld_cu": seasonal(60, 100, 1), "dno_cu": seasonal(60, 60, 2), "bth_cu": seasonal(60, 80, 3)}
    whole = [sum(v) for v in zip(*parts.values(), strict=True)]
    define(api, auth, "ld", "Thu ngân sách Lâm Đồng (mới)", targets=[{"period": "2020", "value": 4000.0}])
    periods = [f"{2015 + i // 12}-{i % 12 + 1:02d}" for i in range(60)]
    for code, values in (*parts.items(), ("ld", whole)):
        if code != "ld":
            define(api, auth, code, f"Thu {code}")
        obs = [{"period": p, "value": round(v, 6)} for p, v in zip(periods, values, strict=True)]
        r = api.post(f"/v1/indicators/{code}/observations", json={"observations": obs}, headers=auth("analyst"))
        assert r.status_code == 200, r.text
    single = api.get("/v1/indicators/ld/forecast?horizon=6", headers=auth("viewer")).json()
    assert "reconciled" not in single
    r = api.patch("/v1/indicators/ld", json={"components": list(parts), "nonnegative": True}, headers=auth("analyst"))
    assert r.status_code == 200, r.text

    def fc(code: str) -> dict[str, Any]:
        r = api.get(f"/v1/indicators/{code}/forecast?horizon=6&level=80&level=95", headers=auth("viewer"))
        assert r.status_code == 200, r.text
        return dict(r.json())

    total = fc("ld")
    assert total["reconciled"]["method"]
    assert [n["code"] for n in total["reconciled"]["tree"]] == ["ld", *parts]
    assert total["reconciled"]["tree"][0]["components"] == list(parts)
    bodies = {c: fc(c) for c in parts}
    for j, point in enumerate(total["points"]):
        summed = sum(b["points"][j]["mean"] for b in bodies.values())
        assert abs(summed - point["mean"]) <= 1e-9 * abs(point["mean"])
        assert point["lower_95"] <= point["lower_80"] <= point["mean"] <= point["upper_80"] <= point["upper_95"]
    assert all(b["reconciled"]["tree"] == total["reconciled"]["tree"] for b in bodies.values())
    assert "error" in total["targets"][0]  # the year 2020 reaches past the 6 months forecast
    # a target at the upper 80% bound is met with probability 0.10: probabilities agree with the bands
    upper = total["points"][2]["upper_80"]
    targets = [{"period": total["points"][2]["period"], "value": upper}, {"period": "2020", "value": 4000.0}]
    assert api.patch("/v1/indicators/ld", json={"targets": targets}, headers=auth("analyst")).status_code == 200
    total = fc("ld")
    assert total["targets"][0]["probability"] == pytest.approx(0.10, abs=1e-6)
    assert total["targets"][0]["periods_forecast"] == 1
    # cached: the same answer until any node's data changes
    assert fc("ld")["generated_at"] == total["generated_at"]
    r = api.post(
        "/v1/indicators/bth_cu/observations",
        json={"observations": [{"period": "2019-12", "value": parts["bth_cu"][-1] + 5.0}]},
        headers=auth("analyst"),
    )
    assert r.status_code == 200 and r.json()["revised"] == 1
    assert fc("ld")["generated_at"] != total["generated_at"]


@SQLITE_ONLY
def test_too_large_and_unsupported_files_get_413_and_415(api: Any, auth: Any, services: Any) -> None:
    define(api, auth, "thu_ns", "Thu ngân sách nhà nước")
    services.settings.intake.max_bytes = 200
    r = api.post(
        "/v1/indicators/thu_ns/observations",
        files={"file": ("a.csv", monthly_vi_csv(), "text/csv")},
        headers=auth("analyst"),
    )
    # the body limit of these routes is the intake's (IOC_INTAKE__MAX_BYTES), refused before parsing
    assert r.status_code == 413 and r.json()["error"]["code"] in {"too_large", "payload_too_large"}, r.text
    services.settings.intake.max_bytes = 10**6
    r = api.post(
        "/v1/indicators/thu_ns/observations",
        files={"file": ("a.pdf", b"%PDF-1.4 ...", "application/pdf")},
        headers=auth("analyst"),
    )
    assert r.json()["error"]["code"] == "unsupported_format"
    assert r.status_code == 415
