"""Forecasting benchmark: the project's automatic forecaster vs statsforecast on M3 and Tourism.

Reads ``m3/`` and ``tourism/`` (``*_train.csv``, ``*_test.csv``, ``*_meta.csv``) from ``--data-dir`` (default
``../shared/data/forecast`` relative to the repository root), forecasts the official horizons with
:func:`forecasting.forecast_frame` and, in the same run, with statsforecast's AutoETS, AutoTheta and AutoARIMA
and their mean combination, and reports per group sMAPE, MASE, 80%/95% coverage and wall time, checks the
targets of issue 3, and writes ``experiments/results/forecast_benchmark[...].json|md``. ``--mlflow-uri`` logs
params and metrics to MLflow.

statsforecast takes about 25 minutes of CPU; while iterating, ``--skip-reference`` runs only the project's
forecaster and compares it with the statsforecast figures stored by an earlier full run (``--reference``,
default ``experiments/results/forecast_benchmark.json``); the report labels those figures as stored and
is written under the stem ``forecast_benchmark_stored_ref`` so that it never replaces a full run's files.

    python -m experiments.forecast_benchmark --n-jobs 2
    python -m experiments.forecast_benchmark --limit 100 --datasets m3
    python -m experiments.forecast_benchmark --skip-reference --output-dir /tmp/fbench

``--validation`` never reads the test parts: each training series is cut before its last horizon, which
becomes the "test". Tune anything (methods, calibration) on that, then measure the test once.

    python -m experiments.forecast_benchmark --validation --skip-baseline --output-dir /tmp/fval
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting import PipelineConfig, forecast_frame
from forecasting.backtest import mase, smape
from forecasting.series import Series

logger = logging.getLogger("experiments.forecast_benchmark")

REPO = Path(__file__).resolve().parents[1]
GROUP_FREQ = {"Yearly": "Y", "Quarterly": "Q", "Monthly": "M", "Other": "I"}
SEASON = {"Y": 1, "Q": 4, "M": 12, "I": 1}
SF_MODELS = ("AutoETS", "AutoTheta", "AutoARIMA")
OURS = "ours"
ENSEMBLE = "SF-Ensemble"


def load(data_dir: Path, name: str, limit: int | None, validation: bool = False) -> list[dict[str, object]]:
    """Series of one data set: dicts with unique_id, group, freq, train (n,), test (h,).

    ``validation``: the test parts are not read; each training series' last horizon is held out instead.
    """
    d = data_dir / name
    tr = pd.read_csv(d / f"{name}_train.csv")
    meta = pd.read_csv(d / f"{name}_meta.csv")
    if limit:
        # a stratified subset: the first `limit` series of each group
        meta = meta.groupby("group", sort=False).head(limit)
    trg = {k: g.sort_values("t").y.to_numpy(float) for k, g in tr.groupby("unique_id")}
    if validation:
        h = {r.unique_id: int(r.horizon) for r in meta.itertuples()}
        teg = {k: v[-h[k] :] for k, v in trg.items() if k in h}
        trg = {k: v[: -h[k]] for k, v in trg.items() if k in h}
    else:
        te = pd.read_csv(d / f"{name}_test.csv")
        teg = {k: g.sort_values("t").y.to_numpy(float) for k, g in te.groupby("unique_id")}
    return [
        {
            "unique_id": r.unique_id,
            "group": r.group,
            "freq": GROUP_FREQ[r.group],
            "train": trg[r.unique_id],
            "test": teg[r.unique_id],
        }
        for r in meta.itertuples()
    ]


def score(items: list[dict[str, object]], fc: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Per-series metrics. fc[uid] = {"mean", "lo80", "hi80", "lo95", "hi95"}."""
    rows = []
    for it in items:
        f = fc[it["unique_id"]]
        a = it["test"]
        rows.append(
            {
                "unique_id": it["unique_id"],
                "group": it["group"],
                "smape": smape(f["mean"], a),
                "mase": mase(f["mean"], a, it["train"], SEASON[it["freq"]]),
                "in80": int(np.sum((a >= f["lo80"]) & (a <= f["hi80"]))),
                "in95": int(np.sum((a >= f["lo95"]) & (a <= f["hi95"]))),
                "points": len(a),
            }
        )
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for g, d in list(df.groupby("group")) + [("ALL", df)]:
        out[g] = {
            "smape": round(float(d.smape.mean()), 3),
            "mase": round(float(d.mase.mean()), 3),
            "coverage_80": round(float(d.in80.sum() / d.points.sum()), 4),
            "coverage_95": round(float(d.in95.sum() / d.points.sum()), 4),
            "n_series": int(len(d)),
        }
    return out


