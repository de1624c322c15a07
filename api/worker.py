"""Workers: threads that pull job ids from the queue and run them, plus the stale-job reaper and the registered
periodic work (the sources' scheduler).

The same :class:`WorkerPool` runs inside ``ioc serve`` (embedded mode) and as ``ioc worker`` on any
machine (distributed mode). SIGTERM hands the running jobs back to the queue before the process exits.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from api import jobs
from api.services import Services
from api.task_registry import PeriodicTask

logger = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, services: Services, threads: int) -> None:
        self.services = services
        self.threads = threads
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.threads):
            t = threading.Thread(target=self._work, name=f"ioc-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        reaper = threading.Thread(target=self._reap, name="ioc-reaper", daemon=True)
        reaper.start()
        self._threads.append(reaper)
        for task in self.services.tasks.periodic.values():
            t = threading.Thread(target=self._periodic, args=(task,), name=f"ioc-{task.name}", daemon=True)
            t.start()
            self._threads.append(t)
        logger.info("worker pool started: %d thread(s), queue %s", self.threads, _redact(self.services.queue.url))

    def _work(self) -> None:
        poll = self.services.settings.jobs.poll_interval_s
        while not self._stop.is_set():
            try:
                ran = self.services.queue.run_next()
            except Exception:  # a broken task or a queue hiccup must not kill the worker thread
                logger.exception("worker loop error")
                ran = False
            if not ran:
                self._stop.wait(poll)

    def _reap(self) -> None:
        interval = self.services.settings.jobs.reaper_interval_s
        while not self._stop.wait(interval):
            try:
                jobs.requeue_stale(self.services)
            except Exception:
                logger.exception("reaper error")

    def _periodic(self, task: PeriodicTask) -> None:
        """Run ``task`` now and then every ``task.every`` seconds (read each time: settings may be reloaded)."""
        while not self._stop.is_set():
            try:
                task.fn(self.services)
            except Exception:  # a database hiccup must not end the loop
                logger.exception("periodic task %s failed", task.name)
            if self._stop.wait(task.every(self.services)):
                return

    def stop(self, *, hand_back: bool = True, timeout: float = 2.0) -> None:
        self._stop.set()
        if hand_back:
            jobs.hand_back_running(self.services)
        for t in self._threads:
            t.join(timeout=timeout)

    def wait(self) -> None:
        self._stop.wait()


def run_standalone(services: Services, threads: int) -> None:
    """``ioc worker``: run until SIGTERM/SIGINT, then hand running jobs back and exit."""
    pool = WorkerPool(services, threads)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: handing running jobs back to the queue", signal.Signals(signum).name)
        pool.stop(hand_back=True, timeout=0.5)
        services.close()
        # The job threads may be deep in native code (CTranslate2); their writes are fenced, so exit now.
        os._exit(0)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    pool.start()
    pool.wait()


def _redact(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
