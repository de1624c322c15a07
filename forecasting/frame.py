"""Forecasting many series: one series (:func:`forecast_series`), a long-format table (:func:`forecast_frame`,
all cores through joblib), and predictive sample paths (:func:`sample_paths`) for target probabilities."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .auto import AutoForecaster, Forecast
from .config import PipelineConfig
from .errors import ForecastingError
from .intervals import check_levels, level_key
from .series import Series, read_long
from .tet import tet_regressor

__all__ = ["forecast_series", "forecast_frame", "sample_paths", "MAX_HORIZON"]

logger = logging.getLogger(__name__)

#: Largest horizon accepted (periods); beyond this a forecast is not meaningful for these methods.
MAX_HORIZON = 240


def check_horizon(h: object) -> int:
    """Validate a horizon: an integer in [1, MAX_HORIZON]."""
    if isinstance(h, bool) or not isinstance(h, int | np.integer):
        raise ForecastingError(f"horizon must be an integer between 1 and {MAX_HORIZON}. Got: {h!r}")
    if not 1 <= int(h) <= MAX_HORIZON:
        raise ForecastingError(f"horizon must be between 1 and {MAX_HORIZON}. Got: {h}")
    return int(h)


def _exog(series: Series, h: int, cfg: PipelineConfig) -> np.ndarray | None:
    if not cfg.tet_regressor:
        return None
    ym = series.months(h)
    if ym is None or int(ym[0][0]) < 1901 or int(ym[0][-1]) > 2099:
        return None
    return tet_regressor(ym[0], ym[1], *cfg.tet_window)


def fit_series(series: Series, h: int, config: PipelineConfig | None = None) -> AutoForecaster:
    """Fitted :class:`AutoForecaster` for ``series`` (with the Tết regressor where it applies), able to
    predict up to ``h`` periods; ``series.nonnegative`` censors its distribution at zero."""
    cfg = config or PipelineConfig()
    h = check_horizon(h)
    if len(series) < cfg.min_length:
        raise ForecastingError(
            f"series {series.unique_id!r} too short: need at least {cfg.min_length} observations. Got: {len(series)}"
        )
    est = AutoForecaster(cfg, series.freq, series.season_length, nonnegative=series.nonnegative)
    # the regressor covers the internal horizon too: the fit works there whatever h is
    return est.fit(series.values, _exog(series, max(h, cfg.horizon(series.freq)), cfg))


def forecast_series(
    series: Series, horizon: int, levels: Sequence[float] = (80, 95), config: PipelineConfig | None = None
) -> Forecast:
    """Forecast one series ``horizon`` periods ahead with intervals at ``levels`` (percent).

    The forecast of a period does not depend on ``horizon``: the result is the first ``horizon`` periods of
    any longer forecast (see :func:`forecasting.auto.internal_horizon`).
    """
    lv = check_levels(list(levels))
    h = check_horizon(horizon)
    return fit_series(series, h, config).predict(h, lv)


def _to_rows(series: Series, fc: Forecast, levels: tuple[float, ...]) -> dict[str, list[object]]:
    h = fc.mean.shape[0]
    end = series.start + len(series)
    ds: list[object] = list(series.future_periods(h)) if series.calendar else list(range(end, end + h))
    rows: dict[str, list[object]] = {"unique_id": [series.unique_id] * h, "ds": ds, "mean": list(fc.mean)}
    for lv in levels:
        k = level_key(lv)
        rows[f"lower_{k}"] = list(fc.lower[k])
        rows[f"upper_{k}"] = list(fc.upper[k])
    return rows


def _chunk(
    series: list[Series], h: int, levels: tuple[float, ...], cfg: PipelineConfig
) -> list[dict[str, list[object]]]:
    return [_to_rows(s, forecast_series(s, h, levels, cfg), levels) for s in series]


def forecast_frame(
    df_long: pd.DataFrame | bytes | list[Series],
    horizon: int,
    levels: Sequence[float] = (80, 95),
    freq: str | None = None,
    config: PipelineConfig | None = None,
    n_jobs: int = -1,
    progress: Callable[[int, int], None] | None = None,
    nonnegative: bool = False,
) -> pd.DataFrame:
    """Forecast every series of a long table.

    Args:
        df_long: ``unique_id, ds, y`` (DataFrame or CSV/XLSX bytes) or already parsed series.
        horizon: periods ahead (1..MAX_HORIZON).
        levels: interval levels in percent, each in (0, 100).
        freq: ``M``/``Q``/``Y``/``I``; None infers from ``ds``.
        config: pipeline configuration (default ``PipelineConfig()``).
        n_jobs: processes (joblib); -1 = all cores, 1 = in this process.
        progress: called as ``progress(done_series, total_series)`` as chunks finish.
        nonnegative: declare every series non-negative (:attr:`Series.nonnegative`: forecasts and bands at or
            above zero, negative values refused); False leaves parsed series as they are declared.

    Returns:
        DataFrame ``unique_id, ds, mean, lower_80, upper_80, lower_95, upper_95`` (one pair per
        level), ``ds`` the
        period label (or integer index); rows in input series order.

    Raises:
        SeriesError: invalid input (all row problems listed); ForecastingError: bad horizon/levels.
    """
    h = check_horizon(horizon)
    lv = check_levels(list(levels))
    cfg = config or PipelineConfig()
    if isinstance(df_long, list):
        series = [replace(s, nonnegative=True) for s in df_long] if nonnegative else df_long
    else:
        series = read_long(df_long, freq=freq, min_length=cfg.min_length, nonnegative=nonnegative)
    total = len(series)
    cpus = os.cpu_count() or 1
    workers = cpus if n_jobs is None or n_jobs < 0 else max(1, int(n_jobs))
    workers = min(workers, max(1, total))
    # chunks small enough for progress, large enough to amortise process overhead
    n_chunks = 1 if workers == 1 else min(total, max(workers * 8, total // 50 or 1))
    chunks = [series[i::n_chunks] for i in range(n_chunks)] if total else []
    results: list[list[dict[str, list[object]]]] = []
    if workers == 1:
        done = 0
        for c in chunks:
            results.append(_chunk(c, h, lv, cfg))
            done += len(c)
            if progress:
                progress(done, total)
    else:
        from joblib import Parallel, delayed

        par = Parallel(n_jobs=workers, return_as="generator", batch_size=1)
        done = 0
        for c, res in zip(chunks, par(delayed(_chunk)(c, h, lv, cfg) for c in chunks), strict=True):
            results.append(res)
            done += len(c)
            if progress:
                progress(done, total)
    # undo the round-robin chunking to keep input order
    by_id = {}
    for c, res in zip(chunks, results, strict=True):
        for s, rows in zip(c, res, strict=True):
            by_id[id(s)] = rows
    cols = ["unique_id", "ds", "mean"] + [f"{b}_{level_key(v)}" for v in lv for b in ("lower", "upper")]
    frames = [pd.DataFrame(by_id[id(s)]) for s in series]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def sample_paths(
    series: Series,
    horizon: int,
    n_samples: int = 2000,
    config: PipelineConfig | None = None,
    seed: int | None = 0,
    forecast: Forecast | None = None,
) -> np.ndarray:
    """Predictive sample paths, shape (n_samples, horizon), drawn from the forecast's own distribution.

    Marginals: step j follows ``forecast.distribution`` (:class:`~forecasting.intervals.PredictiveDistribution`,
    the one the published intervals are read from, censored at zero for a non-negative series), so central
    intervals of the samples match :func:`forecast_series`. Dependence across steps: a Gaussian copula with
    the correlation of a random walk, ``corr(i, j) = sqrt(min(i, j) / max(i, j))``, which makes sums over months
    (year-to-date totals) as uncertain as accumulated errors are.
    """
    cfg = config or PipelineConfig()
    h = check_horizon(horizon)
    fc = forecast if forecast is not None else forecast_series(series, h, (80, 95), cfg)
    if fc.mean.shape[0] < h:
        raise ForecastingError(f"forecast is shorter than the horizon {h}. Got: {fc.mean.shape[0]}")
    steps = np.arange(1, h + 1, dtype=float)
    corr = np.sqrt(np.minimum.outer(steps, steps) / np.maximum.outer(steps, steps))
    chol = np.linalg.cholesky(corr + 1e-10 * np.eye(h))
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_samples, h)) @ chol.T
    return fc.distribution.head(h).at(z)
