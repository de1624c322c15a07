"""The dashboard page in a real headless Chromium against a running server with the real demo data."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_key, make_settings, start_services

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    import uvicorn

    from api.app import create_app
    from api.bootstrap import run_startup

    settings = make_settings(tmp_path_factory.mktemp("dash") / "var")
    services = start_services(settings)
    run_startup(services, only={"forecasting.demo_data", "forecasting.default_model", "social.default_model"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services, workers=0, run_startup=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", make_key(services, "viewer", "Lãnh đạo tỉnh")
    server.should_exit = True
    thread.join(10)
    services.close()


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_shows_indicators_forecast_and_models(server: tuple[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the dashboard test (scripts/setup installs it); not at {CHROMIUM}")
    base, key = server
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/dashboard")  # "/" is now the signed-in overview (api/web)
        assert page.title() == "Điều hành AI — Bảng điều khiển"
        page.wait_for_selector("#health.ok", timeout=20_000)

        page.fill("#key", "ioc_000000000000_wrong")
        page.click("button[type=submit]")
        page.wait_for_function("() => document.getElementById('message').textContent.includes('Không kết nối được')")
        assert page.is_hidden("#content")

        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        options = page.eval_on_selector_all("#indicator option", "os => os.map(o => o.value)")
        assert {"vn_exports", "lamdong_budget_revenue"} <= set(options)
        page.select_option("#indicator", "vn_exports")
        page.wait_for_selector("#chart[data-indicator=vn_exports] polyline.forecast", timeout=60_000)
        assert page.locator("#chart polygon.band95").count() == 1
        assert "triệu USD" in page.inner_text("#indicator-meta")
        assert "smape" in page.inner_text("#backtest")
        # monthly: the X-13 seasonal adjustment, drawn by the API, with the Tết effect in words
        page.wait_for_selector("#seasonal-box:not([hidden]) #seasonal[src^='blob:']", timeout=60_000)
        page.wait_for_function("() => document.getElementById('seasonal').naturalWidth > 0")
        assert "Tết" in page.inner_text("#seasonal-meta") and "t = -" in page.inner_text("#seasonal-meta")
        models = page.inner_text("#model-table")
        assert "forecasting" in models and "sentiment" in models
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert not errors, errors
        browser.close()
