"""The parallel run's own rules (tests/conftest.py): a Redis database per xdist worker, whole files (the speech
folder as one group) per worker, files with slow tests first."""

from __future__ import annotations

import pytest

from tests.conftest import _slow_files_first, worker_redis_url, xdist_group_of


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
