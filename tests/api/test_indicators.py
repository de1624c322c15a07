"""Indicator routes: catalogue, observations (JSON/CSV/XLSX), revisions, forecasts, targets, anomalies."""

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


def _monthly(n: int, start_year: int = 2015, level: float = 100.0, seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        y, m = start_year + i // 12, i % 12 + 1
        season = 10 * math.sin(2 * math.pi * m / 12)
        out.append({"period": f"{y:04d}-{m:02d}", "value": round(level + 0.5 * i + season + rng.normal(0, 1), 3)})
    return out


def _define(api: Any, auth: Any, code: str = "exports", frequency: str = "M", **extra: Any) -> Any:
    body = {
        "name": "Kim ngạch xuất khẩu",
        "unit": "triệu USD",
        "frequency": frequency,
        "kind": "flow",
        "source": "Cục Thống kê",
    } | extra
    r = api.put(f"/v1/indicators/{code}", json=body, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    return r.json()


def test_define_load_forecast_and_revise(api: Any, auth: Any) -> None:
    _define(api, auth, targets=[{"period": "2021", "value": 5.0, "kind": "growth"}])
    r = api.post("/v1/indicators/exports/observations", json={"observations": _monthly(72)}, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], r.json()["revised"]) == (72, 0)
    cat = api.get("/v1/indicators", headers=auth("viewer")).json()
    assert cat[0]["n_observations"] == 72 and cat[0]["last_period"] == "2020-12"

    r = api.get("/v1/indicators/exports/forecast?horizon=6&level=80&level=95", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "forecasting", "version": "1"}
    assert [p["period"] for p in body["points"]] == [f"2021-0{m}" for m in range(1, 7)]
    for p in body["points"]:
        assert p["lower_95"] <= p["lower_80"] <= p["mean"] <= p["upper_80"] <= p["upper_95"]
    assert {"smape", "coverage_80"} <= set(body["backtest"])
    etag = r.headers["etag"]
    again = api.get(
        "/v1/indicators/exports/forecast?horizon=6&level=80&level=95", headers=auth("viewer") | {"If-None-Match": etag}
    )
    assert again.status_code == 304
    csv = api.get("/v1/indicators/exports/forecast?horizon=6&format=csv", headers=auth("viewer"))
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "indicator,period,mean,lower_80,upper_80,lower_95,upper_95"

    # a revision keeps the old value and changes the forecast's data version
    r = api.post(
        "/v1/indicators/exports/observations",
        json={"observations": [{"period": "2020-12", "value": 1.0}]},
        headers=auth("analyst"),
    )
    assert (r.json()["revised"], r.json()["inserted"]) == (1, 0)
    revs = api.get("/v1/indicators/exports/observations?revisions=true", headers=auth("viewer")).json()["observations"]
    dec = [o for o in revs if o["period"] == "2020-12"]
    assert [(o["revision"], o["current"]) for o in dec] == [(1, False), (2, True)]
    r = api.get(
        "/v1/indicators/exports/forecast?horizon=6&level=80&level=95", headers=auth("viewer") | {"If-None-Match": etag}
    )
    assert r.status_code == 200 and r.headers["etag"] != etag

    targets = api.get("/v1/indicators/exports/targets", headers=auth("viewer")).json()["targets"]
    assert 0.0 <= targets[0]["probability"] <= 1.0
    png = api.get("/v1/indicators/exports/forecast.png?horizon=6", headers=auth("viewer"))
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


@SQLITE_ONLY
def test_csv_and_xlsx_uploads(api: Any, auth: Any) -> None:
    import openpyxl

    _define(api, auth, code="budget", frequency="Y", kind="flow")
    csv = "period,value\n" + "\n".join(f"{2006 + i},{1000 + 50 * i}" for i in range(8))
    r = api.post(
        "/v1/indicators/budget/observations",
        files={"file": ("thu.csv", csv.encode(), "text/csv")},
        headers=auth("analyst"),
    )
    assert r.status_code == 200 and r.json()["inserted"] == 8, r.text
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["period", "value"])
    ws.append(["2014", 1500.0])
    ws.append(["2015", 1600.0])
    buf = io.BytesIO()
    wb.save(buf)
    r = api.post(
        "/v1/indicators/budget/observations",
        files={"file": ("thu.xlsx", buf.getvalue(), "application/octet-stream")},
        headers=auth("analyst"),
    )
    assert r.status_code == 200 and r.json()["inserted"] == 2, r.text


