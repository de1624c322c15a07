"""Benchmark of coherent forecasts across levels: base, bottom-up, ours (forecasting.reconcile) and
hierarchicalforecast's MinT with shrinkage, all on the SAME base forecasts of the pipeline, rolling origins.

Data (nothing is downloaded):

* ``budget``: Vietnamese provincial budget revenue (``total.rev``, MOF figures via the CC0 R package
  ``vietnamdata``), yearly 2006-2015, read from ``DATA_DIR/indicators/vn_province_budget_mof``. Ha Tây,
  merged into Hà Nội on 1 August 2008, is added to Hà Nội for 2006-2008 (today's boundary, the same
  re-aggregation a merger such as the new Lâm Đồng of 2025 needs). 63 provinces -> the six socio-economic
  regions of the General Statistics Office -> the country: 70 series, 3 levels. Horizon 2; origins after
  2011, 2012 and 2013.
* ``tourism``: Australian domestic tourism, visitor nights, monthly 1998-2017, 76 regions -> 27 zones ->
  7 states -> Australia (111 series, 4 levels; Wickramasuriya, Athanasopoulos and Hyndman 2019), the
  ``Tourism.csv`` shipped inside the ``pyhts`` wheel (BSD-3-Clause; read as a file, pyhts is not imported).
  Horizon 12; origins 12, 24, 36 and 48 months before the end.

Per level: MASE (scale: in-sample mean absolute seasonal-naive difference of the training part), sMAPE,
and the coverage of the 80% and 95% intervals. "overall" is the mean over levels (each level weighs the
same, so the many bottom series do not dominate). Time: the reconciliation step alone for ours and for
hierarchicalforecast (same base forecasts, same past errors); the base forecasts and the past errors are
timed apart (they are shared).

    python -m experiments.hierarchy_benchmark --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from forecasting import PipelineConfig, Series
from forecasting.backtest import mase, smape
from forecasting.intervals import level_key
from forecasting.reconcile import (
    CoherentForecast,
    ErrorSamples,
    Hierarchy,
    ReconcileOptions,
    base_forecasts,
    error_samples,
    hierarchy_from_components,
    reconcile,
)

REPO = Path(__file__).resolve().parents[1]
LEVELS = (80.0, 95.0)
logger = logging.getLogger("hierarchy_benchmark")

#: The six socio-economic regions of the General Statistics Office (63 provinces, boundaries of 2008-2025).
REGIONS: dict[str, list[str]] = {
    "Red River Delta": [
        "Ha Noi", "Vinh Phuc", "Bac Ninh", "Quang Ninh", "Hai Duong", "Hai Phong",
        "Hung Yen", "Thai Binh", "Ha Nam", "Nam Dinh", "Ninh Binh",
    ],
    "Northern Midlands and Mountains": [
        "Ha Giang", "Cao Bang", "Bac Kan", "Tuyen Quang", "Lao Cai", "Yen Bai", "Thai Nguyen",
        "Lang Son", "Bac Giang", "Phu Tho", "Dien Bien", "Lai Chau", "Son La", "Hoa Binh",
    ],
    "North Central and Central Coast": [
        "Thanh Hoa", "Nghe An", "Ha Tinh", "Quang Binh", "Quang Tri", "Thua Thien - Hue", "Da Nang",
        "Quang Nam", "Quang Ngai", "Binh Dinh", "Phu Yen", "Khanh Hoa", "Ninh Thuan", "Binh Thuan",
    ],
    "Central Highlands": ["Kon Tum", "Gia Lai", "Dak Lak", "Dak Nong", "Lam Dong"],
    "Southeast": ["Binh Phuoc", "Tay Ninh", "Binh Duong", "Dong Nai", "Ba Ria - Vung Tau", "Ho Chi Minh City"],
    "Mekong River Delta": [
        "Long An", "Tien Giang", "Ben Tre", "Tra Vinh", "Vinh Long", "Dong Thap", "An Giang",
        "Kien Giang", "Can Tho", "Hau Giang", "Soc Trang", "Bac Lieu", "Ca Mau",
    ],
}  # fmt: skip


# -- data ----------------------------------------------------------------------------------------------------
def load_budget(data_dir: Path) -> tuple[Hierarchy, dict[str, np.ndarray], str, int, int]:
    """(hierarchy, values by code over 2006-2015, freq, start ordinal, season length)."""
    path = data_dir / "indicators" / "vn_province_budget_mof" / "Vietnam_National_Budget_Final.csv"
    df = pd.read_csv(path)
    wide = df.pivot_table(index="prov", columns="year", values="total.rev", aggfunc="sum")
    wide.loc["Ha Noi"] = wide.loc["Ha Noi"] + wide.loc["Ha Tay"].fillna(0.0)
    wide = wide.drop(index="Ha Tay")
    provinces = [p for ps in REGIONS.values() for p in ps]
    extra = sorted(set(wide.index) - set(provinces))
    lacking = sorted(set(provinces) - set(wide.index))
    if extra or lacking or wide.isna().any().any():
        raise ValueError(f"budget table does not match the 63 provinces: extra {extra}, missing {lacking}")
    values = {p: wide.loc[p].to_numpy(float) for p in provinces}
    for region, ps in REGIONS.items():
        values[region] = np.sum([values[p] for p in ps], axis=0)
    values["Viet Nam"] = np.sum([values[r] for r in REGIONS], axis=0)
    hier = hierarchy_from_components({"Viet Nam": list(REGIONS), **REGIONS})
    return hier, values, "Y", int(wide.columns.min()), 1


def tourism_csv() -> Path:
    """Path of the Tourism.csv shipped in the installed pyhts wheel (pyhts itself needs pkg_resources)."""
    dist = importlib.metadata.distribution("pyhts")
    return Path(str(dist.locate_file("pyhts/data/Tourism.csv")))


def load_tourism() -> tuple[Hierarchy, dict[str, np.ndarray], str, int, int]:
    df = pd.read_csv(tourism_csv(), index_col=0)
    cols = [c for c in df.columns if c not in ("state", "region", "city")]
    values: dict[str, np.ndarray] = {}
    comp: dict[str, list[str]] = {"Total": []}
    for _, row in df.iterrows():
        st, zone, reg = f"S{row['state']}", f"Z{row['region']}", f"R{row['city']}"
        values[reg] = row[cols].to_numpy(float)
        if st not in comp:
            comp["Total"].append(st)
            comp[st] = []
        if zone not in comp:
            comp[st].append(zone)
            comp[zone] = []
        comp[zone].append(reg)
    hier = hierarchy_from_components(comp)
    for code in reversed(hier.nodes):  # components before their parents
        if code in comp:
            values[code] = np.sum([values[c] for c in comp[code]], axis=0)
    return hier, values, "M", 1998 * 12, 12


# -- one origin --------------------------------------------------------------------------------------------
def _hf_reconcile(
    hier: Hierarchy, base: dict[str, Any], samples: ErrorSamples, h: int
) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """hierarchicalforecast MinT(shrink) on the same base forecasts and past errors.

    Returns (means (n, h), bounds by 'lo-80'..., seconds of the reconcile call)."""
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import MinTrace

    nodes = list(hier.nodes)
    rows = []
    for c in nodes:
        f = base[c]
        d = {"unique_id": c, "ds": np.arange(h) + samples.raw.shape[0], "pipeline": f.mean}
        for lv in LEVELS:
            k = level_key(lv)
            d[f"pipeline-lo-{k}"] = f.lower[k]
            d[f"pipeline-hi-{k}"] = f.upper[k]
        rows.append(pd.DataFrame(d))
    y_hat = pd.concat(rows, ignore_index=True)
    k_s = samples.raw.shape[0]
    y_df = pd.DataFrame(
        {
            "unique_id": np.repeat(nodes, k_s),
            "ds": np.tile(np.arange(k_s), len(nodes)),
            "y": 0.0,
            "pipeline": samples.raw.T.ravel(),  # residual y - y_hat = minus the error: same covariance
        }
    )
    s_df = pd.DataFrame(hier.S, columns=list(hier.bottom))
    s_df.insert(0, "unique_id", nodes)
    lvl = hier.level_of()
    tags = {f"level{d}": np.array(nodes, dtype=object)[lvl == d] for d in np.unique(lvl)}
    hrec = HierarchicalReconciliation([MinTrace(method="mint_shrink")])
    t0 = time.perf_counter()
    out = hrec.reconcile(Y_hat_df=y_hat, Y_df=y_df, S_df=s_df, tags=tags, level=[80, 95])
    dt = time.perf_counter() - t0
    col = next(c for c in out.columns if c.startswith("pipeline/MinTrace") and "-lo-" not in c and "-hi-" not in c)
    out = out.set_index("unique_id").loc[nodes]
    mean = out[col].to_numpy(float).reshape(len(nodes), h)
    bounds = {}
    for lv in LEVELS:
        k = level_key(lv)
        bounds[f"lo-{k}"] = out[f"{col}-lo-{k}"].to_numpy(float).reshape(len(nodes), h)
        bounds[f"hi-{k}"] = out[f"{col}-hi-{k}"].to_numpy(float).reshape(len(nodes), h)
    return mean, bounds, dt


def _score(
    hier: Hierarchy,
    hist: dict[str, np.ndarray],
    actual: dict[str, np.ndarray],
    mean: np.ndarray,
    bounds: dict[str, np.ndarray],
    m: int,
) -> list[dict[str, float]]:
    out = []
    for i, c in enumerate(hier.nodes):
        a = actual[c]
        row = {
            "node": c,
            "depth": hier.depth[c],
            "mase": mase(mean[i], a, hist[c], m),
            "smape": smape(mean[i], a),
            "points": float(a.shape[0]),
        }
        for lv in LEVELS:
            k = level_key(lv)
            row[f"covered_{k}"] = float(np.sum((a >= bounds[f"lo-{k}"][i]) & (a <= bounds[f"hi-{k}"][i])))
        out.append(row)
    return out


def _bounds(fc: CoherentForecast) -> dict[str, np.ndarray]:
    b = {}
    for lv in LEVELS:
        k = level_key(lv)
        b[f"lo-{k}"] = fc.lower[k]
        b[f"hi-{k}"] = fc.upper[k]
    return b


def run_dataset(
    name: str,
    hier: Hierarchy,
    values: dict[str, np.ndarray],
    freq: str,
    start: int,
    m: int,
    h: int,
    train_lengths: list[int],
    cfg: PipelineConfig,
    skip_hf: bool,
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    times = {"base_s": 0.0, "errors_s": 0.0, "ours_s": 0.0, "hf_s": 0.0}
    origins = []
    opts = ReconcileOptions()
    for n in train_lengths:
        hist_v = {c: values[c][:n] for c in hier.nodes}
        actual = {c: values[c][n : n + h] for c in hier.nodes}
        histories = {c: Series(c, freq, start, hist_v[c]) for c in hier.nodes}
        t0 = time.perf_counter()
        base = base_forecasts(hier, histories, h, LEVELS, cfg)
        t1 = time.perf_counter()
        samples = error_samples(hier, histories, base, cfg, opts)
        if n == train_lengths[0]:  # warm-up, untimed: imports, caches and compilation of both contenders
            reconcile(hier, histories, base, LEVELS, opts, cfg, samples)
            if not skip_hf:
                with contextlib.suppress(Exception):  # the timed call below reports it
                    _hf_reconcile(hier, base, samples, h)
        t2 = time.perf_counter()
        ours = reconcile(hier, histories, base, LEVELS, opts, cfg, samples)
        t3 = time.perf_counter()
        bu = reconcile(hier, histories, base, LEVELS, ReconcileOptions(method="bottom_up"), cfg, samples)
        times["base_s"] += t1 - t0
        times["errors_s"] += t2 - t1
        times["ours_s"] += t3 - t2
        label = Series("x", freq, start, hist_v[hier.nodes[0]]).label(start + n - 1)
        base_mean = np.stack([base[c].mean for c in hier.nodes])
        base_b = {}
        for lv in LEVELS:
            k = level_key(lv)
            base_b[f"lo-{k}"] = np.stack([base[c].lower[k] for c in hier.nodes])
            base_b[f"hi-{k}"] = np.stack([base[c].upper[k] for c in hier.nodes])
        contenders: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {
            "base": (base_mean, base_b),
            "bottom_up": (bu.mean, _bounds(bu)),
            "ours": (ours.mean, _bounds(ours)),
        }
        info: dict[str, Any] = {
            "last_training_period": label,
            "method": ours.method,
            "shrinkage": round(ours.shrinkage, 4),
            "error_source": ours.error_source,
            "error_rows": int(samples.z.shape[0]),
            "notes": list(ours.notes),
            "validation": {k: round(v, 4) for k, v in ours.validation.items()},
            "ours_s": round(t3 - t2, 4),
        }
        if not skip_hf:
            try:
                hf_mean, hf_b, dt = _hf_reconcile(hier, base, samples, h)
                contenders["hf_mint_shrink"] = (hf_mean, hf_b)
                times["hf_s"] += dt
                info["hf_s"] = round(dt, 4)
                coh = np.max(np.abs(hier.S @ hf_mean[-len(hier.bottom) :] - hf_mean) / np.maximum(np.abs(hf_mean), 1))
                info["hf_coherence_max_rel"] = float(coh)
            except Exception as e:  # report the failure in the results instead of losing the run
                logger.exception("hierarchicalforecast failed at %s", label)
                info["hf_error"] = f"{type(e).__name__}: {e}"
        coh = np.max(np.abs(hier.S @ ours.mean[-len(hier.bottom) :] - ours.mean) / np.maximum(np.abs(ours.mean), 1))
        info["ours_coherence_max_rel"] = float(coh)
        origins.append(info)
        for cname, (mean, b) in contenders.items():
            for r in _score(hier, hist_v, actual, mean, b, m):
                rows.append({"contender": cname, "origin": label, **r})
        logger.info("%s origin %s: %s (%s, lambda %.3f)", name, label, ours.method, ours.error_source, ours.shrinkage)
    df = pd.DataFrame(rows)
    level_names = {d: f"level {d}" for d in range(hier.n_levels)}
    table = []
    for (cname, depth), g in df.groupby(["contender", "depth"], sort=False):
        table.append(
            {
                "contender": cname,
                "level": level_names[int(depth)],
                "series": int(g["node"].nunique()),
                "mase": float(np.nanmean(g["mase"].replace([np.inf], np.nan))),
                "smape": float(g["smape"].mean()),
                "coverage_80": float(g["covered_80"].sum() / g["points"].sum()),
                "coverage_95": float(g["covered_95"].sum() / g["points"].sum()),
            }
        )
    tab = pd.DataFrame(table)
    overall = tab.groupby("contender", sort=False)[["mase", "smape", "coverage_80", "coverage_95"]].mean()
    for cname, r in overall.iterrows():
        table.append({"contender": cname, "level": "overall", "series": len(hier.nodes), **r.to_dict()})
    return {
        "dataset": name,
        "series": len(hier.nodes),
        "bottom_series": len(hier.bottom),
        "levels": hier.n_levels,
        "horizon": h,
        "origins": origins,
        "times_s": {k: round(v, 4) for k, v in times.items()},
        "table": table,
    }


# -- report ------------------------------------------------------------------------------------------------
def goals(res: dict[str, Any]) -> list[str]:
    tab = pd.DataFrame(res["table"])
    out = []

    def val(c: str, lvl: str, k: str) -> float:
        return float(tab[(tab.contender == c) & (tab.level == lvl)][k].iloc[0])

    worse = [
        f"{lvl} ({k} {val('ours', lvl, k):.3f} vs {val('base', lvl, k):.3f})"
        for lvl in tab.level.unique()
        if lvl != "overall"
        for k in ("mase", "smape")
        if val("ours", lvl, k) > val("base", lvl, k) + 1e-12
    ]
    out.append(("MISS" if worse else "PASS") + " reconciled no worse than base at any level (MASE and sMAPE)")
    if worse:
        out.append("  worse: " + "; ".join(worse))
    if "hf_mint_shrink" in set(tab.contender):
        for k in ("mase", "smape"):
            o, f = val("ours", "overall", k), val("hf_mint_shrink", "overall", k)
            out.append(f"{'PASS' if o < f else 'MISS'} overall {k}: ours {o:.4f} vs MinT(shrink) {f:.4f}")
        t = res["times_s"]
        ratio = t["ours_s"] / t["hf_s"] if t["hf_s"] > 0 else float("nan")
        out.append(
            f"{'PASS' if ratio < 0.1 else 'MISS'} time of the reconciliation step: ours {t['ours_s']:.3f} s,"
            f" MinT(shrink) {t['hf_s']:.3f} s, ratio {ratio:.3f} (goal < 0.1)"
        )
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["# Hierarchy benchmark (coherent forecasts across levels)", "", f"`{report['command']}`", ""]
    lines.append(f"Machine: {report['machine']}; hierarchicalforecast {report['hierarchicalforecast']}")
    lines.append("")
    for res in report["results"]:
        lines += [
            f"## {res['dataset']}",
            "",
            f"{res['series']} series ({res['bottom_series']} bottom), {res['levels']} levels, horizon"
            f" {res['horizon']}, {len(res['origins'])} origins. Times (s, all origins): {res['times_s']}",
            "",
            "| contender | level | series | MASE | sMAPE | cov 80 | cov 95 |",
            "|---|---|---|---|---|---|---|",
        ]
        order = {"base": 0, "bottom_up": 1, "hf_mint_shrink": 2, "ours": 3}
        tab = sorted(res["table"], key=lambda r: (r["level"] == "overall", r["level"], order.get(r["contender"], 9)))
        for r in tab:
            lines.append(
                f"| {r['contender']} | {r['level']} | {r['series']} | {r['mase']:.4f} | {r['smape']:.3f} |"
                f" {r['coverage_80']:.3f} | {r['coverage_95']:.3f} |"
            )
        lines += ["", "Per origin (ours: chosen projection, shrinkage lambda, past errors used):", ""]
        for o in res["origins"]:
            lines.append(
                f"- {o['last_training_period']}: {o['method']}, lambda {o['shrinkage']}, {o['error_source']}"
                f" ({o['error_rows']} rows), ours {o['ours_s']} s, MinT {o.get('hf_s', '-')} s"
                + (f"; notes: {'; '.join(o['notes'])}" if o["notes"] else "")
                + (f"; hierarchicalforecast failed: {o['hf_error']}" if "hf_error" in o else "")
            )
        lines += ["", "Goals:", ""] + [f"- {g}" for g in goals(res)] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m experiments.hierarchy_benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data", help="holds indicators/")
    p.add_argument("--datasets", nargs="+", default=["budget", "tourism"], choices=["budget", "tourism"])
    p.add_argument("--skip-hf", action="store_true", help="do not run hierarchicalforecast")
    p.add_argument("--output-dir", type=Path, default=REPO / "experiments" / "results")
    p.add_argument("--stem", default="hierarchy_benchmark")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = PipelineConfig()
    results = []
    for name in args.datasets:
        if name == "budget":
            hier, values, freq, start, m = load_budget(args.data_dir)
            n = len(next(iter(values.values())))
            results.append(run_dataset(name, hier, values, freq, start, m, 2, [n - 4, n - 3, n - 2], cfg, args.skip_hf))
        else:
            hier, values, freq, start, m = load_tourism()
            n = len(next(iter(values.values())))
            lengths = [n - 48, n - 36, n - 24, n - 12]
            results.append(run_dataset(name, hier, values, freq, start, m, 12, lengths, cfg, args.skip_hf))
    try:
        hf_version = importlib.metadata.version("hierarchicalforecast")
    except importlib.metadata.PackageNotFoundError:
        hf_version = "not installed"
    cmd = "python -m experiments.hierarchy_benchmark " + " ".join(
        argv if argv is not None else __import__("sys").argv[1:]
    )
    report = {
        "command": cmd.strip(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "hierarchicalforecast": hf_version,
        "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{args.stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (args.output_dir / f"{args.stem}.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
