from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings, get_settings


def test_every_path_defaults_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d")
    root = (tmp_path / "d").resolve()
    assert s.resolved_database_url == f"sqlite:///{root / 'ioc.db'}"
    assert s.resolved_queue_url == f"sqlite:///{root / 'queue.db'}"
    assert s.resolved_mlflow_tracking_uri == f"sqlite:///{root / 'mlflow.db'}"
    assert s.resolved_mlflow_artifact_root == (root / "mlartifacts").as_uri()
    assert s.uploads_dir == root / "uploads"


def test_nested_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_SPEECH__DEVICE", "cuda")
    monkeypatch.setenv("IOC_JOBS__MAX_ATTEMPTS", "7")
    monkeypatch.setenv("IOC_QUEUE_URL", "redis://127.0.0.1:6379/3")
    get_settings.cache_clear()
    s = get_settings()
    assert s.speech.device == "cuda"
    assert s.jobs.max_attempts == 7
    assert s.resolved_queue_url == "redis://127.0.0.1:6379/3"


@pytest.mark.parametrize("secret", ["dev-insecure-pepper", "changeme", ""])
def test_placeholder_secret_is_refused_in_production(secret: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="production", secret_key=secret)


def test_real_secret_is_accepted_in_production() -> None:
    s = Settings(env="production", secret_key="x" * 48)
    assert s.secret_key.get_secret_value() == "x" * 48


def test_invalid_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(speech={"device": "tpu"})
    with pytest.raises(ValidationError):
        Settings(jobs={"max_attempts": 0})