def _assert_rejected(
    api: Any,
    auth: Any,
    code: str,
    files: Any = None,
    json: Any = None,
    content: Any = None,
    headers: Any = None,
    expect: str = "",
) -> dict[str, Any]:
    before = api.get(f"/v1/indicators/{code}/observations?revisions=true", headers=auth("viewer")).json()
    r = api.post(
        f"/v1/indicators/{code}/observations",
        files=files,
        json=json,
        content=content,
        headers=auth("analyst") | (headers or {}),
    )
    assert 400 <= r.status_code < 500, (files, json, content, r.text)
    err = r.json()["error"]
    assert expect.lower() in (err["message"] + str(err["detail"])).lower(), err
    after = api.get(f"/v1/indicators/{code}/observations?revisions=true", headers=auth("viewer")).json()
    assert after == before  # nothing half-written
    return err


def test_garbage_uploads_are_refused_with_the_row_and_nothing_changes(api: Any, auth: Any) -> None:
    import openpyxl

    _define(api, auth, code="cpi", frequency="M", kind="stock")
    api.post("/v1/indicators/cpi/observations", json={"observations": _monthly(12)}, headers=auth("analyst"))
    bad_date = b"period,value\n2021-01,1\n2021-13,2\n"
    err = _assert_rejected(api, auth, "cpi", files={"file": ("a.csv", bad_date, "text/csv")}, expect="row 3")
    assert err["detail"]["problems"][0]["column"] == "period"
    dup = b"period,value\n2021-01,1\n2021-01,2\n"
    _assert_rejected(api, auth, "cpi", files={"file": ("a.csv", dup, "text/csv")}, expect="appears twice")
    text_value = b"period,value\n2021-01,1\n2021-02,abc\n"
    _assert_rejected(api, auth, "cpi", files={"file": ("a.csv", text_value, "text/csv")}, expect="not a number")
    _assert_rejected(api, auth, "cpi", files={"file": ("a.csv", b"", "text/csv")}, expect="empty")
    _assert_rejected(api, auth, "cpi", files={"file": ("a.csv", b"\xff\xfe\x00garbage", "text/csv")})
    _assert_rejected(api, auth, "cpi", json={"observations": [{"period": "2021-01", "value": None}]})
    _assert_rejected(api, auth, "cpi", json={"observations": []}, expect="observations")
    _assert_rejected(api, auth, "cpi", json={"rows": []})
    _assert_rejected(
        api, auth, "cpi", content=b"<xml/>", headers={"Content-Type": "application/xml"}, expect="content type"
    )
    _assert_rejected(api, auth, "cpi", json={"observations": [{"period": "2021", "value": 3}]})  # wrong frequency

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["period", "value"])
    ws.append(["2021-01", 1.0])
    ws.append(["2021-02", 2.0])
    ws.merge_cells("A2:A3")
    buf = io.BytesIO()
    wb.save(buf)
    # a merged period cell leaves the second row without a period
    _assert_rejected(
        api, auth, "cpi", files={"file": ("f.xlsx", buf.getvalue(), "application/octet-stream")}, expect="row 3"
    )


