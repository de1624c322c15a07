"""The process-wide services (database, queue, model registry, champions), built once from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.metrics import Metrics
from api.queue import Queue
from api.settings import Settings
from api.storage.db import Database, migrate
from api.task_registry import TaskRegistry
from models import ChampionCache, ModelRegistry

logger = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    queue: Queue
    registry: ModelRegistry
    champions: ChampionCache
    metrics: Metrics
    tasks: TaskRegistry

    @classmethod
    def start(cls, settings: Settings, tasks: TaskRegistry, *, apply_migrations: bool = True) -> Services:
        """Open the stores, the queue and the model registry. ``tasks`` is what the entry point registered
        (:func:`api.tasks.build_task_registry`)."""
        from api import jobs

        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        if apply_migrations:
            migrate(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        holder: dict[str, Services] = {}
        queue = Queue(settings.resolved_queue_url, lambda job_id: jobs.run_job(holder["s"], job_id))
        registry = ModelRegistry(
            settings.resolved_mlflow_tracking_uri,
            settings.resolved_mlflow_artifact_root,
            cache_dir=settings.models_dir / "registry-cache",
        )
        services = cls(
            settings=settings,
            db=db,
            queue=queue,
            registry=registry,
            champions=ChampionCache(registry, settings.models.refresh_interval_s),
            metrics=Metrics(),
            tasks=tasks,
        )
        holder["s"] = services
        return services

    def close(self) -> None:
        self.db.dispose()
