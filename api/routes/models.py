from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import audit, jobs
from api.deps import Analyst, ServicesDep, Viewer
from api.errors import InvalidInput, NotFound, PayloadTooLarge
from api.model_lifecycle import previous_champion, promote_version
from api.schemas import JobAccepted
from api.storage.tables import Indicator
from api.stores.indicators import load_series
from api.task_registry import TrainerOptionError
from models import MODEL_NAMES
from models.comparison import metrics_data, series_fingerprint

#: Backtest origins per series in a comparison: the forecasting trainer's (api/tasks/forecasting.py).
COMPARE_WINDOWS = 3
#: Fewest values for a series to take part in a backtest (as in training).
MIN_SERIES_LENGTH = 8

router = APIRouter(prefix="/v1/models", tags=["models"])


class MetricsDataOut(BaseModel):
    indicators: int | None = Field(description="series the metrics were computed on (null: not recorded)")
    codes: list[str] | None = Field(description="their codes (null: logged before codes were recorded)")
    fingerprint: str = Field(description="SHA-256 of those series ('' when not recorded)")
    same_as_champion: bool | None = Field(
        description="the metrics are on the champion's data (comparable); null when there is no champion"
    )


class VersionOut(BaseModel):
    version: str
    aliases: list[str]
    created_at: datetime
    description: str
    run_id: str | None
    metrics: dict[str, float]
    key_metrics: dict[str, float] = Field(description="the model's summary metrics, in order")
    metrics_data: MetricsDataOut | None = Field(
        description="forecasting: which indicators the metrics are on and whether they are the champion's"
    )
    params: dict[str, str]
    tags: dict[str, str]


class ModelOut(BaseModel):
    name: str
    champion: str | None
    serving: str | None = Field(description="version this API process serves now")
    error: str | None = Field(description="why the newest champion could not be loaded, if it could not")
    previous_champion: str | None = Field(
        None, description="the champion before the current one (from the audit log): what a rollback restores"
    )
    trainable: bool = Field(False, description="this installation has a trainer for the model (POST .../train)")
    versions: list[VersionOut]


class PromoteIn(BaseModel):
    version: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")


class CompareIn(BaseModel):
    versions: list[str] = Field(min_length=2, description="version numbers to backtest side by side")


class ComparedVersion(BaseModel):
    version: str
    aliases: list[str]
    metrics: dict[str, float] = Field(description="backtest metrics on the current indicators")
    recorded_metrics: dict[str, float] = Field(description="the key metrics logged with the version")
    recorded_on_same_data: bool = Field(description="the logged metrics were computed on these same series")


class CompareOut(BaseModel):
    model: str
    indicators: int = Field(description="stored indicators backtested (at least 8 values each)")
    codes: list[str]
    fingerprint: str = Field(description="SHA-256 of the series backtested")
    windows: int = Field(description="backtest origins per series")
    versions: list[ComparedVersion]


class TrainIn(BaseModel):
    params: dict[str, Any] = Field(default_factory=dict, description="trainer options, see the model's docs")


def _check_name(name: str) -> None:
    if name not in MODEL_NAMES:
        raise NotFound(f"unknown model {name!r}, expected one of: {', '.join(MODEL_NAMES)}")


