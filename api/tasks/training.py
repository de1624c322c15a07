"""The ``train`` job: dispatches to the trainer each capability registers for its model name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.jobs import JobContext, job_kind

Trainer = Callable[[JobContext, dict[str, Any]], dict[str, Any]]
_TRAINERS: dict[str, Trainer] = {}


def trainer(model_name: str) -> Callable[[Trainer], Trainer]:
    def register(fn: Trainer) -> Trainer:
        _TRAINERS[model_name] = fn
        return fn

    return register


def trainable_models() -> list[str]:
    return sorted(_TRAINERS)


@job_kind("train", timeout_s=6 * 3600)
def train_job(ctx: JobContext) -> dict[str, Any]:
    name = ctx.payload["model"]
    fn = _TRAINERS.get(name)
    if fn is None:
        raise ValueError(f"no trainer for model {name!r}; known: {', '.join(trainable_models())}")
    return fn(ctx, dict(ctx.payload.get("params") or {}))
