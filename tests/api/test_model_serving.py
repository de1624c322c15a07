"""Model lifecycle: register versions, promote, a running server follows the champion without a restart."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services import Services
from tests.conftest import make_key, make_settings, settings_env, start_services


def _register_config(services: Services, tmp_path: Path, content: str, tag: str) -> str:
    path = tmp_path / f"config-{tag}.json"
    path.write_text(content, encoding="utf-8")
    return services.registry.log_version(
        "forecasting",
        artifacts={"config": path},
        params={"combination": tag},
        metrics={"smape": 12.0},
        data_fingerprint=f"fp-{tag}",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Services, str, str]]:
    settings = make_settings(tmp_path / "var")
    services = start_services(settings)
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "0"],
        env=settings_env(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[2],
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError((tmp_path / "serve.log").read_text()[-3000:])
        time.sleep(0.5)
    try:
        yield services, base, make_key(services, "analyst")
    finally:
        proc.terminate()
        proc.wait(15)
        services.close()


def _serving(base: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/health", timeout=10).json()["models"]["forecasting"])


def _until(predicate: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.2)


@pytest.mark.slow
def test_running_server_follows_promotions_and_keeps_serving_through_a_broken_version(
    served: tuple[Services, str, str], tmp_path: Path
) -> None:
    services, base, key = served
    headers = {"Authorization": f"Bearer {key}"}
    v1 = _register_config(services, tmp_path, json.dumps({"combination": "median"}), "median")
    v2 = _register_config(services, tmp_path, json.dumps({"combination": "mean"}), "mean")
    assert (v1, v2) == ("1", "2")
    services.registry.set_champion("forecasting", v1)
    _until(lambda: _serving(base)["serving"] == "1")

    # promoted through the API of the running server
    r = httpx.post(f"{base}/v1/models/forecasting/promote", json={"version": "2"}, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["champion"] == "2" and r.json()["serving"] == "2"
    assert _serving(base)["serving"] == "2"

    # a broken version is refused by promote and the champion does not move
    v3 = _register_config(services, tmp_path, "{not json", "broken")
    r = httpx.post(f"{base}/v1/models/forecasting/promote", json={"version": v3}, headers=headers, timeout=30)
    assert r.status_code == 422 and r.json()["error"]["code"] == "model_load_failed", r.text
    assert services.registry.champion_version("forecasting") == "2"

    # the alias moved by another process (e.g. the MLflow UI) to the broken version: the old one keeps serving
    services.registry.set_champion("forecasting", v3)
    _until(lambda: _serving(base)["failed_version"] == "3")
    state = _serving(base)
    assert state["serving"] == "2" and state["champion"] == "3" and "JSONDecodeError" in state["error"]

    # and moved back by another process: the server follows without a restart
    services.registry.set_champion("forecasting", v1)
    _until(lambda: _serving(base)["serving"] == "1")
    models = httpx.get(f"{base}/v1/models", headers=headers, timeout=30).json()
    forecasting = next(m for m in models if m["name"] == "forecasting")
    assert [v["version"] for v in forecasting["versions"]] == ["3", "2", "1"]
    assert forecasting["versions"][2]["metrics"] == {"smape": 12.0}
    assert forecasting["versions"][2]["params"]["combination"] == "median"
    from sqlalchemy import select

    from api.storage.tables import AuditEntry

    with services.db.session() as s:
        audit = [(e.action, e.object_id, e.actor) for e in s.scalars(select(AuditEntry))]
    assert audit == [("model.promote", "forecasting/2", "test-analyst")]


def test_registry_refuses_unknown_names_and_versions(tmp_path: Path) -> None:
    services = start_services(make_settings(tmp_path / "var"))
    with pytest.raises(ValueError, match="unknown model 'weather'"):
        services.registry.log_version("weather", artifacts={})
    with pytest.raises(KeyError):
        services.registry.set_champion("sentiment", "7")
    assert services.registry.champion_version("sentiment") is None
    services.close()
