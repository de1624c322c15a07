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
    _until(lambda: _serving(base)["serving"] == "2")  # /health's answer is reused for up to a second

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


def _log_forecasting(services: Services, tmp_path: Path, config: dict[str, Any], fp: str, n: float) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return services.registry.log_version(
        "forecasting",
        artifacts={"config": path},
        metrics={"mase": 1.0, "smape": 10.0, "Y_mase": 0.5, "n_indicators": n},
        data_fingerprint=fp,
    )


def test_versions_carry_the_champion_alias(services: Services, tmp_path: Path) -> None:
    v1 = _log_forecasting(services, tmp_path, {}, "a" * 64, 2)
    v2 = _log_forecasting(services, tmp_path, {}, "b" * 64, 4)
    services.registry.set_champion("forecasting", v2)
    aliases = {v.version: v.aliases for v in services.registry.versions("forecasting")}
    assert aliases == {v1: (), v2: ("champion",)}


def test_logging_and_loading_a_version_prints_no_progress_bar_or_type_hint_warning(
    services: Services, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        version = _log_forecasting(services, tmp_path, {}, "a" * 64, 2)
        services.registry.load("forecasting", version)
    out = capfd.readouterr()
    assert "Downloading artifacts" not in out.err + out.out
    assert not [w for w in caught if "type hints" in str(w.message)], [str(w.message) for w in caught]


def test_models_route_marks_the_champion_and_says_which_data_metrics_are_on(
    client: Any, services: Services, auth: Any, tmp_path: Path
) -> None:
    v1 = _log_forecasting(services, tmp_path, {}, "a" * 64, 2)
    v2 = _log_forecasting(services, tmp_path, {}, "b" * 64, 4)
    v3 = _log_forecasting(services, tmp_path, {}, "a" * 64, 2)
    services.registry.set_champion("forecasting", v1)
    r = client.get("/v1/models", headers=auth("viewer"))
    assert r.status_code == 200, r.text
    forecasting = next(m for m in r.json() if m["name"] == "forecasting")
    versions = {v["version"]: v for v in forecasting["versions"]}
    assert versions[v1]["aliases"] == ["champion"] and versions[v2]["aliases"] == []
    assert versions[v2]["key_metrics"] == {"mase": 1.0, "smape": 10.0}
    assert versions[v1]["metrics_data"] == {
        "indicators": 2,
        "codes": None,
        "fingerprint": "a" * 64,
        "same_as_champion": True,
    }
    assert versions[v2]["metrics_data"]["indicators"] == 4
    assert versions[v2]["metrics_data"]["same_as_champion"] is False
    assert versions[v3]["metrics_data"]["same_as_champion"] is True


def _yearly(client: Any, auth: Any, code: str, values: list[float]) -> None:
    body = {"name": code, "unit": "tỷ đồng", "frequency": "Y", "kind": "flow", "source": "test"}
    assert client.put(f"/v1/indicators/{code}", json=body, headers=auth("analyst")).status_code == 200
    obs = [{"period": str(2000 + i), "value": v} for i, v in enumerate(values)]
    r = client.post(f"/v1/indicators/{code}/observations", json={"observations": obs}, headers=auth("analyst"))
    assert r.status_code == 200, r.text


def test_compare_backtests_versions_on_the_same_current_data(
    client: Any, services: Services, auth: Any, tmp_path: Path
) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    _yearly(client, auth, "thu_ngan_sach", list(100 + np.cumsum(rng.normal(5, 3, 16))))
    _yearly(client, auth, "chi_ngan_sach", list(80 + np.cumsum(rng.normal(2, 6, 14))))
    v1 = _log_forecasting(services, tmp_path, {"methods": ["naive"], "pools": {}}, "a" * 64, 1)
    v2 = _log_forecasting(services, tmp_path, {"methods": ["drift"], "pools": {}}, "b" * 64, 4)
    r = client.post("/v1/models/forecasting/compare", json={"versions": [v1, v2]}, headers=auth("analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["indicators"] == 2 and body["codes"] == ["chi_ngan_sach", "thu_ngan_sach"]
    assert [v["version"] for v in body["versions"]] == [v1, v2]
    m1, m2 = (v["metrics"] for v in body["versions"])
    assert m1["n_series"] == m2["n_series"] == 2 and m1["n_forecasts"] == m2["n_forecasts"]
    assert m1["mase"] != m2["mase"]  # different pipelines on the same data
    assert not any(v["recorded_on_same_data"] for v in body["versions"])
    assert (
        client.post(
            "/v1/models/forecasting/compare", json={"versions": [v1, "99"]}, headers=auth("analyst")
        ).status_code
        == 404
    )
    assert (
        client.post("/v1/models/forecasting/compare", json={"versions": [v1, v2]}, headers=auth("viewer")).status_code
        == 403
    )
    services.settings.models.compare_max_indicators = 1
    r = client.post("/v1/models/forecasting/compare", json={"versions": [v1, v2]}, headers=auth("analyst"))
    assert r.status_code == 413 and "IOC_MODELS__COMPARE_MAX_INDICATORS" in r.json()["error"]["message"]


def test_train_route_refuses_unknown_options_before_queueing(client: Any, auth: Any) -> None:
    r = client.post("/v1/models/forecasting/train", json={"params": {"foo": 1}}, headers=auth("analyst"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "unknown_trainer_option" and "combination" in err["detail"]["known"]
    assert err["detail"]["unknown"] == ["foo"]
