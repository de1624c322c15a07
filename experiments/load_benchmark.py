"""Load benchmark of ``ioc serve`` in its default configuration (issue 15): dashboards refresh on a clock.

    python -m experiments.load_benchmark [--duration 60] [--viewers 200] [--analysts 20] [--texts 100]
        [--closed-seconds 10] [--connections 16] [--workers 1 2] [--output-dir experiments/results]

1. **Open loop** (arrivals on a clock, whatever the responses do, as wrk2 does): ``--viewers`` virtual viewers
   each read a forecast (``GET /v1/indicators/{code}/forecast?horizon=12``, the demo indicators in turn) every
   2 s, and ``--analysts`` virtual analysts each score ``--texts`` texts (``POST /v1/sentiment``) every 5 s,
   for ``--duration`` seconds. Each user's first request falls at a random offset inside its period. Latency
   is measured from the time the request was DUE, not sent, so a server that falls behind is not flattered
   (no coordinated omission). Targets: 0 errors, forecast p99 <= 100 ms, sentiment p99 <= 500 ms.
2. **Closed loop** (``--connections`` keep-alive connections, each sending its next request when the last
   answer arrives, for ``--closed-seconds``): ``/health/live``, ``/health`` (target >= 1,000 req/s) and the
   forecast read, the last with ``ioc serve --workers W`` for each W of ``--workers``.

The server starts as a subprocess on a fresh data dir (``ioc startup`` first: migrations, the default
models, the demo indicators); the client is a small asyncio HTTP/1.1 client in this process (httpx cost
more CPU per request than the server on a 2-core machine). Both share the machine: the load average is
reported with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FORECAST_PERIOD_S = 2.0
SENTIMENT_PERIOD_S = 5.0
TARGETS_P99_MS = {"forecast": 100.0, "sentiment": 500.0}
HEALTH_TARGET_RPS = 1000.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of latencies in milliseconds (nearest rank)."""
    if not ms:
        return {}
    ordered = sorted(ms)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]

    return {"p50_ms": q(50), "p95_ms": q(95), "p99_ms": q(99), "max_ms": ordered[-1], "mean_ms": statistics.fmean(ms)}


# -- a minimal HTTP/1.1 keep-alive client -------------------------------------------------------------------
class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        return status, body

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Idle keep-alive connections to one server; a request takes one or opens a new one."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[Connection] = []

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        conn = self.idle.pop() if self.idle else Connection(*await asyncio.open_connection("127.0.0.1", self.port))
        try:
            result = await conn.request(raw)
        except Exception:
            conn.close()
            raise
        self.idle.append(conn)
        return result

    def close(self) -> None:
        for c in self.idle:
            c.close()


