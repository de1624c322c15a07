"""What every browser journey shares: a real server on 127.0.0.1 with a signed-up person of each role, and a
headless Debian Chromium whose pages record errors and any request that leaves 127.0.0.1.

A journey module asks for ``site`` (one server per module, the demo data loaded) and opens pages with
``browser(site)``::

    def test_leader_reads_overview(site: Site) -> None:
        with browser(site) as b:
            page = b.sign_in("leader")
            ...
            b.no_sideways_scroll("tong-quan")
            b.shot("tong-quan")
        # leaving the block asserts that no request left 127.0.0.1 and no page error happened

Screenshots go to ``tests/web/artifacts/`` (git-ignored): look at them.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.auth_support import FAST_HASH, PASSWORD
from tests.conftest import make_settings, start_services

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}
WALL = {"width": 1920, "height": 1080}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]

#: The people of every journey: user name -> (role, display name). Their password is ``PASSWORD``.
PEOPLE = {
    "leader": ("viewer", "Trần Văn Lãnh"),
    "lan": ("secretary", "Nguyễn Thị Lan"),
    "analyst": ("analyst", "Phạm Minh Phân"),
    "admin": ("admin", "Lê Quản Trị"),
}


@dataclass
class Site:
    """A running server: its base URL and the services behind it (for set-up through the stores)."""

    base: str
    services: Any


@contextmanager
def serve(services: Any, workers: int = 1) -> Iterator[str]:
    """The app of ``services`` served by uvicorn in a thread on a free 127.0.0.1 port, with ``workers`` job
    threads; yields its base URL."""
    import uvicorn

    from api.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services=services, workers=workers, run_startup=False),
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def start_site(root: Path, startup: set[str] | None = None) -> tuple[Any, Any]:
    """Services on a fresh data directory under ``root`` with :data:`PEOPLE` signed up and the startup steps
    named in ``startup`` run (all of them when None: demo data and shipped models); returns (services, close).

    The startup steps run once per test process and set of steps, in a template data dir next to ``root``
    (about 18 s of CPU for all of them: the default pipeline's backtest, the Whisper and classifier
    evaluations); each site starts from a copy of it (:func:`tests.conftest.copy_data_dir`)."""
    from api.routes.session import password_hasher
    from api.users import create_user
    from tests.conftest import copy_data_dir

    def site_settings(data_dir: Path) -> Any:
        return make_settings(data_dir, jobs={"workers": 1, "stale_after_s": 600}, auth=dict(FAST_HASH))

    key = "all" if startup is None else "-".join(sorted(startup)) or "none"
    template = root.parent / f"site-template-{hashlib.sha256(key.encode()).hexdigest()[:12]}" / "var"
    ready = template.parent / "ready"  # written last: a template left half-made by a failure is made again
    if not ready.is_file():
        from api.bootstrap import run_startup

        shutil.rmtree(template, ignore_errors=True)
        services = start_services(site_settings(template))
        try:
            failed = [line for line in run_startup(services, startup) if "FAILED" in line]
        finally:
            services.close()
        assert not failed, failed
        ready.touch()
    copy_data_dir(template, root / "var")
    services = start_services(site_settings(root / "var"))
    with services.db.transaction() as s:
        for username, (role, name) in PEOPLE.items():
            create_user(s, username=username, name=name, role=role, password=PASSWORD, hasher=password_hasher(services))
    return services, services.close


@dataclass
class Browser:
    """One Chromium context (one person) whose pages record errors and requests that leave 127.0.0.1."""

    site: Site
    context: Any
    viewport: dict[str, int]
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    page: Any = None

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on(
            "request",
            lambda r: (
                None
                if urlsplit(r.url).scheme in ("data", "blob") or urlsplit(r.url).hostname == "127.0.0.1"
                else self.elsewhere.append(r.url)
            ),
        )
        self.page = page
        return page

    def sign_in(self, username: str, next_path: str = "/") -> Any:
        """Sign ``username`` in through the form; returns the page, on ``next_path``."""
        page = self.page or self.new_page()
        page.goto(f"{self.site.base}/dang-nhap?next={next_path}")
        page.get_by_label("Tên đăng nhập").fill(username)
        page.get_by_label("Mật khẩu").fill(PASSWORD)
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(self.site.base + next_path)
        return page

    def no_sideways_scroll(self, name: str) -> None:
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= self.viewport["width"], (
            f"{name}: the page is {width} px wide at a {self.viewport['width']} px viewport (scrolls sideways)"
        )

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextmanager
def browser(site: Site, viewport: dict[str, int] | None = None, **context_options: Any) -> Iterator[Browser]:
    """A headless Chromium for one person; on exit asserts no page error, no 4xx/5xx response and no request
    that left 127.0.0.1 (a journey that provokes a refusal on purpose clears ``errors`` after checking it).
    The browser's own time zone is elsewhere: pages must still show Asia/Ho_Chi_Minh."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the browser tests (scripts/setup installs it); not at {CHROMIUM}")
    size = viewport or PHONE
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        options = {"locale": "vi-VN", "timezone_id": "America/New_York", "accept_downloads": True}
        context = chromium.new_context(viewport=size, **{**options, **context_options})
        b = Browser(site, context, size)
        b.new_page()
        try:
            yield b
        finally:
            chromium.close()
        assert not b.elsewhere, f"requests left 127.0.0.1: {b.elsewhere}"
        assert not b.errors, b.errors
