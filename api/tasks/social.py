"""Social listening's first-start step (the shipped sentiment model) and trainer (public corpora + the
center's labels, the seed set being the first of them)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from api.bootstrap import register_default
from api.jobs import JobContext
from api.services import Services
from api.storage.tables import SocialLabel
from api.task_registry import TaskRegistry
from models.registry import fingerprint
from models.shipped import SENTIMENT_DIR

logger = logging.getLogger(__name__)


def register_shipped_sentiment(services: Services) -> str | None:
    """Register the shipped classifier (``models/shipped/sentiment``) as version 1 with its card's metrics."""
    model = SENTIMENT_DIR / "model.skops"
    if not model.is_file():
        raise FileNotFoundError(f"the shipped sentiment model is missing: {model}")

    card = SENTIMENT_DIR / "MODEL_CARD.md"

    def log() -> str:
        metrics_file = SENTIMENT_DIR / "metrics.json"
        metrics = _flat_metrics(json.loads(metrics_file.read_text("utf-8"))) if metrics_file.is_file() else {}
        return services.registry.log_version(
            "sentiment",
            artifacts={"classifier": model},
            metrics=metrics,
            params={"source": "models/shipped/sentiment"},
            extra_files={"card": card} if card.is_file() else None,
            data_fingerprint=fingerprint([model.read_bytes()]),
            description="shipped default (see MODEL_CARD.md)",
        )

    return register_default(services, "sentiment", log)


def _flat_metrics(data: Any, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out |= _flat_metrics(v, f"{prefix}{k}_" if prefix or isinstance(v, dict) else f"{k}_")
        return out
    if isinstance(data, int | float) and not isinstance(data, bool):
        return {prefix.rstrip("_"): float(data)}
    return out


def center_labels(services: Services) -> tuple[list[str], list[str]]:
    """The analysts' labels (newest label wins for a text), oldest first."""
    latest: dict[str, str] = {}
    with services.db.session() as s:
        for row in s.scalars(select(SocialLabel).order_by(SocialLabel.id)):
            latest[row.text] = row.label
    return list(latest), list(latest.values())


def train_sentiment_model(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Train on the public corpora (when present) + seed set + the center's labels; evaluate; register.

    ``params``: ``center_weight`` (default: :class:`social_listening.TrainingOptions`'s), ``use_public`` (default
    true).
    """
    from social_listening import TrainingOptions, train_sentiment
    from social_listening.corpora import load_seed

    services = ctx.services
    seed = load_seed()
    seed_train, seed_eval = seed.subset("train"), seed.subset("eval")
    texts, labels = center_labels(services)
    center_texts = list(seed_train.texts) + texts
    center_y = list(seed_train.labels) + labels
    public_dir = services.settings.resolved_public_sentiment_dir
    use_public = bool(params.get("use_public", True)) and public_dir.is_dir()
    defaults = TrainingOptions()
    options = TrainingOptions(
        center_weight=float(params.get("center_weight", defaults.center_weight)), eval_fraction=0.0
    )
    ctx.progress(0.05, f"training on {len(center_texts)} center labels" + (" + public corpora" if use_public else ""))
    classifier, metrics = train_sentiment(
        public_dir if use_public else None,
        (center_texts, center_y),
        center_eval=(list(seed_eval.texts), list(seed_eval.labels)),
        options=options,
    )
    ctx.progress(0.85, "registering")
    with tempfile.TemporaryDirectory() as tmp:
        path = classifier.save(Path(tmp) / "model.skops")
        version = services.registry.log_version(
            "sentiment",
            artifacts={"classifier": path},
            metrics=metrics,
            params={
                "center_labels": len(texts),
                "seed_train": len(seed_train),
                "use_public": use_public,
                "center_weight": options.center_weight,
            },
            data_fingerprint=fingerprint(f"{t}\t{y}" for t, y in zip(center_texts, center_y, strict=True)),
            description=f"trained on {len(texts)} center labels + seed set"
            + (" + public corpora" if use_public else ""),
        )
    return {"version": version, "metrics": {k: v for k, v in metrics.items() if "macro_f1" in k}}


def register(tasks: TaskRegistry) -> None:
    tasks.add_startup_step("social.default_model", register_shipped_sentiment, order=40)
    tasks.add_trainer("sentiment", train_sentiment_model)
