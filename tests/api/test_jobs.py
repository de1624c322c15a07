"""The job system against SQLite+SQLite-queue and PostgreSQL+Redis: claims, fencing, crash recovery."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api import jobs
from api.services import Services
from api.settings import Settings
from tests.conftest import make_settings, settings_env, start_services

PLUGIN = "tests.api.job_plugins"


@pytest.fixture(params=["embedded", pytest.param("distributed", marks=[pytest.mark.postgres, pytest.mark.redis])])
def job_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "embedded":
        return make_settings(tmp_path / "var", jobs={"plugins": [PLUGIN]})
    return make_settings(
        tmp_path / "var",
        database_url=request.getfixturevalue("postgres_url"),
        queue_url=request.getfixturevalue("redis_url"),
        jobs={"plugins": [PLUGIN]},
    )


@pytest.fixture
def svc(job_settings: Settings) -> Iterator[Services]:
    s = start_services(job_settings)
    yield s
    s.close()


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _lines(log: Path) -> list[tuple[int, int, int]]:
    if not log.exists():
        return []
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()]  # type: ignore[misc]


def test_a_job_runs_once_through_the_queue(svc: Services, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    job = jobs.enqueue(svc, "count", {"steps": 3, "step_s": 0.01, "log": str(log)}, owner="t")
    assert jobs.get_job(svc, job.id).status == "queued"
    assert svc.queue.pending() == 1
    assert svc.queue.run_next() is True
    done = jobs.get_job(svc, job.id)
    assert (done.status, done.progress, done.result, done.attempts) == (
        "succeeded",
        1.0,
        {"steps": 3, "resumed_from": 0},
        1,
    )
    # a duplicate delivery of the same id does nothing
    svc.queue.enqueue(job.id)
    svc.queue.run_next()
    assert [i for i, _, _ in _lines(log)] == [0, 1, 2]


def test_a_failing_job_is_failed_with_a_safe_error(svc: Services, tmp_path: Path) -> None:
    job = jobs.enqueue(svc, "count", {"steps": 1, "step_s": 0, "log": str(tmp_path / "l"), "fail": True})
    svc.queue.run_next()
    failed = jobs.get_job(svc, job.id)
    # An input error's message is shown, with the id of the log line that has the full error.
    assert failed.status == "failed"
    assert re.fullmatch(r"asked to fail \(error id [0-9a-f]{12}\)", failed.error or ""), failed.error
    assert failed.result is None


def test_unknown_kind_is_refused(svc: Services) -> None:
    with pytest.raises(ValueError, match="unknown job kind 'nope'"):
        jobs.enqueue(svc, "nope", {})


def test_stale_job_is_requeued_then_failed_after_max_attempts(svc: Services) -> None:
    from sqlalchemy import update

    from api.storage.tables import Job, utcnow

    job = jobs.enqueue(svc, "count", {"steps": 1, "log": "/dev/null"})
    svc.queue.flush()
    old = utcnow().replace(year=2000)
    for attempt in range(1, svc.settings.jobs.max_attempts + 1):
        with svc.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(status="running", worker="dead", attempts=attempt, heartbeat_at=old)
            )
        assert jobs.requeue_stale(svc) == [job.id]
        expected = "queued" if attempt < svc.settings.jobs.max_attempts else "failed"
        assert jobs.get_job(svc, job.id).status == expected
    assert "giving up" in jobs.get_job(svc, job.id).error


def _start_worker(settings: Settings, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    out = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--threads", "1"],
        env=settings_env(settings),
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[2],
    )


@pytest.mark.slow
def test_worker_killed_with_sigkill_mid_job_another_finishes_it_exactly_once(svc: Services, tmp_path: Path) -> None:
    log = tmp_path / "steps.txt"
    steps = 12
    job = jobs.enqueue(svc, "count", {"steps": steps, "step_s": 0.25, "log": str(log)}, owner="t")
    first = _start_worker(svc.settings, tmp_path, "w1")
    try:
        _wait(lambda: len(_lines(log)) >= 4, 60, "the first worker to do 4 steps")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = len(_lines(log))
        assert jobs.get_job(svc, job.id).status == "running"  # huey lost the task; only the heartbeat knows
        second = _start_worker(svc.settings, tmp_path, "w2")
        try:
            _wait(lambda: jobs.get_job(svc, job.id).status in jobs.TERMINAL, 90, "the job to finish")
        finally:
            second.terminate()
            second.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    done = jobs.get_job(svc, job.id)
    assert done.status == "succeeded", (done.error, (tmp_path / "w2.log").read_text()[-2000:])
    assert done.attempts == 2
    assert done.result["resumed_from"] >= killed_at - 1  # resumed from the checkpoint, not from zero
    lines = _lines(log)
    steps_done = [i for i, _, _ in lines]
    assert sorted(set(steps_done)) == list(range(steps))  # nothing lost
    repeated = {i for i in steps_done if steps_done.count(i) > 1}
    assert len(repeated) <= 1  # at most the step in flight at the kill ran twice
    assert {pid for _, _, pid in lines} == {first.pid, second.pid}


@pytest.mark.slow
def test_sigterm_hands_the_running_job_back_without_using_an_attempt(svc: Services, tmp_path: Path) -> None:
    log = tmp_path / "steps.txt"
    job = jobs.enqueue(svc, "count", {"steps": 8, "step_s": 0.25, "log": str(log)})
    first = _start_worker(svc.settings, tmp_path, "w1")
    _wait(lambda: len(_lines(log)) >= 2, 60, "two steps")
    first.send_signal(signal.SIGTERM)
    assert first.wait(15) == 0
    requeued = jobs.get_job(svc, job.id)
    assert requeued.status == "queued" and requeued.attempts == 0
    second = _start_worker(svc.settings, tmp_path, "w2")
    try:
        _wait(lambda: jobs.get_job(svc, job.id).status in jobs.TERMINAL, 60, "the job to finish")
    finally:
        second.terminate()
        second.wait(10)
    done = jobs.get_job(svc, job.id)
    assert done.status == "succeeded" and done.attempts == 1
    assert sorted(set(i for i, _, _ in _lines(log))) == list(range(8))


def test_job_route_shows_progress(svc: Services, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import make_key

    job = jobs.enqueue(svc, "count", {"steps": 2, "step_s": 0, "log": str(tmp_path / "l")})
    with TestClient(create_app(services=svc, workers=1, run_startup=False)) as client:
        headers = {"Authorization": f"Bearer {make_key(svc, 'admin')}"}  # a job with no owner: admins read it
        _wait(
            lambda: client.get(f"/v1/jobs/{job.id}", headers=headers).json()["status"] == "succeeded",
            30,
            "the in-process worker",
        )
        body = client.get(f"/v1/jobs/{job.id}", headers=headers).json()
        assert body["progress"] == 1.0 and body["result"] == {"steps": 2, "resumed_from": 0}


# --- admission: one job per exclusive key, a bounded queue per owner (issue 15, defect 4) -----------------


def _race(n: int, call: Any) -> tuple[list[Any], list[BaseException]]:
    """``call(i)`` from ``n`` threads released together; (results, errors)."""
    import threading

    barrier = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            out = call(i)
        except BaseException as e:
            with lock:
                errors.append(e)
        else:
            with lock:
                results.append(out)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def test_one_job_per_exclusive_key_even_when_racing(svc: Services, tmp_path: Path) -> None:
    from api.errors import Conflict
    from api.storage.tables import Job

    payload = {"steps": 1, "step_s": 0, "log": str(tmp_path / "l")}
    accepted, refused = _race(8, lambda i: jobs.enqueue(svc, "count", payload, owner=f"o{i}", exclusive="train:x"))
    assert len(accepted) == 1, refused
    assert len(refused) == 7 and all(isinstance(e, Conflict) for e in refused), refused
    assert {e.code for e in refused} == {"job_in_progress"}  # type: ignore[attr-defined]
    assert {e.detail["job_id"] for e in refused} == {accepted[0].id}  # type: ignore[attr-defined]
    with svc.db.session() as s:
        assert s.query(Job).count() == 1
    # running still holds the key; once it finished, the next one is admitted
    assert svc.queue.run_next()
    assert jobs.get_job(svc, accepted[0].id).status == "succeeded"
    again = jobs.enqueue(svc, "count", payload, owner="o1", exclusive="train:x")
    assert again.status == "queued"


def test_a_bounded_queue_per_owner_even_when_racing(svc: Services, tmp_path: Path) -> None:
    from api.errors import TooManyRequests

    limit = svc.settings.jobs.max_active_per_owner
    payload = {"steps": 1, "step_s": 0, "log": str(tmp_path / "l")}
    accepted, refused = _race(limit + 4, lambda i: jobs.enqueue(svc, "count", payload, owner="user:1"))
    assert len(accepted) == limit, refused
    assert all(isinstance(e, TooManyRequests) and e.code == "queue_full" for e in refused), refused
    assert jobs.enqueue(svc, "count", payload, owner="user:2").status == "queued"  # others are not held up
    assert jobs.enqueue(svc, "count", payload, owner="system").status == "queued"  # nor the CLI
    assert svc.queue.run_next()  # one of user:1's (the oldest) finishes: one more is admitted
    assert jobs.enqueue(svc, "count", payload, owner="user:1").status == "queued"


def test_train_answers_409_with_the_running_job_and_429_past_the_owners_queue(svc: Services, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import make_key

    analyst = {"Authorization": f"Bearer {make_key(svc, 'analyst')}"}
    other = {"Authorization": f"Bearer {make_key(svc, 'analyst', 'other')}"}
    with TestClient(create_app(services=svc, workers=0, run_startup=False)) as client:
        first = client.post("/v1/models/forecasting/train", headers=analyst)
        assert first.status_code == 202, first.text
        second = client.post("/v1/models/forecasting/train", headers=other)
        assert second.status_code == 409, second.text
        error = second.json()["error"]
        assert error["code"] == "job_in_progress" and error["detail"]["job_id"] == first.json()["id"]
        assert error["error_id"]
        subject = client.get("/v1/me", headers=other).json()["subject"]
        for _ in range(svc.settings.jobs.max_active_per_owner):
            jobs.enqueue(svc, "count", {"steps": 1, "step_s": 0, "log": str(tmp_path / "l")}, owner=subject)
        full = client.post("/v1/models/sentiment/train", headers=other)
        assert full.status_code == 429, full.text
        assert full.json()["error"]["code"] == "queue_full" and int(full.headers["Retry-After"]) >= 1
