"""Bad input answers in the error format: unknown ids 404, malformed JSON 422, oversized bodies 413."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) - {"error_id"} == {"code", "message", "detail"}
    if code:
        assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_job_is_404(client: Any, auth: Any) -> None:
    err = _error(client.get("/v1/jobs/does-not-exist", headers=auth("viewer")), 404, "not_found")
    assert "does-not-exist" in err["message"]


def test_unknown_model_is_404(client: Any, auth: Any) -> None:
    _error(client.post("/v1/models/nope/promote", json={"version": "1"}, headers=auth("analyst")), 404)
    _error(client.post("/v1/models/sentiment/promote", json={"version": "99"}, headers=auth("analyst")), 404)


def test_unknown_path_is_404_in_the_error_format(client: Any) -> None:
    _error(client.get("/v1/nothing-here"), 404, "not_found")


def test_malformed_json_is_422(client: Any, auth: Any) -> None:
    headers = {**auth("analyst"), "Content-Type": "application/json"}
    err = _error(client.post("/v1/models/sentiment/promote", content=b'{"version": ', headers=headers), 422)
    assert err["code"] == "validation_error"
    err = _error(client.post("/v1/models/sentiment/promote", json={"version": "abc"}, headers=auth("analyst")), 422)
    assert "version" in err["message"]


def test_oversized_body_is_413_by_content_length_and_by_stream(client: Any, auth: Any) -> None:
    limit = client.app.state.services.settings.max_request_bytes
    big = b"x" * (limit + 1)
    headers = {**auth("analyst"), "Content-Type": "application/json"}
    _error(client.post("/v1/models/sentiment/promote", content=big, headers=headers), 413, "payload_too_large")

    def chunks() -> Any:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    _error(client.post("/v1/models/sentiment/promote", content=chunks(), headers=headers), 413, "payload_too_large")


def test_wrong_method_is_405(client: Any, auth: Any) -> None:
    _error(client.delete("/v1/models", headers=auth("admin")), 405)


def test_audit_log_records_writes_and_is_admin_only(client: Any, auth: Any) -> None:
    # promoting an unknown version writes nothing; a training request is a write and is audited
    r = client.post("/v1/models/forecasting/train", headers=auth("analyst"))
    assert r.status_code in (202, 422), r.text
    entries = client.get("/v1/audit", headers=auth("admin")).json()
    if r.status_code == 202:
        assert entries[0]["action"] == "model.train" and entries[0]["actor"] == "test-analyst"
    assert client.get("/v1/audit", headers=auth("analyst")).status_code == 403
    _error(client.get("/v1/audit?limit=0", headers=auth("admin")), 422)


def test_metrics_exposes_requests_queue_and_jobs(client: Any, auth: Any) -> None:
    client.get("/health")
    client.get("/v1/jobs/nope", headers=auth("viewer"))
    text = client.get("/metrics", headers=auth("viewer")).text
    assert 'ioc_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="404"} 1.0' in text
    assert "ioc_http_request_seconds_bucket" in text
    assert "ioc_queue_depth 0.0" in text
