"""Optional plot of a series' history, forecast and intervals as PNG bytes (matplotlib, Agg backend)."""

from __future__ import annotations

import io

import numpy as np

from .auto import Forecast
from .series import Series

__all__ = ["plot_forecast"]


def plot_forecast(
    series: Series, forecast: Forecast, title: str | None = None, last: int | None = 120
) -> bytes:
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
    ticks = np.linspace(0, len(labels) - 1, num=min(8, len(labels))).round().astype(int)
    ax.set_xticks(ticks + (n - keep))
    ax.set_xticklabels([labels[t] for t in ticks], rotation=30, ha="right", fontsize=8)
    ax.set_title(title or series.unique_id)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
