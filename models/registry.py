"""MLflow tracking and registry, behind a small interface the service uses.

Each registered model version is an MLflow *models-from-code* pyfunc: the wrapper is a source file in
``models/flavors/`` (never a pickled object) and the payload is a plain artifact (a skops file, a JSON
configuration, a CTranslate2 directory). Every version is logged from a run that records params,
metrics, the data fingerprint and the code version.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

CHAMPION = "champion"
MODEL_NAMES = ("forecasting", "sentiment", "speech")
FLAVORS_DIR = Path(__file__).resolve().parent / "flavors"

#: The metrics that summarise a version (``ioc models list``, the dashboard), best known first.
KEY_METRICS: dict[str, tuple[str, ...]] = {
    "forecasting": ("mase", "smape", "coverage_80", "coverage_95"),
    "sentiment": ("eval_macro_f1", "eval_accuracy", "eval_challenge_macro_f1"),
    "speech": ("eval_wer", "eval_seconds"),
}
#: Version tag with the indicator codes a forecasting version's metrics were computed on (comma-separated).
INDICATORS_TAG = "indicator_codes"

# Never deserialize pickles from the registry: every flavor here loads plain files.
os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
# No tqdm bars for artifact downloads: they filled the server log at start and at every model switch.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@dataclass(frozen=True)
class ModelVersionInfo:
    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str | None
    created_at: datetime
    description: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def key_metrics(self) -> dict[str, float]:
        """The model's summary metrics (:data:`KEY_METRICS`) that this version has, in that order."""
        return {k: self.metrics[k] for k in KEY_METRICS.get(self.name, ()) if k in self.metrics}

    @property
    def data_fingerprint(self) -> str:
        """SHA-256 of the data the metrics were computed on ('' when not recorded)."""
        return self.tags.get("data_fingerprint", "")

    @property
    def indicator_codes(self) -> tuple[str, ...] | None:
        """The indicators a forecasting version's metrics are on, or None when the version did not record them."""
        raw = self.tags.get(INDICATORS_TAG)
        return None if raw is None else tuple(c for c in raw.split(",") if c)


def forecasting_data_tags(codes: Iterable[str]) -> dict[str, str]:
    """Version tags that record which indicators a forecasting version's backtest metrics are on.

    Pass them as ``tags=`` to :meth:`ModelRegistry.log_version` together with ``data_fingerprint``.
    """
    return {INDICATORS_TAG: ",".join(sorted(codes))}


def code_version() -> str:
    """The git commit of the running code, or the package version outside a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"dieu-hanh-ai=={version('dieu-hanh-ai')}"
        except PackageNotFoundError:
            return "unknown"


def fingerprint(parts: Iterable[bytes | str]) -> str:
    """SHA-256 over the given chunks: identifies the exact data a model was trained on."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
    return h.hexdigest()