def run_ours(
    items: list[dict[str, object]], cfg: PipelineConfig, n_jobs: int, nonnegative: bool = False
) -> tuple[dict, float]:
    fc: dict[str, dict[str, np.ndarray]] = {}
    t0 = time.perf_counter()
    for group in dict.fromkeys(it["group"] for it in items):
        sub = [it for it in items if it["group"] == group]
        h = len(sub[0]["test"])
        freq = sub[0]["freq"]
        # integer index (M3 "Other" and Tourism have no dates), season length from the group's frequency
        series = [Series(it["unique_id"], freq, 1, it["train"], calendar=False, nonnegative=nonnegative) for it in sub]
        out = forecast_frame(series, h, (80, 95), config=cfg, n_jobs=n_jobs)
        for uid, g in out.groupby("unique_id", sort=False):
            fc[uid] = {
                "mean": g["mean"].to_numpy(),
                "lo80": g["lower_80"].to_numpy(),
                "hi80": g["upper_80"].to_numpy(),
                "lo95": g["lower_95"].to_numpy(),
                "hi95": g["upper_95"].to_numpy(),
            }
    return fc, time.perf_counter() - t0


def run_statsforecast(items: list[dict[str, object]], n_jobs: int) -> tuple[dict[str, dict], float]:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive

    # warm-up: numba compiles on first use; keep compilation out of the timing
    warm = pd.DataFrame({"unique_id": "w", "ds": np.arange(1, 41), "y": np.sin(np.arange(40)) + 10.0})
    StatsForecast(
        models=[AutoETS(season_length=4), AutoTheta(season_length=4), AutoARIMA(season_length=4)], freq=1
    ).forecast(h=4, df=warm, level=[80, 95])
    res: dict[str, dict[str, dict[str, np.ndarray]]] = {m: {} for m in (*SF_MODELS, ENSEMBLE)}
    t0 = time.perf_counter()
    for group in dict.fromkeys(it["group"] for it in items):
        sub = [it for it in items if it["group"] == group]
        h = len(sub[0]["test"])
        m = SEASON[sub[0]["freq"]]
        df = pd.concat(
            [
                pd.DataFrame({"unique_id": it["unique_id"], "ds": np.arange(1, len(it["train"]) + 1), "y": it["train"]})
                for it in sub
            ]
        )
        sf = StatsForecast(
            models=[AutoETS(season_length=m), AutoTheta(season_length=m), AutoARIMA(season_length=m)],
            freq=1,
            n_jobs=n_jobs,
            fallback_model=Naive(),
        )
        out = sf.forecast(h=h, df=df, level=[80, 95])
        if "unique_id" not in out.columns:
            out = out.reset_index()
        for uid, g in out.groupby("unique_id", sort=False):
            parts = {}
            for model in SF_MODELS:
                parts[model] = {
                    "mean": g[model].to_numpy(float),
                    "lo80": g[f"{model}-lo-80"].to_numpy(float),
                    "hi80": g[f"{model}-hi-80"].to_numpy(float),
                    "lo95": g[f"{model}-lo-95"].to_numpy(float),
                    "hi95": g[f"{model}-hi-95"].to_numpy(float),
                }
                res[model][uid] = parts[model]
            res[ENSEMBLE][uid] = {k: np.mean([parts[mm][k] for mm in SF_MODELS], axis=0) for k in parts[SF_MODELS[0]]}
    return res, time.perf_counter() - t0