@SQLITE_ONLY
def test_unknown_indicator_and_bad_query_parameters(api: Any, auth: Any) -> None:
    assert api.get("/v1/indicators/nope/forecast", headers=auth("viewer")).status_code == 404
    assert (
        api.post(
            "/v1/indicators/nope/observations",
            json={"observations": [{"period": "2020", "value": 1}]},
            headers=auth("analyst"),
        ).status_code
        == 404
    )
    _define(api, auth, code="short", frequency="Y")
    api.post(
        "/v1/indicators/short/observations",
        json={"observations": [{"period": "2020", "value": 1}]},
        headers=auth("analyst"),
    )
    for query in (
        "horizon=0",
        "horizon=-3",
        "horizon=100000",
        "level=0",
        "level=100",
        "level=150",
        "horizon=abc",
        "format=pdf",
    ):
        r = api.get(f"/v1/indicators/short/forecast?{query}", headers=auth("viewer"))
        assert r.status_code == 422, (query, r.text)
    r = api.get("/v1/indicators/short/forecast?horizon=2", headers=auth("viewer"))
    assert r.status_code == 422 and "short" in r.json()["error"]["message"]
    r = api.put("/v1/indicators/bad", json={"name": "", "frequency": "W"}, headers=auth("analyst"))
    assert r.status_code == 422


def test_anomalies_are_flagged_on_ingestion_and_listed(api: Any, auth: Any) -> None:
    _define(api, auth, code="retail", frequency="M", kind="flow")
    api.post("/v1/indicators/retail/observations", json={"observations": _monthly(48)}, headers=auth("analyst"))
    expected = api.get("/v1/indicators/retail/forecast?horizon=1", headers=auth("viewer")).json()["points"][0]
    normal = {"period": expected["period"], "value": expected["mean"]}
    r = api.post("/v1/indicators/retail/observations", json={"observations": [normal]}, headers=auth("analyst"))
    assert r.json()["anomalies"] == []
    wrong = {"period": "2019-02", "value": normal["value"] * 10}  # a reporting error: an extra zero
    r = api.post("/v1/indicators/retail/observations", json={"observations": [wrong]}, headers=auth("analyst"))
    assert [a["period"] for a in r.json()["anomalies"]] == ["2019-02"]
    assert r.json()["anomalies"][0]["direction"] == "above"
    listed = api.get("/v1/anomalies?indicator=retail", headers=auth("viewer")).json()
    assert listed[0]["period"] == "2019-02" and listed[0]["value"] == wrong["value"]


def test_an_anomaly_is_flagged_against_the_band_the_dashboard_showed_and_can_be_closed(api: Any, auth: Any) -> None:
    """Issue 14.3: the flag used another band than the published one for the same month (882-1,158 vs
    796-1,244); and there was no way to acknowledge or close an anomaly."""
    _define(api, auth, code="retail", frequency="M", kind="flow")
    api.post("/v1/indicators/retail/observations", json={"observations": _monthly(48)}, headers=auth("analyst"))
    shown = api.get("/v1/indicators/retail/forecast?horizon=12", headers=auth("viewer")).json()["points"]
    # values for the next three months, the third far outside what the dashboard showed for it
    new = [{"period": p["period"], "value": p["mean"]} for p in shown[:2]]
    new.append({"period": shown[2]["period"], "value": shown[2]["upper_95"] * 3})
    r = api.post("/v1/indicators/retail/observations", json={"observations": new}, headers=auth("analyst"))
    flagged = r.json()["anomalies"]
    assert [a["period"] for a in flagged] == [shown[2]["period"]]
    assert flagged[0]["lower_95"] == pytest.approx(shown[2]["lower_95"], rel=1e-9)
    assert flagged[0]["upper_95"] == pytest.approx(shown[2]["upper_95"], rel=1e-9)

    listed = api.get("/v1/anomalies?status=open", headers=auth("viewer")).json()
    assert [a["period"] for a in listed] == [shown[2]["period"]] and listed[0]["status"] == "open"
    aid = listed[0]["id"]
    note = {"status": "closed", "note": "Sở Công Thương: nhập thừa một chữ số 0"}
    assert api.patch(f"/v1/anomalies/{aid}", json=note, headers=auth("viewer")).status_code == 403
    r = api.patch(f"/v1/anomalies/{aid}", json=note, headers=auth("analyst"))
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["reviewed_by"].startswith("key:")
    assert api.get("/v1/anomalies?status=open", headers=auth("viewer")).json() == []
    assert api.patch("/v1/anomalies/999999", json=note, headers=auth("analyst")).status_code == 404
    assert api.patch(f"/v1/anomalies/{aid}", json={"status": "gone"}, headers=auth("analyst")).status_code == 422


