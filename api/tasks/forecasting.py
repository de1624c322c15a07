"""Forecasting's jobs and first-start steps: demo indicators, the default pipeline, the trainer."""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.auth import SYSTEM
from api.bootstrap import register_default
from api.jobs import JobContext
from api.services import Services
from api.storage.tables import Indicator
from api.stores.indicators import default_nonnegative, load_series, upsert_observations
from api.task_registry import TaskRegistry
from models.comparison import series_fingerprint
from models.registry import forecasting_data_tags

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoLoad:
    """What :func:`load_demo_data` did: codes created, observations inserted/revised/unchanged, skipped parts."""

    source: str
    created: tuple[str, ...]
    inserted: int
    revised: int
    unchanged: int
    skipped: tuple[str, ...]

    def summary(self) -> str:
        if not self.created and not self.inserted and not self.revised:
            head = f"demo data from {self.source}: already loaded, nothing changed ({self.unchanged} observations)"
        else:
            head = (
                f"demo data from {self.source}: {len(self.created)} indicators created, "
                f"{self.inserted} observations added, {self.revised} revised, {self.unchanged} unchanged"
            )
        return head + "".join(f"; skipped {line}" for line in self.skipped)


def load_demo_data(services: Services, data_dir: Path | None = None) -> DemoLoad:
    """Load the demo indicators (shipped in the package, or from ``data_dir``); idempotent.

    Indicators missing from the catalogue are created; those already there keep their definition and get
    the demo observations upserted (a changed value becomes a new revision, the same value changes nothing).
    An indicator whose stored frequency differs from the demo's is left alone and named in ``skipped``.
    """
    from forecasting import parse_observations
    from forecasting.demo import load_demo

    demo = load_demo(data_dir)
    created: list[str] = []
    skipped = list(demo.skipped)
    inserted = revised = unchanged = 0
    with services.db.transaction() as s:
        for d in demo.indicators:
            ind = s.get(Indicator, d.code)
            if ind is None:
                ind = Indicator(
                    code=d.code,
                    name=d.name,
                    unit=d.unit,
                    frequency=d.frequency,
                    kind=d.kind,
                    source=d.source,
                    description=d.note or "",
                    forecast_from=d.forecast_from,
                    targets=[],
                    data_version=0,
                    # budgets, trade, arrivals cannot go below zero: their bands must not either
                    nonnegative=default_nonnegative(d.unit, d.kind),
                )
                s.add(ind)
                s.flush()
                created.append(d.code)
            elif ind.frequency != d.frequency:
                skipped.append(f"{d.code}: stored with frequency {ind.frequency}, the demo's is {d.frequency}")
                continue
            series = parse_observations(
                demo.observations[d.code], freq=d.frequency, unique_id=d.code, on_gap="interpolate"
            )
            result = upsert_observations(s, ind, series, SYSTEM, None, note="demo data")
            inserted += result.inserted
            revised += result.revised
            unchanged += result.unchanged
    source = str(data_dir) if data_dir is not None else "the package (forecasting/data)"
    return DemoLoad(source, tuple(created), inserted, revised, unchanged, tuple(skipped))


def load_demo_indicators(services: Services) -> str | None:
    """First start: load the demo indicators into an empty catalogue (never into one that has data)."""
    settings = services.settings.forecasting
    if not settings.load_demo:
        return None
    with services.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(Indicator))
    if stored:
        if settings.demo_data_dir is not None:
            # a path set on an existing data dir: say why nothing happens instead of staying silent
            return (
                f"the catalogue already holds {stored} indicators, so IOC_FORECASTING__DEMO_DATA_DIR "
                f"({settings.demo_data_dir}) was not loaded; load it with `ioc demo load --path "
                f"{settings.demo_data_dir}`"
            )
        return None
    return load_demo_data(services, settings.demo_data_dir).summary()


def _stored_series(services: Services) -> list[Any]:
    out = []
    with services.db.session() as s:
        for ind in s.scalars(select(Indicator).order_by(Indicator.code)):
            series = load_series(s, ind, for_forecast=True)
            if series is not None and len(series) >= 8:
                out.append(series)
    return out


def _log_pipeline(services: Services, config: Any, progress: Any = None, description: str = "") -> dict[str, Any]:
    """Backtest ``config`` over the stored indicators, log the run and register a version."""
    from forecasting.backtest import backtest

    series = _stored_series(services)
    metrics: dict[str, float] = {}
    if series:
        result = backtest(series, config, windows=3, n_jobs=1, progress=progress)
        metrics = {k: float(v) for k, v in result.metrics.items()}
    fp = series_fingerprint(series)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        version = services.registry.log_version(
            "forecasting",
            artifacts={"config": path},
            params={k: json.dumps(v) if not isinstance(v, str) else v for k, v in config.to_dict().items()},
            metrics=metrics | {"n_indicators": float(len(series))},
            data_fingerprint=fp,
            tags=forecasting_data_tags(s.unique_id for s in series),
            description=description or f"pipeline {config.name}: {config.describe()}",
        )
    return {"version": version, "metrics": metrics, "n_indicators": len(series)}


def register_default_pipeline(services: Services) -> str | None:
    from forecasting import PipelineConfig

    return register_default(
        services,
        "forecasting",
        lambda: _log_pipeline(services, PipelineConfig(), description="default pipeline (shipped)")["version"],
    )


def train_forecasting(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Backtest a pipeline configuration over the stored indicators and register it.

    ``params`` override fields of the default :class:`forecasting.PipelineConfig` (e.g.
    ``{"combination": "mean", "methods": ["ets", "theta"], "pools": {}}``; ``pools`` replaces them per frequency,
    ``{}`` applies them to every frequency).
    """
    from forecasting import PipelineConfig

    base = PipelineConfig().to_dict()
    unknown = sorted(set(params) - set(base))
    if unknown:
        raise ValueError(f"unknown pipeline options {unknown}; expected some of {sorted(base)}")
    config = PipelineConfig.from_dict(base | params)
    ctx.progress(0.02, "backtesting over the stored indicators")
    result = _log_pipeline(
        services=ctx.services,
        config=config,
        progress=lambda done, total: ctx.progress(0.05 + 0.9 * done / max(total, 1), f"backtest {done}/{total}"),
    )
    return result


def register(tasks: TaskRegistry) -> None:
    tasks.add_startup_step("forecasting.demo_data", load_demo_indicators, order=10)
    tasks.add_startup_step("forecasting.default_model", register_default_pipeline, order=20)
    from forecasting import PipelineConfig

    # any field of the pipeline configuration
    tasks.add_trainer("forecasting", train_forecasting, options=PipelineConfig().to_dict())