def load_reference(path: Path, dataset: str) -> tuple[dict[str, dict[str, dict[str, float]]], float | None]:
    """statsforecast's per-model tables and wall time for ``dataset`` from a full run's JSON report."""
    try:
        report = json.loads(path.read_text())
        r = report["datasets"][dataset]
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(
            f"--skip-reference needs a full run's report with {dataset!r} in it. Got: {path} ({e!r})"
        ) from e
    table = {m: r["table"][m] for m in (*SF_MODELS, ENSEMBLE) if m in r["table"]}
    if len(table) != len(SF_MODELS) + 1:
        raise SystemExit(f"{path} has no statsforecast figures for {dataset!r}: rerun without --skip-baseline")
    return table, r["wall_s"].get("statsforecast")


def check_targets(
    dataset: str,
    table: dict[str, dict[str, dict[str, float]]],
    t_ours: float,
    t_sf: float | None,
    stored: bool = False,
) -> list[str]:
    """Issue 3's targets as PASS/FAIL lines (``stored``: statsforecast's figures come from an earlier run)."""
    lines = []
    ref = "stored statsforecast" if stored else "statsforecast"
    ours = table[OURS]
    if dataset == "m3":
        s = ours["ALL"]["smape"]
        lines.append(f"{'PASS' if s <= 12.5 else 'FAIL'} M3 sMAPE overall {s:.3f} <= 12.5")
        if t_sf is not None:
            for g in [k for k in ours if k != "ALL"]:
                best = min(table[m][g]["smape"] for m in (*SF_MODELS, ENSEMBLE))
                lines.append(
                    f"{'PASS' if ours[g]['smape'] <= best else 'FAIL'} M3 {g} sMAPE {ours[g]['smape']:.3f}"
                    f" <= best {ref} {best:.3f}"
                )
        lines.append(f"{'PASS' if t_ours <= 120 else 'FAIL'} M3 wall time {t_ours:.1f} s <= 120 s")
        if t_sf is not None:
            lines.append(
                f"{'PASS' if t_sf / t_ours >= 4 else 'FAIL'} speed ratio {t_sf / t_ours:.1f}x >= 4x"
                f" ({ref} {t_sf:.1f} s)"
            )
    c80, c95 = ours["ALL"]["coverage_80"], ours["ALL"]["coverage_95"]
    lines.append(f"{'PASS' if 0.78 <= c80 <= 0.82 else 'FAIL'} {dataset} coverage_80 {c80:.3f} in [0.78, 0.82]")
    lines.append(f"{'PASS' if 0.93 <= c95 <= 0.97 else 'FAIL'} {dataset} coverage_95 {c95:.3f} in [0.93, 0.97]")
    return lines


