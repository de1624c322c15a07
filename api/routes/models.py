from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from api import audit, jobs
from api.deps import Analyst, ServicesDep, Viewer
from api.errors import InvalidInput, NotFound
from api.schemas import JobAccepted
from models import MODEL_NAMES

router = APIRouter(prefix="/v1/models", tags=["models"])


class VersionOut(BaseModel):
    version: str
    aliases: list[str]
    created_at: datetime
    description: str
    run_id: str | None
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


class ModelOut(BaseModel):
    name: str
    champion: str | None
    serving: str | None = Field(description="version this API process serves now")
    error: str | None = Field(description="why the newest champion could not be loaded, if it could not")
    versions: list[VersionOut]


class PromoteIn(BaseModel):
    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")


class TrainIn(BaseModel):
    params: dict[str, Any] = Field(default_factory=dict, description="trainer options, see the model's docs")


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise NotFound(f"unknown model {name!r}, expected one of: {', '.join(MODEL_NAMES)}")


@router.get("", response_model=list[ModelOut])
def list_models(services: ServicesDep, _: Viewer) -> list[ModelOut]:
    """Registered models, their versions with metrics, and which version carries `champion`."""
    served = services.champions.status()
    out = []
    for name in MODEL_NAMES:
        versions = services.registry.versions(name)
        out.append(
            ModelOut(
                name=name,
                champion=services.registry.champion_version(name),
                serving=served.get(name, {}).get("version"),
                error=served.get(name, {}).get("error"),
                versions=[
                    VersionOut(
                        version=v.version,
                        aliases=list(v.aliases),
                        created_at=v.created_at,
                        description=v.description,
                        run_id=v.run_id,
                        metrics=v.metrics,
                        params=v.params,
                        tags=v.tags,
                    )
                    for v in versions
                ],
            )
        )
    return out


@router.post("/{name}/promote", response_model=ModelOut)
def promote(name: str, body: PromoteIn, services: ServicesDep, who: Analyst) -> ModelOut:
    """Make a version the `champion` after loading it once; a version that fails to load is refused."""
    _check_name(name)
    try:
        services.registry.version(name, body.version)
    except KeyError as e:
        raise NotFound(str(e.args[0])) from e
    try:
        served = services.champions.load_version(name, body.version)
    except Exception as e:
        raise InvalidInput(
            f"version {body.version} of {name!r} failed to load; the champion is unchanged",
            code="model_load_failed",
            detail=f"{type(e).__name__}: {e}",
        ) from e
    previous = services.registry.champion_version(name)
    services.registry.set_champion(name, body.version)
    services.champions.install(served)
    with services.db.transaction() as s:
        audit.record(s, who, "model.promote", "model", f"{name}/{body.version}", {"previous": previous})
    return next(m for m in list_models(services, who) if m.name == name)


@router.post("/{name}/train", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
def train(name: str, services: ServicesDep, who: Analyst, body: TrainIn | None = None) -> JobAccepted:
    """Start a training job; the run is logged to MLflow and registered as a new version (not promoted)."""
    _check_name(name)
    if name not in services.tasks.trainable_models():
        raise InvalidInput(f"model {name!r} has no trainer in this installation")
    job = jobs.enqueue(services, "train", {"model": name, "params": (body.params if body else {})}, owner=who.subject)
    with services.db.transaction() as s:
        audit.record(s, who, "model.train", "model", name, {"job_id": job.id})
    return JobAccepted(id=job.id, status=job.status, kind=job.kind)
