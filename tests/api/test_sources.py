"""Sources: a local HTTP server (127.0.0.1, allowed by setting) serves CSV, XLSX and JSON-stat with ETags and
failure modes; sources are registered, pulled on demand and on a short schedule, against SQLite+SQLite-queue
and PostgreSQL+Redis. Refusals of private addresses use a resolver the test controls: nothing leaves 127/8."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from api.services import Services
from api.storage.tables import AuditEntry, Job, Observation, Source, utcnow
from api.stores import sources as sources_store
from api.worker import WorkerPool
from forecasting.intake import fetch as fetch_mod
from tests.conftest import make_key, make_settings, run_ioc, settings_env, start_services
from tests.source_server import Served, jsonstat, serve

MAX_BYTES = 50_000


@pytest.fixture(params=["embedded", pytest.param("distributed", marks=[pytest.mark.postgres, pytest.mark.redis])])
def svc(request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: dict[str, Any]) -> Iterator[Services]:
    (tmp_path / "var").mkdir()
    shutil.copyfile(migrated_templates["mlflow"], tmp_path / "var" / "mlflow.db")
    sources = {
        "allowed_hosts": ["127.0.0.1"],
        "min_interval_s": 1,
        "scheduler_interval_s": 0.2,
        "retries": 1,
        "backoff_s": 0.01,
        "read_timeout_s": 3,
        "max_bytes": MAX_BYTES,
    }
    if request.param == "embedded":
        shutil.copyfile(migrated_templates["sqlite"], tmp_path / "ioc.db")
        settings = make_settings(tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'ioc.db'}", sources=sources)
    else:
        settings = make_settings(
            tmp_path / "var",
            database_url=request.getfixturevalue("postgres_url"),
            queue_url=request.getfixturevalue("redis_url"),
            sources=sources,
        )
    s = start_services(settings)
    yield s
    s.close()


@pytest.fixture
def api(svc: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=svc, workers=0, run_startup=False)) as c:
        c.headers["Authorization"] = f"Bearer {make_key(svc, 'analyst')}"
        for code, name in (("thu", "Thu ngân sách"), ("ban_le", "Tổng mức bán lẻ"), ("xk", "Kim ngạch xuất khẩu")):
            r = c.put(f"/v1/indicators/{code}", json={"name": name, "unit": "tỷ đồng", "frequency": "M"})
            assert r.status_code == 200, r.text
        yield c


@pytest.fixture
def server() -> Iterator[Served]:
    with serve() as s:
        s.put("/thu.csv", "text/csv", "Kỳ;Giá trị\nTháng 1/2024;1.234,5\nTháng 2/2024;1.300\n".encode())
        s.put("/bieu.xlsx", "application/octet-stream", _bieu(["Tháng 1", "Tháng 2"], [[10.5, 11.5], [20, 21]]))
        s.put("/xk.json", "application/json", json.dumps(jsonstat(["2024M01", "2024M02"], [5.5, 6.25])).encode())
        yield s


def _bieu(months: list[str], rows: list[list[float]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["BÁO CÁO KINH TẾ - XÃ HỘI NĂM 2024"])
    ws.append(["STT", "Chỉ tiêu", "ĐVT", *months])
    ws.append([1, "Thu ngân sách", "tỷ đồng", *rows[0]])
    ws.append([2, "Tổng mức bán lẻ", "tỷ đồng", *rows[1]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _drain(svc: Services) -> None:
    while svc.queue.run_next():
        pass


def _register(api: TestClient, server: Served, path: str, fmt: str, **extra: Any) -> dict[str, Any]:
    body = {"url": server.url(path), "format": fmt, "schedule": 3600, **extra}
    r = api.post("/v1/sources", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _pull(api: TestClient, svc: Services, source_id: int) -> dict[str, Any]:
    r = api.post(f"/v1/sources/{source_id}/pull")
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "sources.pull"
    _drain(svc)
    job = api.get(f"/v1/jobs/{r.json()['id']}")
    assert job.status_code == 200
    return dict(job.json())


def _series(api: TestClient, code: str) -> list[tuple[str, float]]:
    r = api.get(f"/v1/indicators/{code}/observations")
    return [(o["period"], o["value"]) for o in r.json()["observations"]]


def _rows(svc: Services) -> int:
    with svc.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Observation)) or 0)


def test_csv_xlsx_and_jsonstat_are_pulled_and_an_unchanged_file_is_not_restored(
    api: TestClient, svc: Services, server: Served
) -> None:
    thu = _register(api, server, "/thu.csv", "csv", indicator="thu", name="Sở Tài chính")
    bieu = _register(api, server, "/bieu.xlsx", "xlsx")  # a report matched to the catalogue by name
    xk = _register(api, server, "/xk.json", "json-stat", indicator="xk")
    assert thu["next_due_at"] and thu["last_pull_at"] is None and thu["alert"] is None

    job = _pull(api, svc, thu["id"])
    assert job["status"] == "succeeded" and job["result"]["status"] == "stored", job
    assert _series(api, "thu") == [("2024-01", 1234.5), ("2024-02", 1300.0)]
    job = _pull(api, svc, bieu["id"])
    assert job["result"]["indicators"] == ["thu", "ban_le"] and job["result"]["revised"] == 2  # thu's new values
    assert _series(api, "ban_le") == [("2024-01", 20.0), ("2024-02", 21.0)]
    job = _pull(api, svc, xk["id"])
    assert job["result"]["inserted"] == 2 and _series(api, "xk") == [("2024-01", 5.5), ("2024-02", 6.25)]

    state = api.get(f"/v1/sources/{xk['id']}").json()
    assert state["etag"] and state["last_modified"] and state["last_status"] == "stored"
    assert (state["frequency"], state["last_period"], state["last_job_id"]) == ("M", "2024-02", job["id"])

    # unchanged: the server answers 304 to the kept ETag and nothing is stored again
    before = _rows(svc)
    for src in (thu, bieu, xk):
        job = _pull(api, svc, src["id"])
        assert job["status"] == "succeeded" and job["result"]["status"] == "unchanged", job
        assert job["result"]["inserted"] == job["result"]["revised"] == 0
    assert _rows(svc) == before
    assert server.hits("/xk.json")[-1]["if-none-match"] == state["etag"]
    assert api.get(f"/v1/sources/{xk['id']}").json()["last_status"] == "unchanged"

    # a new month arrives: only it is stored
    server.put(
        "/xk.json", "application/json", json.dumps(jsonstat(["2024M01", "2024M02", "2024M03"], [5.5, 6.25, 7])).encode()
    )
    job = _pull(api, svc, xk["id"])
    assert (job["result"]["inserted"], job["result"]["unchanged"]) == (1, 2)
    assert api.get(f"/v1/sources/{xk['id']}").json()["last_period"] == "2024-03"
    with svc.db.session() as s:
        pulls = s.scalars(select(AuditEntry).where(AuditEntry.action == "sources.pull")).all()
        assert len(pulls) == 7 and all(p.object_type == "source" for p in pulls)
        stored = s.scalars(select(AuditEntry).where(AuditEntry.action == "observations.upsert")).all()
        assert {e.actor for e in stored} == {f"source {thu['id']}", f"source {bieu['id']}", f"source {xk['id']}"}


def test_a_server_error_or_a_garbage_body_changes_nothing_and_raises_an_alert(
    api: TestClient, svc: Services, server: Served
) -> None:
    src = _register(api, server, "/thu.csv", "csv", indicator="thu")
    assert _pull(api, svc, src["id"])["status"] == "succeeded"
    before, series = _rows(svc), _series(api, "thu")
    etag = api.get(f"/v1/sources/{src['id']}").json()["etag"]

    server.modes["/thu.csv"] = "500"
    job = _pull(api, svc, src["id"])
    assert job["status"] == "failed" and "HTTP 500" in job["error"]
    state = api.get(f"/v1/sources/{src['id']}").json()
    assert (state["last_status"], state["last_error_code"], state["consecutive_failures"]) == (
        "failed",
        "http_status",
        1,
    )
    assert state["alert"]["kind"] == "source_failed" and "HTTP 500" in state["alert"]["message"]
    assert len(server.hits("/thu.csv")) == 1 + 2  # the first pull, then one attempt and one retry
    assert [s["id"] for s in api.get("/v1/sources", params={"alert": "true"}).json()] == [src["id"]]

    server.modes["/thu.csv"] = "garbage"
    job = _pull(api, svc, src["id"])
    assert job["status"] == "failed"
    state = api.get(f"/v1/sources/{src['id']}").json()
    assert state["consecutive_failures"] == 2 and state["last_error_code"] not in (None, "http_status")
    assert state["etag"] == etag  # a malformed body does not move the validators

    # half right: one bad row refuses the whole file
    server.modes["/thu.csv"] = "ok"
    server.put("/thu.csv", "text/csv", "Kỳ;Giá trị\nTháng 1/2024;999\nTháng 2/2024;abc\n".encode())
    job = _pull(api, svc, src["id"])
    assert job["status"] == "failed" and api.get(f"/v1/sources/{src['id']}").json()["last_error_code"] == "invalid_file"
    assert (_rows(svc), _series(api, "thu")) == (before, series)

    # fixed at the source: stored, the alert clears
    server.put(
        "/thu.csv", "text/csv", "Kỳ;Giá trị\nTháng 1/2024;1.234,5\nTháng 2/2024;1.300\nTháng 3/2024;1.400\n".encode()
    )
    job = _pull(api, svc, src["id"])
    assert job["result"]["inserted"] == 1
    state = api.get(f"/v1/sources/{src['id']}").json()
    assert state["alert"] is None and state["consecutive_failures"] == 0
    assert api.get("/v1/sources", params={"alert": "true"}).json() == []


@pytest.mark.parametrize("svc", ["embedded"], indirect=True)  # no backend-specific path
def test_a_too_large_body_is_refused(api: TestClient, svc: Services, server: Served) -> None:
    big = "Kỳ;Giá trị\n" + "".join(f"Tháng {m}/{y};{y * 100 + m}\n" for y in range(1900, 2100) for m in range(1, 13))
    assert len(big.encode()) > MAX_BYTES
    server.put("/big.csv", "text/csv", big.encode())
    src = _register(api, server, "/big.csv", "csv", indicator="thu")
    job = _pull(api, svc, src["id"])
    assert job["status"] == "failed"
    assert api.get(f"/v1/sources/{src['id']}").json()["last_error_code"] == "too_large" and _rows(svc) == 0


@pytest.mark.parametrize("svc", ["embedded"], indirect=True)  # no backend-specific path
def test_data_that_stop_arriving_raise_a_stale_alert(api: TestClient, svc: Services, server: Served) -> None:
    src = _register(api, server, "/thu.csv", "csv", indicator="thu")
    _pull(api, svc, src["id"])
    with svc.db.transaction() as s:  # the last new month arrived 70 days ago (two months are 62 days)
        s.execute(update(Source).where(Source.id == src["id"]).values(last_new_data_at=utcnow() - timedelta(days=70)))
    job = _pull(api, svc, src["id"])
    assert job["result"]["status"] == "unchanged" and job["result"]["alert"] == "source_stale"
    alert = api.get(f"/v1/sources/{src['id']}").json()["alert"]
    assert alert["kind"] == "source_stale" and "2024-02" in alert["message"]


@pytest.mark.parametrize("svc", ["embedded"], indirect=True)  # no backend-specific path
def test_refused_at_registration(api: TestClient, server: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    real = fetch_mod.resolve
    monkeypatch.setattr(
        fetch_mod, "resolve", lambda host, port: ["10.0.0.1"] if host == "intranet.test" else real(host, port)
    )
    cases = [
        ({"url": "http://intranet.test/bieu.csv"}, 422, "address_refused"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, 422, "address_refused"),
        ({"url": "file:///etc/passwd"}, 422, "scheme_refused"),
        ({"url": "ftp://127.0.0.1/x.csv"}, 422, "scheme_refused"),
        ({"schedule": 0}, 422, "invalid_schedule"),
        ({"schedule": "0 0 30 2 *"}, 422, "invalid_schedule"),
        ({"indicator": "nope"}, 404, "not_found"),
        ({"mapping": {"code_dimension": "Region"}}, 422, "invalid_mapping"),  # json-stat key on a csv source
        ({"format": "pdf"}, 422, "validation_error"),
    ]
    for change, status, code in cases:
        body = {"url": server.url("/thu.csv"), "format": "csv", "indicator": "thu", "schedule": 60} | change
        r = api.post("/v1/sources", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (change, r.text)
    assert api.get("/v1/sources").json() == []
    src = _register(api, server, "/thu.csv", "csv", indicator="thu")
    r = api.patch(f"/v1/sources/{src['id']}", json={"url": "http://intranet.test/x.csv"})
    assert r.json()["error"]["code"] == "address_refused"
    r = api.patch(f"/v1/sources/{src['id']}", json={"schedule": "0 8 * * 1", "enabled": False})
    assert r.status_code == 200 and (r.json()["schedule"], r.json()["enabled"]) == ("0 8 * * 1", False)
    assert api.delete(f"/v1/sources/{src['id']}").status_code == 204
    assert api.get(f"/v1/sources/{src['id']}").status_code == 404


def test_sources_are_pulled_on_their_schedule_and_claimed_once(api: TestClient, svc: Services, server: Served) -> None:
    src = _register(api, server, "/xk.json", "json-stat", indicator="xk", schedule=1)
    pool = WorkerPool(svc, 1)  # what ioc serve runs in-process and each ioc worker runs: jobs and the scheduler
    pool.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(server.hits("/xk.json")) < 3:
            time.sleep(0.1)
    finally:
        pool.stop(hand_back=False)
    hits = server.hits("/xk.json")
    assert len(hits) >= 3 and all("if-none-match" in h for h in hits[1:])
    assert _series(api, "xk") == [("2024-01", 5.5), ("2024-02", 6.25)]

    # several workers looking at once: one claim, one job
    with svc.db.transaction() as s:
        s.execute(update(Source).where(Source.id == src["id"]).values(next_due_at=utcnow() - timedelta(seconds=5)))
    _drain(svc)
    with svc.db.session() as s:
        jobs_before = s.scalar(select(func.count()).select_from(Job))
    barrier = threading.Barrier(4)
    started: list[str] = []

    def tick() -> None:
        barrier.wait()
        started.extend(sources_store.enqueue_due(svc))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with svc.db.session() as s:
        assert len(started) == 1 and s.scalar(select(func.count()).select_from(Job)) == jobs_before + 1


@pytest.mark.parametrize("svc", ["embedded"], indirect=True)
def test_ioc_sources_pull_pulls_in_process(api: TestClient, svc: Services, server: Served) -> None:
    src = _register(api, server, "/thu.csv", "csv", indicator="thu")
    env = settings_env(svc.settings) | {"IOC_SOURCES__ALLOWED_HOSTS": '["127.0.0.1"]', "IOC_SOURCES__RETRIES": "0"}
    done = run_ioc(env, "sources", "pull", str(src["id"]))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "stored" and _series(api, "thu")[0] == ("2024-01", 1234.5)
    assert f"{src['id']}\tcsv\tthu\t3600\tstored\t-" in run_ioc(env, "sources", "list").stdout
    server.modes["/thu.csv"] = "500"
    failed = run_ioc(env, "sources", "pull", str(src["id"]))
    assert failed.returncode == 1 and json.loads(failed.stdout)["error_code"] == "http_status"
    assert run_ioc(env, "sources", "pull", "999").returncode == 2
