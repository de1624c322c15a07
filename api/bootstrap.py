"""First start: register the shipped default models and load the demo data, once.

Capabilities add steps to the :class:`api.task_registry.TaskRegistry` the entry point builds; each step is
idempotent (it checks whether its work is already done), so running them at every start is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from api.services import Services

logger = logging.getLogger(__name__)


def register_default(services: Services, name: str, log: Callable[[], str]) -> str | None:
    """Run ``log`` (which registers a version) only if ``name`` has no version yet; make it champion."""
    if services.registry.has_model(name):
        return None
    version = log()
    if services.registry.champion_version(name) is None:
        services.registry.set_champion(name, version)
    return f"registered default {name} model as version {version} (champion)"


def run_startup(services: Services, only: set[str] | None = None) -> list[str]:
    """Run the registered steps; a failing step is logged and reported, the others still run."""
    done = []
    for step in services.tasks.ordered_steps():
        if only is not None and step.name not in only:
            continue
        try:
            message = step.fn(services)
        except Exception:
            logger.exception("startup step %s failed; the service starts without it", step.name)
            done.append(f"{step.name}: FAILED (see log)")
            continue
        if message:
            logger.info("%s: %s", step.name, message)
            done.append(f"{step.name}: {message}")
    return done
