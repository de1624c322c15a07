"""Time to a usable screen of every page, with the demo data, for one person and with 20 people signed in at once
(issue 12: p95 <= 1 s per page).

    python -m experiments.page_benchmark [--repeats 20] [--users 20] [--meeting-wait 600] [--output-dir DIR]

What it does:

1. ``ioc serve`` in a subprocess on a fresh data directory, default configuration (first start: migrations, the
   demo indicators, the shipped models; an in-process job worker).
2. One person per role created through the CLI (``ioc users create``, the password on standard input).
3. The pages: every link of the navigation (:data:`api.web.layout.NAV`, so pages added there are measured without
   changing this file), the wall mode (``/man-hinh``) when the server has it, and a meeting page: the secretary
   uploads the two-speaker test clip through ``POST /v1/transcriptions`` and the page of that meeting is measured
   once it is transcribed (or after ``--meeting-wait`` seconds, whatever its state). Each page is opened by the
   least privileged role that may see it.
4. Headless Debian Chromium (Playwright; the launch arguments of tests/web/browser_support.py), one signed-in
   context per role: one load of each page to warm the cache (reported as ``first_ms``, not counted), then
   ``--repeats`` loads, timed.
5. The same again while 19 more signed-in people load the pages (see "20 people" below).

"Usable", the convention pages follow: DOMContentLoaded has fired, ``<main>`` is laid out (non-zero size, not
hidden), and no element carries ``aria-busy="true"``. A page that fills a region after loading (a fetch, a chart)
marks that region ``aria-busy="true"`` in its HTML and removes the attribute once the region is drawn (or shows
its error), so that "usable" means the person can read it. The moment is taken inside the page
(``performance.now()``, milliseconds since the navigation started, checked at every animation frame from
DOMContentLoaded on), so no round trip to the driver is counted.

20 people: one timing browser plus 19 load generators, not 20 browser contexts timed in parallel. On this
2-core machine 20 Chromium renderers would spend the CPU the server needs, so the figures would measure the
client machine (each real person has their own). Each generator is a signed-in session of its own (the four
people, round robin; the sign-in form, its own cookie) that loops without pause over the pages its role may see,
replaying exactly the requests the timing browser's page made for its content: the document and its ``/v1``
fetches (static files are cached by browsers after the first visit and are not replayed). The server therefore
sees 20 sessions' worth of page loads, back to back, which is heavier than 20 people reading their screens.

Results: ``experiments/results/page_benchmark.{md,json}`` (median and p95 per page, both runs; the generators'
request count and latency; the load average, since other work on the machine changes the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: The pages' target (issue 12): p95 of the time to a usable screen.
TARGET_P95_MS = 1000.0
#: Pages outside the navigation, measured when the server answers them: (label, path, role).
EXTRA_PAGES = (("Màn hình lớn (wall mode)", "/man-hinh", "viewer"),)
#: The recording uploaded for the meeting page (the speech tests' two-speaker clip).
MEETING_CLIP = ROOT / "tests" / "speech" / "data" / "hop_vi_2speakers.ogg"
DESKTOP = {"width": 1366, "height": 768}
WALL = {"width": 1920, "height": 1080}
#: Records ``window.__usable`` (performance.now()) at the first animation frame, from DOMContentLoaded on, at
#: which <main> is laid out and nothing is aria-busy (see the module docstring).
USABLE_PROBE = """
(() => {
  const usable = () => {
    const main = document.querySelector("main");
    if (!main) return false;
    const box = main.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(main).visibility === "hidden") return false;
    return !document.querySelector('[aria-busy="true"]');
  };
  const tick = () => {
    if (window.__usable !== undefined) return;
    if (usable()) window.__usable = performance.now();
    else requestAnimationFrame(tick);
  };
  document.addEventListener("DOMContentLoaded", () => requestAnimationFrame(tick));
})();
"""


def _chromium_args() -> list[str]:
    """The browser tests' launch arguments (tests/web/browser_support.py), the one place they are written."""
    from tests.web.browser_support import CHROMIUM_ARGS

    return list(CHROMIUM_ARGS)


@dataclass
class Page:
    label: str
    path: str
    role: str
    viewport: dict[str, int] = field(default_factory=lambda: dict(DESKTOP))
    replay: list[str] = field(default_factory=list)
    roles: tuple[str, ...] = ()


