"""The ``train`` job: dispatches to the trainer each capability registers for its model name."""

from __future__ import annotations

from typing import Any

from api.jobs import JobContext
from api.task_registry import TaskRegistry


def train_job(ctx: JobContext) -> dict[str, Any]:
    name = ctx.payload["model"]
    trainers = ctx.services.tasks.trainers
    spec = trainers.get(name)
    if spec is None:
        raise ValueError(f"no trainer for model {name!r}; known: {', '.join(sorted(trainers))}")
    return spec.fn(ctx, dict(ctx.payload.get("params") or {}))


def register(tasks: TaskRegistry) -> None:
    tasks.add_kind("train", train_job, timeout_s=6 * 3600)
