"""Recompute :data:`forecasting.config.DEFAULT_CALIBRATION` from the training parts of M3 and Tourism.

Each training series is forecast from its last observation; the errors of its rolling-origin backtest windows at
the pipeline's internal horizon (``PipelineConfig.horizons``, the same for every requested horizon), standardised
leave-one-window-out (:func:`forecasting.intervals.loo_scores`), are pooled per frequency over both data sets,
and their 80% and 95% quantiles are the multipliers. The test parts are never read (only the horizons, from the
meta files). Rerun it whenever the pipeline's candidates or combination change, and paste the table into
``forecasting/config.py``.

    python -m experiments.calibrate_forecasting --n-jobs 2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting import PipelineConfig
from forecasting.backtest import _loo_all
from forecasting.series import Series

REPO = Path(__file__).resolve().parents[1]
GROUP_FREQ = {"Yearly": "Y", "Quarterly": "Q", "Monthly": "M", "Other": "I"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.calibrate_forecasting", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data" / "forecast")
    p.add_argument("--n-jobs", type=int, default=-1)
    args = p.parse_args(argv)
    cfg = PipelineConfig()
    pooled: dict[str, list[np.ndarray]] = {}
    for ds in ("m3", "tourism"):
        train = pd.read_csv(args.data_dir / ds / f"{ds}_train.csv")
        meta = pd.read_csv(args.data_dir / ds / f"{ds}_meta.csv")
        values = {k: g.sort_values("t").y.to_numpy(float) for k, g in train.groupby("unique_id")}
        for group, rows in meta.groupby("group", sort=False):
            freq = GROUP_FREQ[str(group)]
            series = [Series(r.unique_id, freq, 1, values[r.unique_id], calendar=False) for r in rows.itertuples()]
            h = int(rows.horizon.iloc[0])
            pooled.setdefault(freq, []).extend(_loo_all(series, h, cfg, args.n_jobs))
            print(f"{ds} {group}: {len(series)} series, horizon {h}", flush=True)
    table = {}
    for freq, scores in pooled.items():
        z = np.concatenate(scores)
        table[freq] = {"80": round(float(np.quantile(z, 0.80)), 3), "95": round(float(np.quantile(z, 0.95)), 3)}
        print(f"{freq}: {z.shape[0]} scores")
    print(json.dumps(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