def nav_pages() -> list[Page]:
    """Every navigation link, opened by the least privileged role that may see it."""
    from api.auth import ROLES
    from api.web.layout import NAV

    pages = []
    for link in NAV:
        allowed = tuple(r for r in ROLES if r in link.roles)
        pages.append(Page(link.label, link.path, allowed[0], roles=allowed))
    return pages


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(ms: list[float]) -> dict[str, float | int | None]:
    """Median and p95 (nearest rank) of ``ms``; None when empty."""
    if not ms:
        return {"n": 0, "median_ms": None, "p95_ms": None, "max_ms": None}
    ordered = sorted(ms)
    rank = max(0, min(len(ordered) - 1, -(-95 * len(ordered) // 100) - 1))
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[rank], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _ioc(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True
    )
    if r.returncode != 0:
        sys.exit(f"ioc {' '.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return r.stdout


def sign_in_http(base: str, username: str, password: str) -> httpx.Client:
    """An HTTP client signed in through the sign-in form (its own session cookie)."""
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = client.get("/dang-nhap")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        sys.exit("the sign-in page has no csrf_token field")
    r = client.post(
        "/dang-nhap", data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/"}
    )
    if r.status_code != 303:
        sys.exit(f"sign-in of {username} answered {r.status_code}")
    return client


def upload_meeting(client: httpx.Client, wait_s: float) -> tuple[str, str]:
    """Upload the test clip as a meeting; wait for its transcript up to ``wait_s``. Returns (id, status)."""
    csrf = client.get("/v1/me").json()["csrf_token"]
    r = client.post(
        "/v1/transcriptions",
        headers={"X-CSRF-Token": csrf},
        files={"file": (MEETING_CLIP.name, MEETING_CLIP.read_bytes(), "audio/ogg")},
        data={"title": "Họp thử (đo thời gian trang)"},
    )
    r.raise_for_status()
    mid = r.json()["id"]
    deadline = time.monotonic() + wait_s
    status = "queued"
    while time.monotonic() < deadline:
        status = client.get(f"/v1/transcriptions/{mid}").json()["status"]
        if status in ("succeeded", "failed"):
            break
        time.sleep(2)
    return mid, status


class Generators:
    """``n`` signed-in sessions replaying the pages' requests in a loop, each in its own thread."""

    def __init__(self, base: str, people: dict[str, tuple[str, str]], pages: list[Page], n: int) -> None:
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        roles = list(people)
        self.clients = []
        for i in range(n):
            role = roles[i % len(roles)]
            username, password = people[role]
            urls = [u for p in pages if role in p.roles for u in p.replay]
            self.clients.append((sign_in_http(base, username, password), urls))
        self.threads = [threading.Thread(target=self._run, args=c, daemon=True) for c in self.clients]

    def _run(self, client: httpx.Client, urls: list[str]) -> None:
        while not self.stop.is_set():
            for url in urls:
                if self.stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    r = client.get(url)
                    bad = f"{r.status_code} {url}" if r.status_code >= 400 else None
                except httpx.HTTPError as e:
                    bad = f"{type(e).__name__} {url}"
                elapsed = (time.perf_counter() - started) * 1000
                with self.lock:
                    self.latencies.append(elapsed)
                    if bad:
                        self.errors.append(bad)

    def __enter__(self) -> Generators:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)
        for client, _ in self.clients:
            client.close()


class Timer:
    """The timing browser: one signed-in Chromium context per role."""

    def __init__(self, playwright: Any, base: str, people: dict[str, tuple[str, str]]) -> None:
        self.base = base
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_chromium_args())
        self.pages: dict[tuple[str, str], Any] = {}
        self.people = people
        self.errors: list[str] = []

    def page(self, role: str, viewport: dict[str, int]) -> Any:
        key = (role, json.dumps(viewport))
        if key not in self.pages:
            context = self.browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
            context.add_init_script(USABLE_PROBE)
            page = context.new_page()
            page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
            username, password = self.people[role]
            page.goto(f"{self.base}/dang-nhap?next=/")
            page.get_by_label("Tên đăng nhập").fill(username)
            page.get_by_label("Mật khẩu").fill(password)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url(self.base + "/")
            self.pages[key] = page
        return self.pages[key]

    def load(self, target: Page, record: list[str] | None = None) -> tuple[float, float]:
        """One load of ``target``: (usable ms, DOMContentLoaded ms) since the navigation started."""
        page = self.page(target.role, target.viewport)
        seen: list[str] = []

        def on_request(r: Any) -> None:
            if r.resource_type in ("document", "fetch", "xhr") and urlsplit(r.url).hostname == "127.0.0.1":
                parts = urlsplit(r.url)
                seen.append(parts.path + (f"?{parts.query}" if parts.query else ""))

        def on_response(r: Any) -> None:
            if r.status >= 400:
                self.errors.append(f"{r.status} {r.url} (on {target.path})")

        page.on("request", on_request)
        page.on("response", on_response)
        try:
            response = page.goto(self.base + target.path, wait_until="domcontentloaded", timeout=60_000)
            if response is None or response.status != 200:
                raise RuntimeError(f"{target.path} answered {response.status if response else 'nothing'}")
            page.wait_for_function("() => window.__usable !== undefined", timeout=60_000, polling=50)
            usable, dcl = page.evaluate(
                "() => [window.__usable, performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]"
            )
        finally:
            page.remove_listener("request", on_request)
            page.remove_listener("response", on_response)
        if record is not None:
            record[:] = list(dict.fromkeys(seen))
        return float(usable), float(dcl)

    def close(self) -> None:
        self.browser.close()


def measure(timer: Timer, pages: list[Page], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for page in pages:
        first, _ = timer.load(page, record=page.replay)
        usable, dcl = [], []
        for _ in range(repeats):
            u, d = timer.load(page)
            usable.append(u)
            dcl.append(d)
        out[page.path] = {
            "first_ms": round(first, 1),
            "usable": percentiles(usable),
            "dom_content_loaded": percentiles(dcl),
            "samples_ms": [round(x, 1) for x in usable],
        }
        print(
            f"  {page.path:<24} median {out[page.path]['usable']['median_ms']:>7} ms   "
            f"p95 {out[page.path]['usable']['p95_ms']:>7} ms",
            flush=True,
        )
    return out


def _wait_ready(base: str, server: subprocess.Popen[bytes], timeout_s: float) -> float:
    started = time.monotonic()
    while True:
        try:
            if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            sys.exit(f"ioc serve exited with {server.returncode} before answering")
        if time.monotonic() - started > timeout_s:
            sys.exit(f"ioc serve did not answer within {timeout_s:.0f} s")
        time.sleep(0.5)


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Time to a usable screen per page",
        "",
        f"Command: `{report['command']}`",
        "",
        f"{report['repeats']} timed loads per page after one warm-up load, headless Chromium at "
        f"{DESKTOP['width']}x{DESKTOP['height']} ({WALL['width']}x{WALL['height']} for the wall); 'usable' = "
        'DOMContentLoaded + `<main>` laid out + no `aria-busy="true"` left (see the script\'s docstring). '
        f"With {report['users']} people: the timing browser + {report['users'] - 1} signed-in sessions replaying "
        "the pages' document and /v1 requests without pause. "
        f"Load average before/after: {report['load_average_before'][0]:.2f} / {report['load_average_after'][0]:.2f} "
        f"on {report['cpus']} CPUs. First start of `ioc serve` (demo data, shipped models): "
        f"{report['server_start_s']:.0f} s.",
        "",
        f"| page | role | 1 person median ms | 1 person p95 ms | {report['users']} people median ms | "
        f"{report['users']} people p95 ms | p95 <= {TARGET_P95_MS:.0f} ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in report["pages"]:
        one, many = report["single"][p["path"]]["usable"], report["loaded"][p["path"]]["usable"]
        met = all(x["p95_ms"] is not None and x["p95_ms"] <= TARGET_P95_MS for x in (one, many))
        lines.append(
            f"| {p['label']} `{p['path_shown']}` | {p['role']} | {one['median_ms']} | {one['p95_ms']} | "
            f"{many['median_ms']} | {many['p95_ms']} | {'yes' if met else '**no**'} |"
        )
    g = report["generators"]
    lines += [
        "",
        f"Load generators: {g['requests']} requests in {g['seconds']:.0f} s ({g['requests_per_s']:.1f}/s), "
        f"median {g['latency']['median_ms']} ms, p95 {g['latency']['p95_ms']} ms, {g['errors']} errors.",
        f"Meeting page: {report['meeting']}.",
        f"Not measured: {', '.join(report['skipped']) or 'nothing'}.",
        f"Page errors seen: {len(report['page_errors'])}"
        + (f" (first: {report['page_errors'][0]})" if report["page_errors"] else ""),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20, help="timed loads per page and run")
    parser.add_argument("--users", type=int, default=20, help="people signed in at once in the second run")
    parser.add_argument("--meeting-wait", type=float, default=600, help="seconds to wait for the transcript")
    parser.add_argument("--start-timeout", type=float, default=900, help="seconds for the first start")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "experiments" / "results")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"Debian Chromium is required at {CHROMIUM} (scripts/setup installs it)")

    from playwright.sync_api import sync_playwright

    command = "python -m experiments.page_benchmark " + shlex.join(sys.argv[1:])
    load_before = os.getloadavg()
    pages = nav_pages()
    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="page-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        env.update(IOC_DATA_DIR=f"{tmp}/var", IOC_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "serve.log", "wb")  # noqa: SIM115 - closed in the finally below
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            print(f"ioc serve on {base}, data in {tmp}/var: first start...", flush=True)
            start_s = _wait_ready(base, server, args.start_timeout)
            print(f"  answered after {start_s:.0f} s", flush=True)
            from api.auth import ROLES

            people: dict[str, tuple[str, str]] = {}
            for role in ROLES:
                username, password = f"bench.{role}", "Bench-" + secrets.token_urlsafe(18)
                _ioc(
                    env,
                    "users",
                    "create",
                    "--username",
                    username,
                    "--role",
                    role,
                    "--name",
                    f"Đo thử {role}",
                    stdin=password + "\n",
                )
                people[role] = (username, password)

            viewer = sign_in_http(base, *people["viewer"])
            for label, path, role in EXTRA_PAGES:
                if viewer.get(path).status_code == 200:
                    allowed = tuple(ROLES[ROLES.index(role) :])
                    pages.append(Page(label, path, role, viewport=dict(WALL), roles=allowed))
                else:
                    skipped.append(f"{path} (not on this server)")
            viewer.close()
            secretary = sign_in_http(base, *people["secretary"])
            print("uploading the meeting clip and waiting for its transcript...", flush=True)
            meeting_id, meeting_status = upload_meeting(secretary, args.meeting_wait)
            secretary.close()
            pages.append(Page("Một cuộc họp", f"/cuoc-hop/{meeting_id}", "secretary", roles=("secretary", "admin")))
            meeting = f"`/cuoc-hop/<id>` of the uploaded two-speaker clip, transcript {meeting_status}"

            with sync_playwright() as p:
                timer = Timer(p, base, people)
                try:
                    print("one person:", flush=True)
                    single = measure(timer, pages, args.repeats)
                    print(f"{args.users} people:", flush=True)
                    with Generators(base, people, pages, args.users - 1) as gens:
                        started = time.monotonic()
                        loaded = measure(timer, pages, args.repeats)
                        seconds = time.monotonic() - started
                finally:
                    timer.close()
            load_after = os.getloadavg()
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()

    report = {
        "command": command,
        "repeats": args.repeats,
        "users": args.users,
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "server_start_s": round(start_s, 1),
        "target_p95_ms": TARGET_P95_MS,
        "pages": [
            {
                "label": pg.label,
                "path": pg.path,
                "path_shown": "/cuoc-hop/<id>" if pg.path.startswith("/cuoc-hop/") else pg.path,
                "role": pg.role,
                "replayed": pg.replay,
            }
            for pg in pages
        ],
        "single": single,
        "loaded": loaded,
        "generators": {
            "sessions": args.users - 1,
            "requests": len(gens.latencies),
            "seconds": round(seconds, 1),
            "requests_per_s": round(len(gens.latencies) / max(seconds, 1e-9), 1),
            "latency": percentiles(gens.latencies),
            "errors": len(gens.errors),
            "first_errors": gens.errors[:10],
        },
        "meeting": meeting,
        "skipped": skipped,
        "page_errors": timer.errors[:20],
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "page_benchmark.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    text = _markdown(report)
    (args.output_dir / "page_benchmark.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
