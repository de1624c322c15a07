"""Concurrent reads of a forecast that is not cached compute it once (the load benchmark's cold dashboards)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from api.services import Services
from api.storage.tables import Indicator
from api.stores import indicators as store


def test_concurrent_cold_reads_compute_the_forecast_once(
    services: Services, client: Any, auth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.tasks.forecasting import register_default_pipeline

    register_default_pipeline(services)
    body = {"name": "Xuất khẩu", "unit": "triệu USD", "frequency": "M", "kind": "flow", "source": "Cục Thống kê"}
    assert client.put("/v1/indicators/xk", json=body, headers=auth("analyst")).status_code == 200
    rows = [{"period": f"{2018 + i // 12}-{i % 12 + 1:02d}", "value": 100.0 + i + (i % 12)} for i in range(48)]
    r = client.post("/v1/indicators/xk/observations", json={"observations": rows}, headers=auth("analyst"))
    assert r.status_code == 200, r.text

    calls: list[int] = []
    real = store.forecast_series

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.3)  # long enough for every reader to miss the cache
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "forecast_series", counted)
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with services.db.transaction() as s:
                ind = s.get(Indicator, "xk")
                assert ind is not None
                answers.append(store.forecast_body(services, s, ind, 6, [80.0, 95.0]))
        except BaseException as e:  # surfaced below
            errors.append(e)

    readers = [threading.Thread(target=read) for _ in range(6)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(60)
    assert not errors, errors
    assert len(answers) == 6 and len(calls) == 1
    assert all(a == answers[0] for a in answers)
    r = client.get("/v1/indicators/xk/forecast?horizon=6", headers=auth("viewer"))
    assert r.status_code == 200 and r.json()["points"] == answers[0]["points"] and len(calls) == 1