@SQLITE_ONLY
def test_stateless_forecasts(api: Any, auth: Any) -> None:
    body = {
        "frequency": "Q",
        "horizon": 4,
        "levels": [80, 95],
        "series": [
            {"id": "a", "start": "2015-Q1", "values": [float(10 + i % 4 + i) for i in range(24)]},
            {"id": "b", "start": "2010-Q3", "values": [5.0] * 12},
        ],
    }
    r = api.post("/v1/forecasts", json=body, headers=auth("viewer"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert [f["id"] for f in out["forecasts"]] == ["a", "b"]
    assert [p["period"] for p in out["forecasts"][0]["points"]] == ["2021-Q1", "2021-Q2", "2021-Q3", "2021-Q4"]
    assert out["forecasts"][1]["points"][0]["mean"] == pytest.approx(5.0)
    for bad in (
        {"horizon": 0},
        {"levels": [100]},
        {"frequency": "W"},
        {"series": []},
        {"series": [{"id": "a", "start": "2015-Q1", "values": ["x"]}]},
        {"series": [{"id": "a", "start": "2015-Q1", "values": [1.0, None, 2.0] * 8}]},
        {"series": [{"id": "a", "start": "2015-Q1", "values": [1.0, 2.0]}]},
        {"series": [{"id": "a", "start": "2015-Q5", "values": [1.0] * 12}]},
    ):
        assert api.post("/v1/forecasts", json=body | bad, headers=auth("viewer")).status_code == 422, bad
    # an integer start is an index (the season length of the frequency kept): the periods are integers
    index = body | {"series": [{"id": "i", "start": 7, "values": [float(10 + i % 4) for i in range(24)]}]}
    r = api.post("/v1/forecasts", json=index, headers=auth("viewer"))
    assert r.status_code == 200, r.text
    assert [p["period"] for p in r.json()["forecasts"][0]["points"]] == [31, 32, 33, 34]


@SQLITE_ONLY
def test_training_a_pipeline_backtests_the_stored_indicators_and_registers_it(
    api: Any, auth: Any, services: Any
) -> None:
    _define(api, auth, code="exports", frequency="M", kind="flow")
    api.post("/v1/indicators/exports/observations", json={"observations": _monthly(60)}, headers=auth("analyst"))
    r = api.post("/v1/models/forecasting/train", json={"params": {"combination": "mean"}}, headers=auth("analyst"))
    assert r.status_code == 202, r.text
    assert services.queue.run_next()
    job = api.get(f"/v1/jobs/{r.json()['id']}", headers=auth("analyst")).json()
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["version"] == "2" and job["result"]["n_indicators"] == 1
    assert 0 < job["result"]["metrics"]["smape"] < 20
    version = next(
        v
        for m in api.get("/v1/models", headers=auth("viewer")).json()
        if m["name"] == "forecasting"
        for v in m["versions"]
        if v["version"] == "2"
    )
    assert version["params"]["combination"] == "mean" and version["tags"]["data_fingerprint"]
    assert {"smape", "coverage_80", "coverage_95"} <= set(version["metrics"])
    # an unknown option is refused before anything is queued, with a message that names it
    r = api.post("/v1/models/forecasting/train", json={"params": {"colour": "red"}}, headers=auth("analyst"))
    assert r.status_code == 422 and "colour" in r.json()["error"]["message"], r.text
    assert not services.queue.run_next()
    # so does a malformed per-frequency pool
    r = api.post("/v1/models/forecasting/train", json={"params": {"pools": {"W": ["ets"]}}}, headers=auth("analyst"))
    services.queue.run_next()
    job = api.get(f"/v1/jobs/{r.json()['id']}", headers=auth("analyst")).json()
    assert job["status"] == "failed" and "pools" in job["error"]


@SQLITE_ONLY
def test_seasonal_adjustment_with_tet(api: Any, auth: Any) -> None:
    from forecasting.tet import tet_regressor

    _define(api, auth)
    obs = _monthly(96, start_year=2014)
    years = np.array([int(o["period"][:4]) for o in obs])
    months = np.array([int(o["period"][5:]) for o in obs])
    tet = tet_regressor(years, months, 7, 14)
    for o, x in zip(obs, tet, strict=True):
        o["value"] = round(o["value"] * math.exp(-0.3 * x), 3)  # exports drop in the month of Tết
    api.post("/v1/indicators/exports/observations", json={"observations": obs}, headers=auth("analyst"))
    r = api.get("/v1/indicators/exports/seasonal-adjustment", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decomposition"] == "multiplicative" and len(body["points"]) == 96
    assert body["tet"]["coefficient"] == pytest.approx(-0.3, abs=0.05) and body["tet"]["t"] < -3
    p = body["points"][0]
    assert p["value"] == pytest.approx(p["adjusted"] * p["seasonal"] * p["holiday"], rel=1e-6)
    csv = api.get("/v1/indicators/exports/seasonal-adjustment?tet=false&format=csv", headers=auth("viewer"))
    assert csv.text.splitlines()[0] == "indicator,period,value,adjusted,seasonal,holiday,trend,irregular"
    png = api.get("/v1/indicators/exports/seasonal-adjustment.png", headers=auth("viewer"))
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"

    # yearly, too short, unknown: clear errors
    _define(api, auth, code="budget", frequency="Y")
    api.post(
        "/v1/indicators/budget/observations",
        json={"observations": [{"period": str(2010 + i), "value": 10.0 + i} for i in range(8)]},
        headers=auth("analyst"),
    )
    r = api.get("/v1/indicators/budget/seasonal-adjustment", headers=auth("viewer"))
    assert r.status_code == 422 and "monthly" in r.json()["error"]["message"]
    _define(api, auth, code="new_series")
    api.post("/v1/indicators/new_series/observations", json={"observations": _monthly(24)}, headers=auth("analyst"))
    r = api.get("/v1/indicators/new_series/seasonal-adjustment", headers=auth("viewer"))
    assert r.status_code == 422 and "36 to 780" in r.json()["error"]["message"]
    assert api.get("/v1/indicators/nope/seasonal-adjustment", headers=auth("viewer")).status_code == 404
    assert api.get("/v1/indicators/exports/seasonal-adjustment?tet=maybe", headers=auth("viewer")).status_code == 422
    assert api.get("/v1/indicators/exports/seasonal-adjustment?format=xml", headers=auth("viewer")).status_code == 422


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("tỷ đồng", True), ("triệu USD", True), ("nghìn lượt", True), ("tấn", True), ("%", False),
     ("chỉ số (2019=100)", False), ("", False)],
)  # fmt: skip
def test_new_indicators_in_money_people_or_goods_are_nonnegative_by_default(unit: str, expected: bool) -> None:
    from api.stores.indicators import default_nonnegative

    assert default_nonnegative(unit, "flow") is expected


def test_a_nonnegative_indicator_forecasts_no_band_below_zero(client: Any, auth: Any, services: Any) -> None:
    """Issue 14.2: a short, volatile budget series used to get a 95% band down below zero."""
    from api.tasks.forecasting import register_default_pipeline

    register_default_pipeline(services)
    h = auth("analyst")
    r = client.put(
        "/v1/indicators/chi_ns", json={"name": "Chi ngân sách", "unit": "tỷ đồng", "frequency": "Y"}, headers=h
    )
    assert r.status_code == 200 and r.json()["nonnegative"] is True, r.text
    values = [5.1, 9.8, 4.2, 11.5, 3.9, 12.8, 4.4, 13.9, 3.1, 14.6]
    obs = [{"period": str(2006 + i), "value": v} for i, v in enumerate(values)]
    assert client.post("/v1/indicators/chi_ns/observations", json={"observations": obs}, headers=h).status_code == 200
    points = client.get("/v1/indicators/chi_ns/forecast?horizon=5", headers=h).json()["points"]
    assert min(p["lower_95"] for p in points) >= 0.0, points
    r = client.post(
        "/v1/indicators/chi_ns/observations", json={"observations": [{"period": "2016", "value": -1}]}, headers=h
    )
    assert r.status_code == 422 and "cannot be negative" in r.json()["error"]["message"], r.text
