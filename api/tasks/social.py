"""Social listening's first-start step (the shipped sentiment model) and trainer (public corpora + the
center's labels, the seed set being the first of them)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from api.bootstrap import register_default
from api.jobs import JobContext
from api.services import Services
from api.stores import posts as posts_store
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
        from social_listening import SentimentClassifier
        from social_listening.evaluation import evaluate_heldout

        metrics = _flat_metrics(json.loads(metrics_file.read_text("utf-8"))) if metrics_file.is_file() else {}
        # the same held-out evaluation, under the same names, as every trained version
        metrics |= evaluate_heldout(SentimentClassifier.load(model))
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


def train_sentiment_model(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Train on the public corpora + seed set + the center's labels; evaluate on the fixed held-out split
    (``eval_*``, the same for every version); register.

    ``params``: ``center_weight`` (default: :class:`social_listening.TrainingOptions`'s), ``use_public``
    (default true: a missing public-corpus folder fails the job, naming the path and
    ``IOC_SOCIAL__PUBLIC_DATA_DIR``; false trains without it and records a warning on the version).
    """
    from social_listening import TrainingOptions, train_sentiment
    from social_listening.corpora import load_seed

    services = ctx.services
    seed_train = load_seed().subset("train")
    with services.db.session() as s:
        texts, labels = posts_store.training_labels(s)
    center_texts = list(seed_train.texts) + texts
    center_y = list(seed_train.labels) + labels
    use_public = bool(params.get("use_public", True))
    public_dir = services.settings.resolved_public_sentiment_dir if use_public else None
    defaults = TrainingOptions()
    options = TrainingOptions(center_weight=float(params.get("center_weight", defaults.center_weight)))
    ctx.progress(
        0.05,
        f"training on {len(texts)} center labels + {len(seed_train)} seed comments"
        + (f" + public corpora from {public_dir}" if public_dir else " (no public corpora)"),
    )
    result = train_sentiment(public_dir, (center_texts, center_y), options=options)
    ctx.progress(0.85, "registering")
    warnings = list(result.warnings)
    with tempfile.TemporaryDirectory() as tmp:
        path = result.classifier.save(Path(tmp) / "model.skops")
        version = services.registry.log_version(
            "sentiment",
            artifacts={"classifier": path},
            metrics=result.metrics,
            params={
                "center_labels": len(texts),
                "center_texts": result.center_texts,
                "center_excluded": result.center_excluded,
                "seed_train": len(seed_train),
                "public_corpus_texts": result.public_corpus_texts,
                "public_texts_by_corpus": json.dumps(dict(result.public_texts_by_corpus)),
                "use_public": public_dir is not None,
                "center_weight": options.center_weight,
                "eval_fingerprint": result.eval_fingerprint,
            },
            tags={"warnings": " ".join(warnings)} if warnings else None,
            data_fingerprint=fingerprint(f"{t}\t{y}" for t, y in zip(center_texts, center_y, strict=True)),
            description=f"trained on {len(texts)} center labels + seed set"
            + (f" + {result.public_corpus_texts} public-corpus texts" if result.public_corpus_texts else "")
            + (f". WARNING: {' '.join(warnings)}" if warnings else ""),
        )
    return {
        "version": version,
        "metrics": {k: v for k, v in result.metrics.items() if k.startswith("eval_") and "macro_f1" in k},
        "center_labels": len(texts),
        "public_corpus_texts": result.public_corpus_texts,
    } | ({"warnings": warnings} if warnings else {})


def register(tasks: TaskRegistry) -> None:
    tasks.add_startup_step("social.default_model", register_shipped_sentiment, order=40)
    tasks.add_trainer("sentiment", train_sentiment_model, options=("center_weight", "use_public"))
