"""PostgreSQL and Redis connections cut and restored under a running distributed service.

``ioc serve --workers 1`` (the API and a job thread, one process) reaches PostgreSQL and Redis through
:class:`tests.faults.proxy.Proxy`, which the test cuts (every connection closed, new ones refused) and
restores; the machine's shared servers are never touched. While a store is cut, requests that need it get
a clean 503 at once (no hang, no 500, nothing internal in the body) and ``/health`` says which; once it is
back, writes and the job queue recover in the same process: nothing lost, nothing run twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from api import jobs
from api.services import Services
from api.storage.tables import Job, utcnow
from tests.conftest import make_key, make_settings, start_services
from tests.faults.conftest import Process, Server, assert_clean_error, wait_for
from tests.faults.proxy import Proxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

PLUGIN = "tests.api.job_plugins"
#: A request while a store is cut must be answered within this (a hang is a failure).
ANSWER_S = 5.0


def _through(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()


def _target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _steps(log: Path) -> list[int]:
    return [int(line.split()[0]) for line in log.read_text().splitlines()] if log.exists() else []


def _timed(call: Any) -> httpx.Response:
    started = time.monotonic()
    r: httpx.Response = call()
    assert time.monotonic() - started < ANSWER_S, f"took {time.monotonic() - started:.1f}s: {r.request.url}"
    return r


def _observations(direct: Services, code: str) -> int:
    from api.storage.tables import Observation

    with direct.db.session() as s:
        query = select(func.count()).select_from(Observation)
        return int(s.scalar(query.where(Observation.indicator_code == code, Observation.is_current)) or 0)


def _monthly(start_year: int, n: int, level: float) -> list[dict[str, Any]]:
    return [{"period": f"{start_year + i // 12:04d}-{i % 12 + 1:02d}", "value": level + i} for i in range(n)]


def test_postgres_and_redis_cut_and_restored(
    tmp_path: Path, postgres_url: str, redis_url: str, processes: list[Process]
) -> None:
    pg = Proxy(*_target(postgres_url, 5432)).start()
    rq = Proxy(*_target(redis_url, 6379)).start()
    direct = start_services(
        make_settings(tmp_path / "direct", database_url=postgres_url, queue_url=redis_url, jobs={"plugins": [PLUGIN]})
    )
    try:
        served = make_settings(
            tmp_path / "var",
            database_url=_through(postgres_url, pg),
            queue_url=_through(redis_url, rq),
            jobs={"plugins": [PLUGIN]},
            http={"health_cache_s": 0},  # /health must tell the cut at once
        )
        server = Server(served, tmp_path / "serve.log", "--workers", "1")
        processes.append(server)
        api = server.client
        analyst = {"Authorization": f"Bearer {make_key(direct, 'analyst')}"}
        body = {"name": "Thu ngân sách", "unit": "tỷ đồng", "frequency": "M", "kind": "flow", "source": "Sở Tài chính"}
        assert api.put("/v1/indicators/thu", json=body, headers=analyst).status_code == 200
        r = api.post("/v1/indicators/thu/observations", json={"observations": _monthly(2020, 12, 100)}, headers=analyst)
        assert r.status_code == 200, r.text
        assert api.get("/health").json()["checks"] == {"database": "ok", "queue": "ok"}

        # A job is running in the served process when PostgreSQL goes away.
        log = tmp_path / "steps.txt"
        job = jobs.enqueue(direct, "count", {"steps": 10, "step_s": 0.3, "log": str(log)}, owner="t")
        wait_for(lambda: len(_steps(log)) >= 2, 30, "the served worker to do two steps")

        pg.cut()
        for call in (
            lambda: api.get("/v1/indicators", headers=analyst),
            lambda: api.put("/v1/indicators/chi", json=body, headers=analyst),
            lambda: api.post(
                "/v1/indicators/thu/observations", json={"observations": _monthly(2021, 12, 200)}, headers=analyst
            ),
        ):
            err = assert_clean_error(_timed(call), 503)
            assert err["error"]["code"] == "database_unavailable", err
        health = _timed(lambda: api.get("/health"))
        assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
        assert health.json()["checks"]["database"].startswith("error"), health.json()
        assert health.json()["checks"]["queue"] == "ok"
        assert _timed(lambda: api.get("/health/live")).status_code == 200
        time.sleep(1.0)  # the job's writes fail meanwhile; its heartbeat goes stale

        pg.restore()
        # Writes come back in the same process without a restart: the dead pooled connections are dropped.
        wait_for(lambda: api.get("/health").status_code == 200, 10, "/health to be ok again after PostgreSQL is back")
        r = api.post("/v1/indicators/thu/observations", json={"observations": _monthly(2021, 12, 200)}, headers=analyst)
        assert r.status_code == 200, r.text
        assert api.put("/v1/indicators/chi", json=body, headers=analyst).status_code == 200
        assert _observations(direct, "thu") == 24  # the refused upload stored nothing; the accepted one all
        # The interrupted job is re-run by the reaper from its checkpoint and finishes once.
        wait_for(lambda: jobs.get_job(direct, job.id).status in jobs.TERMINAL, 40, "the interrupted job to finish")
        done = jobs.get_job(direct, job.id)
        assert done.status == "succeeded", (done.error, server.tail())
        steps = _steps(log)
        assert sorted(set(steps)) == list(range(10)), steps  # nothing lost
        assert len(steps) - len(set(steps)) <= 1, steps  # at most the step in flight at the cut ran twice

        # Redis goes away: work that needs the queue is refused cleanly, reads go on.
        rq.cut()
        err = assert_clean_error(
            _timed(lambda: api.post("/v1/models/forecasting/train", json={}, headers=analyst)), 503
        )
        assert err["error"]["code"] == "unavailable", err
        health = _timed(lambda: api.get("/health"))
        assert health.status_code == 503 and health.json()["checks"]["queue"].startswith("error"), health.text
        assert health.json()["checks"]["database"] == "ok"
        assert _timed(lambda: api.get("/v1/indicators/thu/observations", headers=analyst)).status_code == 200
        r = _timed(
            lambda: api.post(
                "/v1/indicators/thu/observations", json={"observations": _monthly(2022, 12, 300)}, headers=analyst
            )
        )
        assert r.status_code == 200, r.text
        # A worker dies while the queue is away: the reaper cannot put its job back on the queue yet, and must
        # not lose it (a job marked queued that no queue holds would never run).
        orphan_log = tmp_path / "orphan.txt"
        orphan = jobs.enqueue(direct, "count", {"steps": 3, "step_s": 0.05, "log": str(orphan_log)}, owner="t")
        direct.queue.flush()  # the dead worker had taken it off the queue
        with direct.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == orphan.id)
                .values(status="running", worker="dead:1:x", attempts=1, heartbeat_at=utcnow().replace(year=2000))
            )
        queued_meanwhile = jobs.enqueue(direct, "count", {"steps": 3, "step_s": 0.05, "log": str(tmp_path / "q.txt")})
        time.sleep(1.5)  # several reaper passes fail against the cut queue

        rq.restore()
        wait_for(lambda: api.get("/health").status_code == 200, 10, "/health to be ok again after Redis is back")
        for j in (orphan, queued_meanwhile):
            wait_for(lambda j=j: jobs.get_job(direct, j.id).status in jobs.TERMINAL, 30, f"job {j.id} to finish")
            assert jobs.get_job(direct, j.id).status == "succeeded", (jobs.get_job(direct, j.id).error, server.tail())
        assert _steps(orphan_log) == [0, 1, 2]
        r = api.post("/v1/indicators/thu/observations", json={"observations": _monthly(2023, 12, 400)}, headers=analyst)
        assert r.status_code == 200, r.text
        assert _observations(direct, "thu") == 48
        with direct.db.session() as s:  # the refused training request left one failed job, no running one
            trains = list(s.scalars(select(Job.status).where(Job.kind == "train")))
        assert trains == ["failed"], trains
        assert server.popen.poll() is None  # the same process all along
    finally:
        pg.close()
        rq.close()
        direct.close()
