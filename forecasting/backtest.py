"""Rolling-origin backtests of a pipeline over many series, accuracy metrics, and interval calibration.

Metrics (all means over series, then over the pooled points for coverage):

* ``smape``: symmetric MAPE in percent, ``200 |f - a| / (|f| + |a|)`` (the M3 definition);
* ``mase``: mean absolute error over the in-sample mean absolute seasonal-naive error (season length m,
  or 1 when the history is not longer than m);
* ``coverage_80`` / ``coverage_95``: share of actual values inside the central intervals.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import PipelineConfig
from .errors import ForecastingError
from .frame import forecast_series
from .intervals import check_levels, level_key, loo_scores
from .series import Series

__all__ = ["BacktestResult", "backtest", "calibrate", "smape", "mase", "evaluate_forecasts"]

logger = logging.getLogger(__name__)

#: Default horizon per frequency when a backtest is not given one.
DEFAULT_HORIZON = {"M": 12, "Q": 4, "Y": 2, "I": 4}


def smape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """Symmetric MAPE in percent of two arrays of the same shape (0/0 counts as 0)."""
    f, a = np.asarray(forecast, float), np.asarray(actual, float)
    den = np.abs(f) + np.abs(a)
    val = np.where(den > 0, 200.0 * np.abs(f - a) / np.where(den > 0, den, 1.0), 0.0)
    return float(np.mean(val))


def mase(forecast: np.ndarray, actual: np.ndarray, history: np.ndarray, m: int) -> float:
    """MASE with the in-sample seasonal-naive scale (lag m, or 1 when the history is too short)."""
    h = np.asarray(history, float)
    lag = m if h.shape[0] > m else 1
    scale = float(np.mean(np.abs(h[lag:] - h[:-lag]))) if h.shape[0] > lag else 0.0
    err = float(np.mean(np.abs(np.asarray(forecast, float) - np.asarray(actual, float))))
    if scale <= 0:
        return 0.0 if err == 0 else float("nan")
    return err / scale


@dataclass(frozen=True)
class BacktestResult:
    """Backtest metrics.

    Attributes:
        metrics: overall ``smape, mase, coverage_80, coverage_95, n_series, n_forecasts`` and, per
            frequency, the same names prefixed ``M_``, ``Q_``, ``Y_``, ``I_`` (flat, ready for MLflow).
        per_series: one row per series and origin:
            ``unique_id, freq, origin, smape, mase, covered_<L>, points, n_windows``.
    """

    metrics: dict[str, float]
    per_series: pd.DataFrame = field(repr=False)


def evaluate_forecasts(rows: pd.DataFrame, levels: Sequence[float]) -> dict[str, float]:
    """Aggregate per-series rows (``smape, mase, points, covered_<L>, freq``) into flat metrics."""
    out: dict[str, float] = {}

    def agg(df: pd.DataFrame, prefix: str) -> None:
        out[f"{prefix}smape"] = float(df["smape"].mean())
        out[f"{prefix}mase"] = float(df["mase"].replace([np.inf], np.nan).mean())
        for lv in levels:
            k = level_key(lv)
            out[f"{prefix}coverage_{k}"] = float(df[f"covered_{k}"].sum() / max(df["points"].sum(), 1))
        out[f"{prefix}n_series"] = float(df["unique_id"].nunique())
        out[f"{prefix}n_forecasts"] = float(len(df))

    if len(rows):
        agg(rows, "")
        for f, g in rows.groupby("freq"):
            agg(g, f"{f}_")
    return out


def _truncate(s: Series, n: int) -> Series:
    return Series(s.unique_id, s.freq, s.start, s.values[:n], s.calendar, s.imputed[:n], s.season_length, s.nonnegative)


def _one(
    s: Series, h: int, origins: list[int], levels: tuple[float, ...], cfg: PipelineConfig
) -> list[dict[str, object]]:
    rows = []
    for o in origins:
        hist = s.values[:o]
        act = s.values[o : o + h]
        fc = forecast_series(_truncate(s, o), h, levels, cfg)
        row: dict[str, object] = {
            "unique_id": s.unique_id,
            "freq": s.freq,
            "origin": o,
            "smape": smape(fc.mean, act),
            "mase": mase(fc.mean, act, hist, s.season_length),
            "points": h,
        }
        for lv in levels:
            k = level_key(lv)
            row[f"covered_{k}"] = int(np.sum((act >= fc.lower[k]) & (act <= fc.upper[k])))
        # standardised errors for calibration
        row["z"] = np.abs(act - fc.mean) / np.maximum(fc.scale, 1e-300)
        row["n_windows"] = fc.n_windows
        row["z_loo"] = loo_scores(fc.backtest_errors, fc.sigma1)
        rows.append(row)
    return rows


def _work(
    chunk: list[tuple[Series, int, list[int]]], levels: tuple[float, ...], cfg: PipelineConfig
) -> list[dict[str, object]]:
    res = []
    for s, h, origins in chunk:
        res.extend(_one(s, h, origins, levels, cfg))
    return res


def _run(
    series: Sequence[Series],
    horizon: int | dict[str, int] | None,
    windows: int,
    levels: tuple[float, ...],
    cfg: PipelineConfig,
    n_jobs: int,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, object]]:
    jobs = []
    skipped = 0
    for s in series:
        if isinstance(horizon, int | np.integer):
            h = int(horizon)
        else:
            h = (horizon or DEFAULT_HORIZON).get(s.freq, DEFAULT_HORIZON[s.freq])
        origins = [len(s) - h * w for w in range(1, windows + 1)]
        origins = [o for o in origins if o >= max(cfg.min_length, 4)]
        if not origins:
            skipped += 1
            continue
        jobs.append((s, int(h), origins))
    if skipped:
        logger.info("backtest: %d series too short for any origin were skipped", skipped)
    total = len(jobs)
    workers = (os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)
    out: list[dict[str, object]] = []
    if workers == 1 or total < 2:
        for i, (s, h, origins) in enumerate(jobs, start=1):
            out.extend(_one(s, h, origins, levels, cfg))
            if progress:
                progress(i, total)
        return out
    from joblib import Parallel, delayed

    n_chunks = min(total, workers * 8)
    chunks = [jobs[i::n_chunks] for i in range(n_chunks)]

    done = 0
    gen = Parallel(n_jobs=workers, return_as="generator")(delayed(_work)(c, levels, cfg) for c in chunks)
    for chunk, res in zip(chunks, gen, strict=True):
        out.extend(res)
        done += len(chunk)
        if progress:
            progress(done, total)
    return out


def backtest(
    series: Sequence[Series],
    config: PipelineConfig | None = None,
    horizon: int | dict[str, int] | None = None,
    windows: int = 1,
    levels: Sequence[float] = (80, 95),
    n_jobs: int = -1,
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Rolling-origin backtest: from origins ``n - h``, ``n - 2h``, ... (``windows`` of them) forecast ``h``
    periods with ``config`` and score against the held-out values.

    Args:
        series: the series (each is truncated at each origin; nothing after an origin is seen).
        horizon: one horizon, a dict per frequency, or None for :data:`DEFAULT_HORIZON`.
        windows: origins per series; series too short for an origin are skipped.
    """
    cfg = config or PipelineConfig()
    lv = check_levels(list(levels))
    if windows < 1:
        raise ForecastingError(f"windows must be >= 1. Got: {windows}")
    rows = _run(series, horizon, windows, lv, cfg, n_jobs, progress)
    if not rows:
        raise ForecastingError("no series is long enough for a backtest origin")
    df = pd.DataFrame(rows).drop(columns=["z", "z_loo"])
    return BacktestResult(evaluate_forecasts(df, lv), df)


