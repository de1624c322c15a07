"""Latency of ``POST /v1/sentiment`` with 100 texts against a real ``ioc serve`` process (issue 5 target:
p99 <= 50 ms on this machine), side by side with the classifier alone on the same batches in this process.

    python -m experiments.api_latency_benchmark [--requests 500] [--batch 100] [--mlflow-uri URI]

The server runs in its own process (uvicorn, one worker, embedded mode in a temporary data dir with the
shipped sentiment model); requests are sent one after another over loopback with keep-alive.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {
        "p50_ms": q(50),
        "p95_ms": q(95),
        "p99_ms": q(99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--output-dir", type=Path, default=ROOT / "experiments" / "results")
    parser.add_argument("--mlflow-uri", default=None)
    args = parser.parse_args()

    from models.shipped import SENTIMENT_DIR
    from social_listening import SentimentClassifier
    from social_listening.corpora import load_seed

    texts = list(load_seed().texts)
    rng = random.Random(0)
    batches = [rng.sample(texts, args.batch) for _ in range(args.requests + args.warmup)]

    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        env.update(IOC_DATA_DIR=f"{tmp}/var", IOC_FORECASTING__LOAD_DEMO="false", IOC_LOG_LEVEL="WARNING")
        subprocess.run([sys.executable, "-m", "api.cli", "startup"], env=env, check=True, cwd=ROOT, capture_output=True)
        key = (
            subprocess.run(
                [sys.executable, "-m", "api.cli", "keys", "create", "--role", "viewer", "--name", "bench"],
                env=env,
                check=True,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "0"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("the server did not start")
                time.sleep(0.5)
            api_ms: list[float] = []
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
                for i, batch in enumerate(batches):
                    started = time.perf_counter()
                    r = client.post("/v1/sentiment", json={"texts": batch})
                    elapsed = (time.perf_counter() - started) * 1000
                    r.raise_for_status()
                    if i >= args.warmup:
                        api_ms.append(elapsed)
        finally:
            server.terminate()
            server.wait(15)

    clf = SentimentClassifier.load(SENTIMENT_DIR / "model.skops")
    clf.predict_proba(batches[0])
    model_ms = []
    for batch in batches[args.warmup :]:
        started = time.perf_counter()
        clf.predict_proba(batch)
        model_ms.append((time.perf_counter() - started) * 1000)

    load = os.getloadavg()
    report = {
        "requests": args.requests,
        "batch": args.batch,
        "load_average_after": load,
        "api": _percentiles(api_ms),
        "classifier_alone": _percentiles(model_ms),
        "target_p99_ms": 50.0,
    }
    report["api_p99_over_target"] = report["api"]["p99_ms"] / 50.0
    report["api_over_classifier_p50"] = report["api"]["p50_ms"] / report["classifier_alone"]["p50_ms"]
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "api_latency_benchmark.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# POST /v1/sentiment latency",
        "",
        f"{args.requests} requests of {args.batch} texts, sequential, loopback, one `ioc serve` process; "
        f"load average after the run: {load[0]:.2f}.",
        "",
        "| | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in ("api", "classifier_alone"):
        p = report[name]
        lines.append(f"| {name} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | {p['p99_ms']:.1f} | {p['max_ms']:.1f} |")
    lines += [
        "",
        f"Target p99 <= 50 ms: {'met' if report['api']['p99_ms'] <= 50 else 'NOT met'} "
        f"(p99 / target = {report['api_p99_over_target']:.2f}).",
    ]
    (args.output_dir / "api_latency_benchmark.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.mlflow_uri:
        import mlflow

        mlflow.set_tracking_uri(args.mlflow_uri)
        mlflow.set_experiment("benchmark-api-latency")
        with mlflow.start_run():
            mlflow.log_params({"requests": args.requests, "batch": args.batch})
            mlflow.log_metrics(
                {f"api_{k}": v for k, v in report["api"].items()}
                | {f"classifier_{k}": v for k, v in report["classifier_alone"].items()}
            )


if __name__ == "__main__":
    main()
