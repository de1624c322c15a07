"""Optional plots as PNG bytes (matplotlib, Agg backend): a forecast with its intervals, a seasonal adjustment."""

from __future__ import annotations

import io

import numpy as np

from .auto import Forecast
from .seasonal import SeasonalAdjustment
from .series import Series

__all__ = ["plot_forecast", "plot_seasonal_adjustment"]


def plot_forecast(series: Series, forecast: Forecast, title: str | None = None, last: int | None = 120) -> bytes:
    """PNG (bytes) of the last ``last`` observations, the forecast mean, and its intervals (widest lightest).

    Needs matplotlib (the ``forecasting`` extra); imported here so the library imports without it.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = len(series)
    h = forecast.mean.shape[0]
    keep = n if last is None else min(n, last)
    x_hist = np.arange(n - keep, n)
    x_fut = np.arange(n, n + h)
    labels = series.periods[n - keep :] + series.future_periods(h)
    fig = Figure(figsize=(9, 4.2), dpi=100)
    ax = fig.subplots()
    ax.plot(x_hist, series.values[n - keep :], color="#1f3b73", lw=1.6, label="observed")
    levels = sorted(forecast.lower, key=float, reverse=True)
    for i, k in enumerate(levels):
        ax.fill_between(
            x_fut,
            forecast.lower[k],
            forecast.upper[k],
            color="#e0702b",
            alpha=0.18 + 0.17 * i,
            lw=0,
            label=f"{k}%",
        )
    ax.plot(x_fut, forecast.mean, color="#e0702b", lw=1.8, label="forecast")
    _period_ticks(ax, labels, offset=n - keep)
    ax.set_title(title or series.unique_id)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def plot_seasonal_adjustment(sa: SeasonalAdjustment, title: str | None = None) -> bytes:
    """PNG (bytes): the series, its seasonally adjusted version and trend above; the seasonal and Tết factors
    (or effects) below, so that the months Tết moved stand out."""
    from matplotlib.figure import Figure

    x = np.arange(len(sa.periods))
    fig = Figure(figsize=(9, 5.6), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    top.plot(x, sa.original, color="#9aa5b8", lw=1.2, label="observed")
    top.plot(x, sa.adjusted, color="#1f3b73", lw=1.6, label="seasonally adjusted")
    top.plot(x, sa.trend, color="#e0702b", lw=1.4, label="trend")
    top.set_title(title or sa.unique_id)
    top.legend(fontsize=8, loc="upper left")
    unit = "factor" if sa.multiplicative else "effect"
    bottom.plot(x, sa.seasonal, color="#5a7d2a", lw=1.2, label=f"seasonal {unit}")
    if sa.tet_coefficient is not None:
        bottom.bar(
            x,
            sa.holiday - (1.0 if sa.multiplicative else 0.0),
            bottom=1.0 if sa.multiplicative else 0.0,
            color="#c0392b",
            width=0.9,
            label=f"Tết {unit} (t = {sa.tet_t:.1f})",
        )
    bottom.legend(fontsize=8, loc="upper left")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    _period_ticks(bottom, sa.periods)
    return _png(fig)


def _period_ticks(ax, labels: list[str], offset: int = 0) -> None:  # type: ignore[no-untyped-def]
    ticks = np.linspace(0, len(labels) - 1, num=min(8, len(labels))).round().astype(int)
    ax.set_xticks(ticks + offset)
    ax.set_xticklabels([labels[t] for t in ticks], rotation=30, ha="right", fontsize=8)


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
