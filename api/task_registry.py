"""What background work this installation can do: job kinds, model trainers, first-start steps and periodic
work (run by every worker pool).

The entry points (the app, ``ioc worker``, the CLI) build one :class:`TaskRegistry` with
:func:`api.tasks.build_task_registry` and hand it to :class:`api.services.Services`; nothing registers by
import side effect, so no core module imports a task module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.jobs import JobContext
    from api.services import Services

JobHandler = Callable[["JobContext"], "dict[str, Any] | None"]
Trainer = Callable[["JobContext", "dict[str, Any]"], "dict[str, Any]"]
StartupFn = Callable[["Services"], "str | None"]
PeriodicFn = Callable[["Services"], object]


@dataclass(frozen=True)
class JobKind:
    """A kind of background job: its handler gets a :class:`api.jobs.JobContext` and returns a JSON result."""

    name: str
    handler: JobHandler
    timeout_s: float = 6 * 3600.0


@dataclass(frozen=True)
class StartupStep:
    """An idempotent first-start step (lower ``order`` runs first); returns a message when it did work."""

    name: str
    order: int
    fn: StartupFn


@dataclass(frozen=True)
class PeriodicTask:
    """Work every worker process runs every ``every(services)`` seconds (e.g. enqueueing due pulls). It must be
    safe to run in several processes at once: claim what it acts on atomically."""

    name: str
    fn: PeriodicFn
    every: Callable[[Services], float]


@dataclass(frozen=True)
class TrainerSpec:
    """A model's trainer and the option names it reads (``ioc train NAME -p KEY=VALUE``,
    ``POST /v1/models/NAME/train``); the options are checked before a job is queued."""

    model_name: str
    fn: Trainer
    options: tuple[str, ...]


class TrainerOptionError(ValueError):
    """A training option the model's trainer does not read."""

    code = "unknown_trainer_option"

    def __init__(self, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass
class TaskRegistry:
    kinds: dict[str, JobKind] = field(default_factory=dict)
    trainers: dict[str, TrainerSpec] = field(default_factory=dict)
    startup_steps: dict[str, StartupStep] = field(default_factory=dict)
    periodic: dict[str, PeriodicTask] = field(default_factory=dict)

    def add_kind(self, name: str, handler: JobHandler, *, timeout_s: float = 6 * 3600.0) -> None:
        self.kinds[name] = JobKind(name, handler, timeout_s)

    def add_trainer(self, model_name: str, trainer: Trainer, *, options: Iterable[str]) -> None:
        """Register the trainer of ``model_name`` with the option names it reads (its only declaration)."""
        self.trainers[model_name] = TrainerSpec(model_name, trainer, tuple(sorted(set(options))))

    def add_startup_step(self, name: str, fn: StartupFn, *, order: int = 50) -> None:
        self.startup_steps[name] = StartupStep(name, order, fn)

    def add_periodic(self, name: str, fn: PeriodicFn, *, every: Callable[[Services], float]) -> None:
        self.periodic[name] = PeriodicTask(name, fn, every)

    def kind_names(self) -> list[str]:
        return sorted(self.kinds)

    def trainable_models(self) -> list[str]:
        return sorted(self.trainers)

    def trainer_options(self, model_name: str) -> tuple[str, ...]:
        """The option names the trainer of ``model_name`` reads, sorted.

        Raises:
            KeyError: ``model_name`` has no trainer here.
        """
        try:
            return self.trainers[model_name].options
        except KeyError:
            raise KeyError(
                f"no trainer for model {model_name!r}; known: {', '.join(self.trainable_models())}"
            ) from None

    def check_trainer_params(self, model_name: str, params: Mapping[str, Any]) -> None:
        """Raise :class:`TrainerOptionError` when ``params`` holds an option the trainer does not read."""
        known = self.trainer_options(model_name)
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise TrainerOptionError(
                f"unknown {model_name} training option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; the {model_name} trainer knows: {', '.join(known)}",
                {"unknown": unknown, "known": list(known)},
            )

    def ordered_steps(self) -> list[StartupStep]:
        return sorted(self.startup_steps.values(), key=lambda s: (s.order, s.name))