def get(path: str, key: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {key}\r\n" if key else ""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()


def post_json(path: str, key: str, body: Any) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


# -- open loop -----------------------------------------------------------------------------------------------
@dataclass
class Kind:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


async def open_loop(
    port: int, key: str, codes: list[str], texts: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    pool = Pool(port)
    rng = random.Random(0)
    kinds = {"forecast": Kind(), "sentiment": Kind()}
    loop = asyncio.get_running_loop()
    start = loop.time() + 1.0
    end = start + args.duration
    tasks: list[asyncio.Task[None]] = []

    async def one(kind: str, raw: bytes, due: float) -> None:
        k = kinds[kind]
        k.sent += 1
        try:
            status, _ = await asyncio.wait_for(pool.send(raw), timeout=30)
        except Exception as e:
            k.error(type(e).__name__)
            return
        if status != 200:
            k.error(f"HTTP {status}")
        k.latencies_ms.append((loop.time() - due) * 1000)

    async def user(kind: str, period: float, make: Any) -> None:
        due = start + rng.uniform(0, period)
        i = 0
        while due < end:
            await asyncio.sleep(max(0.0, due - loop.time()))
            tasks.append(asyncio.create_task(one(kind, make(i), due)))  # never waits for the answer
            i += 1
            due += period

    viewers = [
        user(
            "forecast",
            FORECAST_PERIOD_S,
            lambda i, v=v: get(f"/v1/indicators/{codes[(v + i) % len(codes)]}/forecast?horizon=12", key),
        )
        for v in range(args.viewers)
    ]
    analysts = [
        user(
            "sentiment",
            SENTIMENT_PERIOD_S,
            lambda i, a=a: post_json("/v1/sentiment", key, {"texts": rng.sample(texts, args.texts)}),
        )
        for a in range(args.analysts)
    ]
    load_before = os.getloadavg()
    await asyncio.gather(*viewers, *analysts)
    await asyncio.gather(*tasks)
    pool.close()
    out: dict[str, Any] = {"load_average_before": load_before, "load_average_after": os.getloadavg()}
    for name, k in kinds.items():
        out[name] = {
            "requests": k.sent,
            "rate_per_s": k.sent / args.duration,
            "errors": sum(k.errors.values()),
            "error_kinds": k.errors,
            **percentiles(k.latencies_ms),
            "target_p99_ms": TARGETS_P99_MS[name],
        }
    return out


# -- closed loop ---------------------------------------------------------------------------------------------
async def closed_loop(port: int, raw: bytes, connections: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        conn = Connection(*await asyncio.open_connection("127.0.0.1", port))
        try:
            while loop.time() < end:
                t = loop.time()
                status, _ = await conn.request(raw)
                latencies.append((loop.time() - t) * 1000)
                if status != 200:
                    errors += 1
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    took = loop.time() - started
    return {
        "connections": connections,
        "seconds": took,
        "requests": len(latencies),
        "rps": len(latencies) / took,
        "errors": errors,
        **percentiles(latencies),
        "load_average_after": os.getloadavg(),
    }


# -- the server ----------------------------------------------------------------------------------------------
def _ioc(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(f"ioc {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


class Serve:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.port = _free_port()
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), *args],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 600
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(get("/health"))
                    if b" 200 " in s.recv(200):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit(f"ioc serve did not start; see {log}")
            time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _texts() -> list[str]:
    from social_listening.corpora import load_seed

    return list(load_seed().texts)


def _report_md(report: dict[str, Any]) -> str:
    o = report["open_loop"]
    lines = [
        "# Load benchmark: `ioc serve`, default configuration",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['cpus']} CPUs; load average before the open-loop run {o['load_average_before'][0]:.2f}, "
        f"after {o['load_average_after'][0]:.2f} (client and server share the machine).",
        "",
        f"## Open loop: {report['viewers']} viewers every {FORECAST_PERIOD_S:g} s, {report['analysts']} analysts "
        f"scoring {report['texts']} texts every {SENTIMENT_PERIOD_S:g} s, {report['duration_s']:g} s",
        "",
        "Latency from the time each request was due (arrivals on a clock, not after the previous answer).",
        "",
        "| kind | requests | rate/s | errors | p50 ms | p95 ms | p99 ms | max ms | target p99 | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("forecast", "sentiment"):
        k = o[name]
        met = k["errors"] == 0 and k.get("p99_ms", 1e9) <= k["target_p99_ms"]
        lines.append(
            f"| {name} | {k['requests']} | {k['rate_per_s']:.1f} | {k['errors']} {k['error_kinds'] or ''} | "
            + " | ".join(f"{k.get(p, 0):.1f}" for p in ("p50_ms", "p95_ms", "p99_ms", "max_ms"))
            + f" | {k['target_p99_ms']:g} | {'yes' if met else 'NO'} |"
        )
    lines += [
        "",
        f"## Closed loop ({report['connections']} connections, {report['closed_seconds']:g} s each)",
        "",
        "| route | `--workers` | req/s | errors | p50 ms | p99 ms | load avg after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["closed_loop"]:
        lines.append(
            f"| {row['route']} | {row['workers']} | {row['rps']:.0f} | {row['errors']} | {row.get('p50_ms', 0):.1f} | "
            f"{row.get('p99_ms', 0):.1f} | {row['load_average_after'][0]:.2f} |"
        )
    lines += [
        "",
        f"Health target >= {HEALTH_TARGET_RPS:g} req/s. `--workers` is the number of in-process JOB threads of "
        "`ioc serve` (api/cli.py); HTTP requests are served by one uvicorn process either way, so the forecast "
        "read is not expected to scale with it: the rows show what idle job threads cost the reads.",
    ]
    if report.get("note"):
        lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of open-loop load")
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--analysts", type=int, default=20)
    parser.add_argument("--texts", type=int, default=100)
    parser.add_argument("--closed-seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="ioc serve --workers values")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "experiments" / "results")
    parser.add_argument("--note", default="", help="a line added to the report (e.g. 'provisional: 20 s run')")
    args = parser.parse_args()

    texts = _texts()
    report: dict[str, Any] = {
        "command": "python -m experiments.load_benchmark " + shlex.join(sys.argv[1:]),
        "cpus": os.cpu_count(),
        "viewers": args.viewers,
        "analysts": args.analysts,
        "texts": args.texts,
        "duration_s": args.duration,
        "connections": args.connections,
        "closed_seconds": args.closed_seconds,
        "note": args.note,
    }
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        env.update(IOC_DATA_DIR=f"{tmp}/var", IOC_LOG_LEVEL="WARNING")
        print("first start (migrations, default models, demo indicators)...", file=sys.stderr)
        _ioc(env, "startup")
        key = _ioc(env, "keys", "create", "--role", "viewer", "--name", "load").strip().splitlines()[-1]
        log = Path(tmp) / "serve.log"

        server = Serve(env, log)  # the default configuration: in-process job threads as configured (2)
        try:
            codes = _codes(server.port, key)
            print(f"open loop for {args.duration:g} s against {len(codes)} indicators...", file=sys.stderr)
            report["open_loop"] = asyncio.run(open_loop(server.port, key, codes, texts, args))
            report["drain_s"] = _drain(server.port)  # requests the client gave up on may still be running
            report["closed_loop"] = []
            for route in ("/health/live", "/health"):
                row = asyncio.run(closed_loop(server.port, get(route), args.connections, args.closed_seconds))
                report["closed_loop"].append({"route": route, "workers": "default"} | row)
        finally:
            server.stop()
        for workers in args.workers:
            server = Serve(env, log, "--workers", str(workers))
            try:
                raw = get(f"/v1/indicators/{codes[0]}/forecast?horizon=12", key)
                row = asyncio.run(closed_loop(server.port, raw, args.connections, args.closed_seconds))
                report["closed_loop"].append({"route": "forecast", "workers": workers} | row)
            finally:
                server.stop()

    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "load_benchmark.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    md = _report_md(report)
    (args.output_dir / "load_benchmark.md").write_text(md)
    print(md)


def _drain(port: int, limit_s: float = 300.0) -> float:
    """Seconds until ``/health/live`` answers within 50 ms again (the server has caught up)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        t = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=limit_s) as s:
            s.sendall(get("/health/live"))
            s.recv(200)
        if time.monotonic() - t < 0.05:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def _codes(port: int, key: str) -> list[str]:
    async def fetch() -> list[str]:
        pool = Pool(port)
        status, body = await pool.send(get("/v1/indicators", key))
        pool.close()
        if status != 200:
            sys.exit(f"GET /v1/indicators answered {status}: {body[:300]!r}")
        return [row["code"] for row in json.loads(body)]

    codes = asyncio.run(fetch())
    if not codes:
        sys.exit("no demo indicators to forecast")
    return codes


if __name__ == "__main__":
    main()
