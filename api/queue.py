"""The task queue: huey on SQLite (embedded) or Redis (distributed), carrying job ids only.

There is one huey task, ``run_job(job_id)``; what a job does is looked up by its kind in
:mod:`api.jobs`. Workers pull with :meth:`huey.Huey.dequeue` and run with :meth:`huey.Huey.execute` so that
the same loop serves the in-process pool of ``ioc serve`` and standalone ``ioc worker`` processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey

logger = logging.getLogger(__name__)

QUEUE_NAME = "ioc"


def make_huey(queue_url: str) -> Huey:
    """``sqlite:///path/queue.db`` or ``redis://host:port/db``."""
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(QUEUE_NAME, url=queue_url, results=False)
    if queue_url.startswith("sqlite:///"):
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), results=False, timeout=30)
    raise ValueError(f"unsupported IOC_QUEUE_URL {queue_url!r}: expected sqlite:///PATH or redis://HOST:PORT/DB")


class Queue:
    """A huey instance with the single ``run_job`` task bound to ``runner``."""

    def __init__(self, queue_url: str, runner: Callable[[str], Any]) -> None:
        self.url = queue_url
        self.huey = make_huey(queue_url)
        self._task = self.huey.task(name="run_job")(runner)

    def enqueue(self, job_id: str) -> None:
        self._task(job_id)

    def pending(self) -> int:
        return int(self.huey.pending_count())

    def run_next(self) -> bool:
        """Run one queued task in this thread; False when the queue was empty."""
        task = self.huey.dequeue()
        if task is None:
            return False
        self.huey.execute(task)
        return True

    def flush(self) -> None:
        self.huey.flush()