def markdown(report: dict[str, object]) -> str:
    title = "Forecast benchmark, validation (each training series' last horizon held out; test parts not read)"
    out = [
        f"# {title if report.get('validation') else 'Forecast benchmark'}\n\n`{report['command']}`\n",
        f"Machine: {report['machine']}\n",
    ]
    if report.get("nonnegative"):
        out.append("Every series declared non-negative (`--nonnegative`): distributions censored at zero.\n")
    stored = report.get("reference")
    if stored:
        out.append(
            f"**statsforecast was not run**: its rows, wall time and the comparisons use the figures stored"
            f" in `{stored}` (marked *stored*).\n"
        )
    tag = " (stored)" if stored else ""
    for ds, r in report["datasets"].items():
        out.append(
            f"\n## {ds}\n\nwall time: ours {r['wall_s'][OURS]:.1f} s"
            + (
                f", statsforecast ETS+Theta+ARIMA{tag} {r['wall_s']['statsforecast']:.1f} s"
                if "statsforecast" in r["wall_s"]
                else ""
            )
            + "\n"
        )
        out.append("| model | group | sMAPE | MASE | cov 80 | cov 95 | series |\n|---|---|---|---|---|---|---|")
        for model, groups in r["table"].items():
            for g, v in groups.items():
                label = model if model == OURS else model + tag
                out.append(
                    f"| {label} | {g} | {v['smape']:.3f} | {v['mase']:.3f} | {v['coverage_80']:.3f}"
                    f" | {v['coverage_95']:.3f} | {v['n_series']} |"
                )
        out.append("\n" + "\n".join(f"- {line}" for line in r["targets"]))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.forecast_benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "forecast")
    p.add_argument("--datasets", nargs="+", default=["m3", "tourism"], choices=["m3", "tourism"])
    p.add_argument("--limit", type=int, default=None, help="first N series of each group (quick runs)")
    p.add_argument("--n-jobs", type=int, default=-1, help="processes for both contenders (-1 = all cores)")
    p.add_argument("--skip-baseline", action="store_true", help="do not run statsforecast, compare nothing")
    p.add_argument(
        "--skip-reference",
        action="store_true",
        help="do not run statsforecast; compare with its figures stored in --reference (labelled stored)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        default=REPO / "experiments" / "results" / "forecast_benchmark.json",
        help="full run's JSON report whose statsforecast figures --skip-reference uses",
    )
    p.add_argument("--config", type=Path, default=None, help="PipelineConfig JSON (default: PipelineConfig())")
    p.add_argument(
        "--nonnegative",
        action="store_true",
        help="declare every series non-negative (intervals censored at zero; M3 and Tourism are positive)",
    )
    p.add_argument("--output-dir", type=Path, default=REPO / "experiments" / "results")
    p.add_argument("--mlflow-uri", default=None)
    p.add_argument(
        "--validation",
        action="store_true",
        help="hold out the last horizon of each training series instead of reading the test parts",
    )
    args = p.parse_args(argv)
    if args.skip_reference and (args.limit or args.validation):
        p.error("--skip-reference compares with a full test run's figures: not with --limit or --validation")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = PipelineConfig.from_json(args.config.read_text()) if args.config else PipelineConfig()
    report: dict[str, object] = {
        "command": "python -m experiments.forecast_benchmark " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, n_jobs={args.n_jobs}",
        "config": cfg.to_dict(),
        "validation": args.validation,
        "nonnegative": args.nonnegative,
        "datasets": {},
    }
    if args.skip_reference:
        report["reference"] = str(args.reference)
    for ds in args.datasets:
        items = load(args.data_dir, ds, args.limit, args.validation)
        logger.info("%s: %d series", ds, len(items))
        fc, t_ours = run_ours(items, cfg, args.n_jobs, args.nonnegative)
        logger.info("%s ours: %.1f s", ds, t_ours)
        table = {OURS: summarise(score(items, fc))}
        wall = {OURS: round(t_ours, 2)}
        t_sf = None
        if args.skip_reference:
            ref_table, t_sf = load_reference(args.reference, ds)
            table.update(ref_table)
            if t_sf is not None:
                wall["statsforecast"] = t_sf
        elif not args.skip_baseline:
            sf, t_sf = run_statsforecast(items, args.n_jobs)
            logger.info("%s statsforecast: %.1f s", ds, t_sf)
            wall["statsforecast"] = round(t_sf, 2)
            for model, fcs in sf.items():
                table[model] = summarise(score(items, fcs))
        targets = check_targets(ds, table, t_ours, t_sf, stored=args.skip_reference)
        for line in targets:
            logger.info(line)
        report["datasets"][ds] = {"table": table, "wall_s": wall, "targets": targets}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    stem = (
        "forecast_benchmark"
        + ("_validation" if args.validation else "")
        + (f"_limit{args.limit}" if args.limit else "")
        + ("_nonnegative" if args.nonnegative else "")
        + ("_stored_ref" if args.skip_reference else "")
    )
    (args.output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.output_dir / f"{stem}.md").write_text(markdown(report))
    logger.info("wrote %s", args.output_dir / f"{stem}.md")
    if args.mlflow_uri:
        import mlflow

        mlflow.set_tracking_uri(args.mlflow_uri)
        mlflow.set_experiment("forecast_benchmark")
        with mlflow.start_run(run_name=stem):
            mlflow.log_params(
                {
                    "datasets": ",".join(args.datasets),
                    "limit": args.limit,
                    "n_jobs": args.n_jobs,
                    "config": cfg.to_json()[:6000],
                    "statsforecast": f"stored: {args.reference}" if args.skip_reference else "run",
                }
            )
            for ds, r in report["datasets"].items():
                for model, groups in r["table"].items():
                    for g, v in groups.items():
                        for k, val in v.items():
                            mlflow.log_metric(f"{ds}.{model}.{g}.{k}".replace(" ", "_"), float(val))
                for k, val in r["wall_s"].items():
                    mlflow.log_metric(f"{ds}.wall_s.{k}", float(val))
            mlflow.log_artifact(str(args.output_dir / f"{stem}.md"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
