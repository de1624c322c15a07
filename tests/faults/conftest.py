"""What the fault tests share: the service as real processes (``ioc serve``, ``ioc worker``) that a test can
SIGKILL, waiting with a deadline, and a check that an error body shows nothing internal."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.conftest import settings_env

ROOT = Path(__file__).parents[2]
#: Words an error body must never carry (driver, SQL, traceback, addresses, paths).
INTERNALS = ("Traceback", "psycopg", "sqlalchemy", "redis.exceptions", "SELECT", "INSERT", "127.0.0.1", "/tmp/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """The first truthy value of ``predicate()``; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def assert_clean_error(r: httpx.Response, status: int) -> dict[str, Any]:
    """``r`` is ``status`` with the API's error body, and the body shows nothing internal."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    body: dict[str, Any] = r.json()
    assert set(body["error"]) >= {"code", "message"}, body
    text = json.dumps(body)
    assert not [w for w in INTERNALS if w in text], text
    return body


class Process:
    """``ioc ARGS`` as a child process with ``settings`` as IOC_* variables; its output goes to a log file."""

    def __init__(self, settings: Settings, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "api.cli", *args],
                env=settings_env(settings) | (env or {}),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def sigkill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Server(Process):
    """``ioc serve`` on a free port, ready once ``/health/live`` answers."""

    def __init__(self, settings: Settings, log: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        super().__init__(settings, log, "serve", "--port", str(self.port), *args, env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=60)
        try:
            wait_for(self._live, 90, f"`ioc serve` to answer on port {self.port}", every=0.2)
        except AssertionError:
            self.stop()
            raise AssertionError(f"`ioc serve` did not start:\n{self.tail()}") from None

    def _live(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"`ioc serve` exited with {self.popen.returncode}:\n{self.tail()}")
        try:
            return self.client.get("/health/live").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if hasattr(self, "client"):
            self.client.close()
        super().stop()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    """Processes a test started (append them); stopped at the end whatever happened."""
    started: list[Process] = []
    yield started
    for p in started:
        p.stop()