class ModelRegistry:
    """Log, register, alias and load model versions in one MLflow store."""

    def __init__(self, tracking_uri: str, artifact_root: str, cache_dir: str | Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        #: Local copies of registered versions (a version never changes, so one download per machine).
        self.cache_dir = Path(cache_dir) if cache_dir else None
        # MLflow is imported and its store opened on first use (``client``): importing it takes about a
        # second, which every CLI command paid even when it never touched a model.
        self._client: Any = None

    @property
    def _mlflow(self) -> Any:
        self.client  # noqa: B018 - opens the store and points mlflow's globals at it
        import mlflow

        return mlflow

    @property
    def client(self) -> Any:
        """The ``MlflowClient`` of this store, created on first use."""
        if self._client is None:
            import mlflow
            from mlflow import MlflowClient

            if self.tracking_uri.startswith("sqlite:///"):
                Path(self.tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
        return self._client

    # -- experiments and runs ------------------------------------------------------------------
    def experiment_id(self, name: str) -> str:
        exp_name = f"ioc-{name}"
        exp = self.client.get_experiment_by_name(exp_name)
        if exp is not None:
            return str(exp.experiment_id)
        location = f"{self.artifact_root.rstrip('/')}/{exp_name}"
        try:
            return str(self.client.create_experiment(exp_name, artifact_location=location))
        except Exception:  # created concurrently by another process
            exp = self.client.get_experiment_by_name(exp_name)
            if exp is None:
                raise
            return str(exp.experiment_id)

    def log_version(
        self,
        name: str,
        *,
        artifacts: Mapping[str, str | Path],
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        data_fingerprint: str = "",
        description: str = "",
        run_name: str | None = None,
        input_example: Any = None,
        extra_files: Mapping[str, str | Path] | None = None,
    ) -> str:
        """Start a run, log everything, register a new version of ``name`` and return its number."""
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model {name!r}, expected one of: {', '.join(MODEL_NAMES)}")
        mlflow = self._mlflow
        flavor = FLAVORS_DIR / f"{name}_model.py"
        with mlflow.start_run(experiment_id=self.experiment_id(name), run_name=run_name) as run:
            if params:
                mlflow.log_params({k: _param(v) for k, v in params.items()})
            clean_metrics = {k: float(v) for k, v in (metrics or {}).items() if _finite(v)}
            if clean_metrics:
                mlflow.log_metrics(clean_metrics)
            mlflow.set_tags(
                {"model_name": name, "data_fingerprint": data_fingerprint, "code_version": code_version()}
                | dict(tags or {})
            )
            for artifact_name, path in (extra_files or {}).items():
                mlflow.log_artifact(str(path), artifact_path=artifact_name)
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(flavor),
                artifacts={k: str(v) for k, v in artifacts.items()},
                pip_requirements=[f"dieu-hanh-ai=={_own_version()}"],
                registered_model_name=name,
                input_example=input_example,
            )
            version = str(info.registered_model_version)
            if description:
                self.client.update_model_version(name, version, description=description)
            for k, v in clean_metrics.items():
                self.client.set_model_version_tag(name, version, f"metric.{k}", repr(v))
            self.client.set_model_version_tag(name, version, "data_fingerprint", data_fingerprint)
            if tags and INDICATORS_TAG in tags:  # read by the registry view (ModelVersionInfo.indicator_codes)
                self.client.set_model_version_tag(name, version, INDICATORS_TAG, tags[INDICATORS_TAG])
            logger.info("registered %s version %s (run %s)", name, version, run.info.run_id)
            return version

    # -- aliases ---------------------------------------------------------------------------------
    def set_champion(self, name: str, version: str) -> None:
        self.version(name, version)  # raises KeyError for an unknown version
        self.client.set_registered_model_alias(name, CHAMPION, str(version))

    def champion_version(self, name: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(name, CHAMPION).version)
        except MlflowException:
            return None

    # -- reading -------------------------------------------------------------------------------
    def has_model(self, name: str) -> bool:
        return bool(self.client.search_model_versions(f"name='{name}'", max_results=1))

    def version(self, name: str, version: str) -> ModelVersionInfo:
        from mlflow.exceptions import MlflowException

        try:
            mv = self.client.get_model_version(name, str(version))
        except MlflowException as e:
            raise KeyError(f"model {name!r} has no version {version!r}") from e
        return self._info(mv)

    def versions(self, name: str, *, with_params: bool = True) -> list[ModelVersionInfo]:
        """Every version of ``name``, newest first, with its aliases (and its run's params unless
        ``with_params`` is false: reading them opens the tracking store, one query per version).

        ``search_model_versions`` leaves ``aliases`` empty (MLflow fills them only in
        ``get_model_version``), so they are taken from the registered model's alias map.
        """
        from mlflow.exceptions import MlflowException

        mvs = self.client.search_model_versions(f"name='{name}'")
        if not mvs:
            return []
        try:
            alias_map = dict(self.client.get_registered_model(name).aliases or {})
        except MlflowException:
            alias_map = {}
        by_version: dict[str, list[str]] = {}
        for alias, v in alias_map.items():
            by_version.setdefault(str(v), []).append(alias)
        infos = (self._info(mv, tuple(sorted(by_version.get(str(mv.version), ()))), with_params) for mv in mvs)
        return sorted(infos, key=lambda v: int(v.version), reverse=True)

    def _info(self, mv: Any, aliases: tuple[str, ...] | None = None, with_params: bool = True) -> ModelVersionInfo:
        tags = dict(mv.tags or {})
        metrics = {k.removeprefix("metric."): float(v) for k, v in tags.items() if k.startswith("metric.")}
        params: dict[str, str] = {}
        if mv.run_id and with_params:
            try:
                params = dict(self.client.get_run(mv.run_id).data.params)
            except Exception:  # the run was deleted from the tracking store; the version still serves
                params = {}
        return ModelVersionInfo(
            name=mv.name,
            version=str(mv.version),
            aliases=tuple(mv.aliases or ()) if aliases is None else aliases,
            run_id=mv.run_id,
            created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC),
            description=mv.description or "",
            metrics=metrics,
            params=params,
            tags={k: v for k, v in tags.items() if not k.startswith("metric.")},
        )

    def load(self, name: str, version: str) -> Any:
        """Load a version's Python model object (the flavor class, its payload loaded)."""
        return self._mlflow.pyfunc.load_model(str(self.local_copy(name, version))).unwrap_python_model()

    def local_copy(self, name: str, version: str) -> Path:
        """A local directory with the version's MLflow model, downloaded once into the cache."""
        import shutil
        import tempfile

        from mlflow.artifacts import download_artifacts

        source = self.client.get_model_version_download_uri(name, str(version))
        if self.cache_dir is None:
            return Path(download_artifacts(artifact_uri=source))
        target = self.cache_dir / name / str(version)
        if (target / "MLmodel").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
        try:
            download_artifacts(artifact_uri=source, dst_path=str(tmp))
            inner = tmp / "MLmodel" if (tmp / "MLmodel").is_file() else None
            root = tmp if inner else next(p.parent for p in tmp.rglob("MLmodel"))
            try:
                root.rename(target)
            except OSError:  # another process finished first: use its copy
                if not (target / "MLmodel").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dieu-hanh-ai")
    except PackageNotFoundError:
        return "0.1.0"


def _param(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 6000 else s[:5997] + "..."


def _finite(v: Any) -> bool:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return False
    return f == f and f not in (float("inf"), float("-inf"))
