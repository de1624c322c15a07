"""Every route of the app is guarded by the right roles (401 without/with a bad key, 403 with a wrong role).

The table below is the contract. A new route that is not in it makes this test fail, so nobody can add an
unguarded route by accident.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

ALL = {"viewer", "secretary", "analyst", "admin"}
SECRETARY = {"secretary", "admin"}
ANALYST = {"analyst", "admin"}
ADMIN = {"admin"}
PUBLIC = {"/health", "/health/live", "/health/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/"}

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("GET", "/metrics"): ALL,
    ("GET", "/v1/jobs/{job_id}"): ALL,
    ("GET", "/v1/models"): ALL,
    ("POST", "/v1/models/{name}/promote"): ANALYST,
    ("POST", "/v1/models/{name}/train"): ANALYST,
    ("POST", "/v1/models/forecasting/compare"): ANALYST,
    ("GET", "/v1/audit"): ADMIN,
    # forecasting
    ("GET", "/v1/indicators"): ALL,
    ("PUT", "/v1/indicators/{code}"): ANALYST,
    ("GET", "/v1/indicators/{code}"): ALL,
    ("DELETE", "/v1/indicators/{code}"): ANALYST,
    ("POST", "/v1/indicators/{code}/observations"): ANALYST,
    ("GET", "/v1/indicators/{code}/observations"): ALL,
    ("GET", "/v1/indicators/{code}/forecast"): ALL,
    ("GET", "/v1/indicators/{code}/targets"): ALL,
    ("GET", "/v1/indicators/{code}/forecast.png"): ALL,
    ("GET", "/v1/indicators/{code}/seasonal-adjustment"): ALL,
    ("GET", "/v1/indicators/{code}/seasonal-adjustment.png"): ALL,
    ("GET", "/v1/anomalies"): ALL,
    ("PATCH", "/v1/anomalies/{anomaly_id}"): ANALYST,
    ("GET", "/v1/indicators/catalogue.xlsx"): ALL,
    ("PUT", "/v1/indicators/catalogue.xlsx"): ANALYST,
    ("PATCH", "/v1/indicators/{code}"): ANALYST,
    ("POST", "/v1/observations"): ANALYST,
    ("POST", "/v1/forecasts"): ALL,
    # scheduled pulls
    ("POST", "/v1/sources"): ANALYST,
    ("GET", "/v1/sources"): ALL,
    ("GET", "/v1/sources/{source_id}"): ALL,
    ("PATCH", "/v1/sources/{source_id}"): ANALYST,
    ("DELETE", "/v1/sources/{source_id}"): ANALYST,
    ("POST", "/v1/sources/{source_id}/pull"): ANALYST,
    # transcription
    ("POST", "/v1/transcriptions"): SECRETARY,
    ("GET", "/v1/transcriptions"): ALL,  # viewers: the meetings shared with them
    ("GET", "/v1/transcriptions/{transcription_id}"): ALL,
    ("DELETE", "/v1/transcriptions/{transcription_id}"): SECRETARY,
    ("PATCH", "/v1/transcriptions/{transcription_id}"): SECRETARY,
    ("GET", "/v1/transcriptions/{transcription_id}/export"): ALL,
    ("PATCH", "/v1/transcriptions/{transcription_id}/segments/{idx}"): SECRETARY,
    ("GET", "/v1/transcriptions/{transcription_id}/segments/{idx}/history"): ALL,
    # social listening
    ("POST", "/v1/sentiment"): ALL,
    ("POST", "/v1/social/posts"): ANALYST,
    ("GET", "/v1/social/posts"): ALL,
    ("GET", "/v1/social/summary"): ALL,
    ("GET", "/v1/social/alerts"): ALL,
    ("GET", "/v1/social/review"): ANALYST,
    ("POST", "/v1/social/labels"): ANALYST,
    # people and sessions
    ("GET", "/v1/me"): ALL,
    ("GET", "/v1/users"): ADMIN,
    ("POST", "/v1/users"): ADMIN,
    ("PATCH", "/v1/users/{user_id}"): ADMIN,
    ("POST", "/v1/users/{user_id}/reset-password"): ADMIN,
    ("GET", "/v1/keys"): ADMIN,
    ("POST", "/v1/keys"): ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): ADMIN,
}


def _routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its OpenAPI document (which lists included routers)."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        if path not in PUBLIC:
            out.extend((m.upper(), path) for m in operations if m in {"get", "post", "put", "patch", "delete"})
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_every_route_is_in_the_contract_table(client: Any) -> None:
    unknown = [r for r in _routes(client.app) if r not in EXPECTED]
    assert not unknown, f"routes without a declared role set (add them to EXPECTED): {unknown}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_route_refuses_missing_bad_and_wrong_keys(client: Any, auth: Any, monkeypatch: Any) -> None:
    # one bad key per route from one address: more than the wrong-key throttle allows (tested on its own)
    monkeypatch.setattr(client.app.state.services.settings.auth.throttle, "key_delay_after", 10_000)
    routes = _routes(client.app)
    assert len(routes) >= 6
    for method, path in routes:
        url = _concrete(path)
        r = client.request(method, url)
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.json()["error"]["code"] == "unauthorized"
        r = client.request(method, url, headers={"Authorization": "Bearer ioc_000000000000_nope"})
        assert r.status_code == 401, (method, path)
        allowed = EXPECTED[(method, path)]
        for role in ALL - allowed:
            r = client.request(method, url, headers=auth(role))
            assert r.status_code == 403, (method, path, role, r.status_code)
            assert r.json()["error"]["code"] == "forbidden"
        for role in allowed:
            r = client.request(method, url, headers=auth(role))
            assert r.status_code not in (401, 403), (method, path, role, r.status_code, r.text[:200])


def test_public_routes_need_no_key(client: Any) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
