"""``ioc serve`` SIGKILLed in the middle of a large indicator upload: all or nothing.

The embedded default (SQLite). A report of 12,000 rows is stored once, which times the work; a second report
revising every value is killed half-way through it. After the kill the database is intact and holds exactly
the first report's values; after a restart on the same data dir the second report stores every revision once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings, run_ioc, settings_env
from tests.faults.conftest import Process, Server

pytestmark = pytest.mark.slow

#: 5 monthly indicators x 200 years (the periods the intake accepts: 1900-2100) = 12,000 rows in one report.
CODES = [f"chi_tieu_{i:02d}" for i in range(5)]
MONTHS = [f"{y}-{m:02d}" for y in range(1901, 2101) for m in range(1, 13)]
ROWS = len(CODES) * len(MONTHS)


def _report(level: float) -> bytes:
    lines = ["Mã chỉ tiêu,Kỳ,Giá trị"]
    lines += [f"{code},{period},{level + i * 0.25}" for code in CODES for i, period in enumerate(MONTHS)]
    return "\n".join(lines).encode()


def _current(db: Path) -> dict[tuple[str, str], float]:
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT indicator_code, period, value FROM observations WHERE is_current").fetchall()
    return {(str(code), str(p)): float(v) for code, p, v in rows}


def _upload(api: httpx.Client, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return api.post(
        "/v1/observations", files={"file": ("bieu.csv", body, "text/csv")}, data={"decimal": "."}, headers=headers
    )


def test_sigkill_mid_upload_stores_all_or_nothing(tmp_path: Path, processes: list[Process]) -> None:
    settings = make_settings(tmp_path / "var")
    db = settings.resolved_data_dir / "ioc.db"
    env = settings_env(settings)
    key = run_ioc(env, "keys", "create", "--role", "analyst", "--name", "faults").stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    server = Server(settings, tmp_path / "serve1.log")
    processes.append(server)
    api = server.client
    define = {"name": "Chỉ tiêu", "unit": "tỷ đồng", "frequency": "M", "kind": "flow", "source": "Cục Thống kê"}
    for code in CODES:
        assert api.put(f"/v1/indicators/{code}", json=define | {"name": code}, headers=headers).status_code == 200

    # The first upload imports the intake's libraries in the server: time a warm one.
    assert (
        api.post(
            "/v1/observations?dry_run=true",
            files={"file": ("a.csv", _report(1.0)[:2000].rsplit(b"\n", 1)[0], "text/csv")},
            data={"decimal": "."},
            headers=headers,
        ).status_code
        == 200
    )
    started = time.monotonic()
    r = _upload(api, _report(5.0), headers)
    took = time.monotonic() - started
    assert r.status_code == 200, r.text[:2000]
    before = _current(db)
    assert len(before) == ROWS

    outcome: dict[str, Any] = {}

    def send() -> None:  # the same periods, every value revised
        try:
            outcome["response"] = _upload(api, _report(9.0), headers)
        except httpx.TransportError as e:
            outcome["error"] = e

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(took * 0.5)  # inside the work (parsing, matching, then the one transaction that stores it)
    server.sigkill()
    sender.join(30)
    assert "error" in outcome, f"the upload finished before the kill ({took:.1f}s): {outcome}"

    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # All or nothing: the kill lands before the commit (the usual case: nothing of the killed upload) or,
    # on a machine faster than the timed upload foretold, after it while the answer was on its way (all of it).
    current = _current(db)
    revised = {k: v + 4.0 for k, v in before.items()}
    assert current in (before, revised), "a part of the killed upload was stored"

    again = Server(settings, tmp_path / "serve2.log")  # a restart on the same data dir
    processes.append(again)
    r = _upload(again.client, _report(9.0), headers)
    assert r.status_code == 200, r.text[:2000]
    after = _current(db)
    assert len(after) == ROWS and after[(CODES[0], MONTHS[0])] == 9.0
    with sqlite3.connect(db) as c:  # each period once as the current value, the old one kept as a revision
        assert c.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 2 * ROWS
