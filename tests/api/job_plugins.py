"""A job kind for the job-system tests, loaded by workers through IOC_JOBS__PLUGINS.

``count`` does ``steps`` steps of ``step_s`` seconds, appends ``"<step> <attempt> <pid>"`` to ``log`` for
each, and checkpoints after each step, so a new attempt resumes where the last checkpoint left off.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from api.jobs import JobContext
from api.task_registry import TaskRegistry


def count(ctx: JobContext) -> dict[str, Any]:
    steps = int(ctx.payload["steps"])
    log = Path(ctx.payload["log"])
    start = int((ctx.checkpoint_data or {}).get("done", 0))
    for i in range(start, steps):
        time.sleep(float(ctx.payload.get("step_s", 0.1)))
        ctx.progress(i / steps)  # raises JobLost if this worker lost the job
        with log.open("a") as f:
            f.write(f"{i} {ctx.attempt} {os.getpid()}\n")
        ctx.checkpoint({"done": i + 1}, fraction=(i + 1) / steps)
    if ctx.payload.get("fail") == "internal":  # an error whose text must not reach clients
        raise RuntimeError(
            f"(sqlite3.OperationalError) SELECT * FROM jobs; on {os.uname().nodename}:{os.getpid()} {log}"
        )
    if ctx.payload.get("fail"):
        raise ValueError("asked to fail")
    return {"steps": steps, "resumed_from": start}


def register(tasks: TaskRegistry) -> None:
    tasks.add_kind("count", count, timeout_s=120)