def calibrate(
    series: Sequence[Series],
    config: PipelineConfig | None = None,
    horizon: int | dict[str, int] | None = None,
    levels: Sequence[float] = (80, 95),
    min_points: int = 200,
    n_jobs: int = -1,
) -> PipelineConfig:
    """Calibrate the interval multipliers from leave-one-window-out backtest scores.

    Each series is forecast from its last observation; the errors of its rolling-origin backtest windows
    (brought to the current level) are standardised by the per-step scale that the *other* windows give
    (:func:`forecasting.intervals.loo_scores`). The windows are those of the pipeline's internal horizon
    (:func:`forecasting.auto.internal_horizon`), the ones the forecasts' scales come from, so ``horizon`` does not
    change the scores. The scores are pooled per frequency and their ``L``% quantiles
    become the multipliers (normalised conformal calibration in the regime of the final forecast; a plain
    held-out last horizon mixes in shorter histories and fewer windows). Frequencies with fewer than
    ``min_points`` scores keep their multipliers. Returns a new config; the input is unchanged.
    """
    cfg = config or PipelineConfig()
    lv = check_levels(list(levels))
    jobs: list[Series] = list(series)
    pooled: dict[str, list[np.ndarray]] = {}
    for s, scores in zip(jobs, _loo_all(jobs, horizon, cfg, n_jobs), strict=True):
        pooled.setdefault(s.freq, []).append(scores)
    table = {f: dict(v) for f, v in cfg.calibration.items()}
    for f, zs in pooled.items():
        z = np.concatenate(zs)
        if z.shape[0] < min_points:
            logger.info("calibrate: %s has %d scores (< %d), multipliers kept", f, z.shape[0], min_points)
            continue
        table[f] = {level_key(v): round(float(np.quantile(z, v / 100.0)), 4) for v in lv}
    return cfg.with_(calibration=table)


def _loo_one(s: Series, h: int, cfg: PipelineConfig) -> np.ndarray:
    if len(s) < max(cfg.min_length, 4):
        return np.zeros(0)
    fc = forecast_series(s, h, (80.0,), cfg)
    return loo_scores(fc.backtest_errors, fc.sigma1)


def _loo_chunk(chunk: list[tuple[Series, int]], cfg: PipelineConfig) -> list[np.ndarray]:
    return [_loo_one(s, h, cfg) for s, h in chunk]


def _loo_all(
    series: list[Series], horizon: int | dict[str, int] | None, cfg: PipelineConfig, n_jobs: int
) -> list[np.ndarray]:
    jobs = []
    for s in series:
        h = (
            int(horizon)
            if isinstance(horizon, int | np.integer)
            else (horizon or DEFAULT_HORIZON).get(s.freq, DEFAULT_HORIZON[s.freq])
        )
        jobs.append((s, h))
    workers = (os.cpu_count() or 1) if n_jobs < 0 else max(1, n_jobs)
    if workers == 1 or len(jobs) < 2:
        return _loo_chunk(jobs, cfg)
    from joblib import Parallel, delayed

    n_chunks = min(len(jobs), workers * 8)
    idx = [list(range(i, len(jobs), n_chunks)) for i in range(n_chunks)]
    res = Parallel(n_jobs=workers)(delayed(_loo_chunk)([jobs[i] for i in ix], cfg) for ix in idx)
    out: list[np.ndarray] = [np.zeros(0)] * len(jobs)
    for ix, r in zip(idx, res, strict=True):
        for i, v in zip(ix, r, strict=True):
            out[i] = v
    return out
