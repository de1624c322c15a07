"""Job kinds, trainers and first-start steps of each capability.

Entry points call :func:`build_task_registry`; task modules register nothing on import.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from api.task_registry import TaskRegistry
from api.tasks import forecasting, social, sources, speech, training


def build_task_registry(plugins: Iterable[str] = ()) -> TaskRegistry:
    """Every capability's tasks, plus those of ``plugins`` (modules with a ``register(tasks)`` function)."""
    tasks = TaskRegistry()
    for module in (training, forecasting, speech, social, sources):
        module.register(tasks)
    for name in plugins:
        plugin = importlib.import_module(name)
        register = getattr(plugin, "register", None)
        if not callable(register):
            raise ValueError(f"job plugin {name!r} has no register(tasks) function")
        register(tasks)
    return tasks


__all__ = ["build_task_registry"]
