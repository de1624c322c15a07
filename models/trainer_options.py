"""The options each model's trainer accepts (``ioc train NAME -p KEY=VALUE``, ``POST /v1/models/NAME/train``).

Checked before a training job is queued, so that a misspelt option is an error naming the known ones
rather than a job that ignores it. The trainers themselves live in ``api/tasks`` (each reads exactly these
keys); the forecasting trainer takes any field of :class:`forecasting.PipelineConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TrainerOptionError", "check_trainer_params", "trainer_options"]

#: Options of the trainers whose keys are fixed (forecasting's come from its pipeline configuration).
_FIXED = {
    "sentiment": ("center_weight", "use_public"),
    "speech": ("source_dir", "quantization"),
}


class TrainerOptionError(ValueError):
    """A training option the model's trainer does not know."""

    code = "unknown_trainer_option"

    def __init__(self, message: str, detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.detail = detail


def trainer_options(name: str) -> tuple[str, ...]:
    """The option names the trainer of model ``name`` reads, sorted.

    Raises:
        KeyError: ``name`` has no known trainer options.
    """
    if name == "forecasting":
        from forecasting import PipelineConfig

        return tuple(sorted(PipelineConfig().to_dict()))
    try:
        return tuple(sorted(_FIXED[name]))
    except KeyError:
        raise KeyError(
            f"no trainer options known for model {name!r}; known: forecasting, {', '.join(_FIXED)}"
        ) from None


def check_trainer_params(name: str, params: Mapping[str, Any]) -> None:
    """Raise :class:`TrainerOptionError` when ``params`` holds an option the trainer of ``name`` does not read."""
    known = trainer_options(name)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise TrainerOptionError(
            f"unknown {name} training option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the {name} trainer knows: {', '.join(known)}",
            {"unknown": unknown, "known": list(known)},
        )