@router.get("", response_model=list[ModelOut])
def list_models(services: ServicesDep, _: Viewer) -> list[ModelOut]:
    """Registered models, their versions with metrics, and which version carries `champion`."""
    served = services.champions.status()
    trainable = set(services.tasks.trainable_models())
    out = []
    for name in MODEL_NAMES:
        versions = services.registry.versions(name)
        champion = next((v for v in versions if "champion" in v.aliases), None)
        current = services.registry.champion_version(name)
        with services.db.session() as s:
            previous = previous_champion(s, name, current)
        out.append(
            ModelOut(
                name=name,
                champion=current,
                serving=served.get(name, {}).get("version"),
                error=served.get(name, {}).get("error"),
                previous_champion=previous,
                trainable=name in trainable,
                versions=[
                    VersionOut(
                        version=v.version,
                        aliases=list(v.aliases),
                        created_at=v.created_at,
                        description=v.description,
                        run_id=v.run_id,
                        metrics=v.metrics,
                        key_metrics=v.key_metrics,
                        metrics_data=MetricsDataOut(**metrics_data(v, champion)) if name == "forecasting" else None,
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
    promote_version(services, who, name, body.version)
    return next(m for m in list_models(services, who) if m.name == name)


@router.post("/{name}/train", status_code=status.HTTP_202_ACCEPTED, response_model=JobAccepted)
def train(name: str, services: ServicesDep, who: Analyst, body: TrainIn | None = None) -> JobAccepted:
    """Start a training job; the run is logged to MLflow and registered as a new version (not promoted).

    One training per model at a time: 409 `job_in_progress` (its `detail.job_id`) while one is queued or
    running; 429 `queue_full` past `IOC_JOBS__MAX_ACTIVE_PER_OWNER` jobs of the caller."""
    _check_name(name)
    if name not in services.tasks.trainable_models():
        raise InvalidInput(f"model {name!r} has no trainer in this installation")
    params = body.params if body else {}
    try:
        services.tasks.check_trainer_params(name, params)
    except TrainerOptionError as e:
        raise InvalidInput(str(e), code=e.code, detail=e.detail) from e
    job = jobs.enqueue(
        services, "train", {"model": name, "params": params}, owner=who.subject, exclusive=f"train:{name}"
    )
    with services.db.transaction() as s:
        audit.record(s, who, "model.train", "model", name, {"job_id": job.id})
    return JobAccepted(id=job.id, status=job.status, kind=job.kind)


@router.post("/forecasting/compare", response_model=CompareOut)
def compare_forecasting(body: CompareIn, services: ServicesDep, _: Analyst) -> CompareOut:
    """Backtest forecasting versions now on the same data (the stored indicators) and return their metrics
    side by side: the metrics logged with each version may be on other series (the catalogue changes).

    Runs in the request: refused with 413 above `IOC_MODELS__COMPARE_MAX_INDICATORS` indicators or
    `IOC_MODELS__COMPARE_MAX_VERSIONS` versions.
    """
    from forecasting.backtest import backtest

    wanted = list(dict.fromkeys(body.versions))
    limit = services.settings.models.compare_max_versions
    if len(wanted) < 2:
        raise InvalidInput(f"compare needs two different versions; got {wanted}")
    if len(wanted) > limit:
        raise PayloadTooLarge(
            f"at most {limit} versions are compared at once (IOC_MODELS__COMPARE_MAX_VERSIONS); got {len(wanted)}"
        )
    infos = {}
    for v in wanted:
        try:
            infos[v] = services.registry.version("forecasting", v)
        except KeyError as e:
            raise NotFound(str(e.args[0])) from e
    with services.db.session() as s:
        stored = [
            load_series(s, ind, for_forecast=True) for ind in s.scalars(select(Indicator).order_by(Indicator.code))
        ]
    series = [x for x in stored if x is not None and len(x) >= MIN_SERIES_LENGTH]
    cap = services.settings.models.compare_max_indicators
    if len(series) > cap:
        raise PayloadTooLarge(
            f"{len(series)} indicators are too many to backtest in a request (at most {cap}, "
            "IOC_MODELS__COMPARE_MAX_INDICATORS); raise the setting or compare with `ioc` on a worker",
            detail={"indicators": len(series), "limit": cap},
        )
    if not series:
        raise InvalidInput(
            f"no stored indicator has {MIN_SERIES_LENGTH} or more values to backtest; load data first "
            "(`ioc demo load`, or POST /v1/indicators/{code}/observations)",
            code="no_data",
        )
    fp = series_fingerprint(series)
    compared = []
    for v, info in infos.items():
        try:
            config = services.registry.load("forecasting", v).config
        except Exception as e:
            raise InvalidInput(
                f"forecasting version {v} failed to load", code="model_load_failed", detail=f"{type(e).__name__}: {e}"
            ) from e
        result = backtest(series, config, windows=COMPARE_WINDOWS, n_jobs=1)
        compared.append(
            ComparedVersion(
                version=v,
                aliases=list(info.aliases),
                metrics={k: float(x) for k, x in result.metrics.items()},
                recorded_metrics=info.key_metrics,
                recorded_on_same_data=info.data_fingerprint == fp,
            )
        )
    return CompareOut(
        model="forecasting",
        indicators=len(series),
        codes=[x.unique_id for x in series],
        fingerprint=fp,
        windows=COMPARE_WINDOWS,
        versions=compared,
    )
