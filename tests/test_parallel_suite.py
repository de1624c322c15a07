"""The parallel run's own rules (tests/conftest.py): a Redis database per xdist worker, whole files (the speech
folder as one group) per worker, files with slow tests first."""

from __future__ import annotations

import os

import pytest

from tests.conftest import _slow_files_first, worker_redis_url, worker_threads, xdist_group_of


def test_each_worker_has_its_own_redis_database() -> None:
    base = "redis://127.0.0.1:6379/15"
    assert worker_redis_url(base, None) == base  # not under xdist: the URL as given
    urls = [worker_redis_url(base, f"gw{i}") for i in range(8)]
    assert urls[:2] == ["redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/14"]
    assert len(set(urls)) == 8
    assert worker_redis_url("redis://:secret@h:6380/0", "gw1") == "redis://:secret@h:6380/15"


def test_a_redis_url_without_a_database_or_too_many_workers_is_refused() -> None:
    with pytest.raises(ValueError, match="redis://HOST:PORT/DB"):
        worker_redis_url("redis://127.0.0.1:6379", "gw0")
    with pytest.raises(ValueError, match="at most 16 xdist workers"):
        worker_redis_url("redis://127.0.0.1:6379/15", "gw16")


class _Item:
    """Enough of a ``pytest.Item`` for the ordering: a node id and its ``slow`` marker."""

    def __init__(self, nodeid: str, slow: bool = False) -> None:
        self.nodeid, self.slow = nodeid, slow

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "slow" and self.slow else None


def test_files_holding_slow_tests_come_first_each_kept_whole_and_in_order() -> None:
    items = [
        _Item("tests/a.py::t1"),
        _Item("tests/b.py::t1"),
        _Item("tests/b.py::t2", slow=True),
        _Item("tests/c.py::t1", slow=True),
        _Item("tests/b.py::t3"),
        _Item("tests/d.py::t1"),
    ]
    ordered = [i.nodeid for i in _slow_files_first(items)]  # type: ignore[arg-type]
    assert ordered == [
        "tests/b.py::t1",
        "tests/b.py::t2",
        "tests/b.py::t3",
        "tests/c.py::t1",
        "tests/a.py::t1",
        "tests/d.py::t1",
    ]


def test_a_worker_runs_a_whole_file_and_all_the_speech_files_together() -> None:
    assert xdist_group_of("tests/api/test_cli.py::test_sentiment_csv") == "tests/api/test_cli.py"
    assert xdist_group_of("tests/api/test_jobs.py::test_x[embedded]") == "tests/api/test_jobs.py"
    assert xdist_group_of("tests/speech/test_diarize.py::test_y") == "tests/speech/"
    assert xdist_group_of("tests/speech/test_transcriber.py::test_z") == "tests/speech/"


def test_the_cpus_are_shared_out_among_the_workers_math_libraries() -> None:
    assert [worker_threads(2, 2), worker_threads(16, 8), worker_threads(2, 3), worker_threads(8, 0)] == [1, 2, 1, 8]
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2:
        return  # one process: the libraries keep their own defaults
    import numpy  # noqa: F401  (loads OpenBLAS, if nothing has yet)
    from threadpoolctl import threadpool_info

    expected = worker_threads(len(os.sched_getaffinity(0)), int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    assert all(os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    assert int(os.environ["OPENBLAS_NUM_THREADS"]) == int(os.environ["OMP_NUM_THREADS"]) == expected
    # OpenBLAS pools start from the environment; OpenMP pools may have been resized since by a test that sets
    # its own thread count (e.g. a model loaded with cpu_threads), so only OpenBLAS's are checked here.
    pools = [p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas"]
    assert pools and all(n == expected for n in pools), (threadpool_info(), expected)
