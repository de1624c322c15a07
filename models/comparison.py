"""Which data a forecasting version's metrics are on, and whether two versions can be compared by them.

A forecasting version is logged with its backtest metrics over the indicators stored at the time; a later
version trained after the catalogue grew has metrics over other series, so its numbers say nothing about
which pipeline is better. :func:`metrics_data` tells, for each version, which data its metrics are on
and whether it is the champion's; ``POST /v1/models/forecasting/compare`` backtests versions on the same
(current) data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from models.registry import ModelVersionInfo, fingerprint

__all__ = ["MetricsData", "metrics_data", "series_fingerprint"]


def series_fingerprint(series: Iterable[Any]) -> str:
    """SHA-256 over the series a forecasting backtest ran on (objects with ``unique_id``, ``freq``, ``start``
    and a float ``values`` array): the same formula the forecasting trainer records as ``data_fingerprint``."""
    return fingerprint(f"{s.unique_id}:{s.freq}:{s.start}:{s.values.tobytes().hex()}" for s in series)


class MetricsData(TypedDict):
    """The data a version's metrics were computed on.

    ``indicators``: how many series (None when not recorded); ``codes``: their codes, sorted (None for
    versions logged before codes were recorded); ``fingerprint``: SHA-256 of the series ('' when not
    recorded); ``same_as_champion``: True when the fingerprint equals the champion's, False when it differs
    or is unknown, None when the model has no champion.
    """

    indicators: int | None
    codes: list[str] | None
    fingerprint: str
    same_as_champion: bool | None


def metrics_data(version: ModelVersionInfo, champion: ModelVersionInfo | None) -> MetricsData:
    """Which data ``version``'s metrics are on, compared with ``champion``'s (see :class:`MetricsData`)."""
    n = version.metrics.get("n_indicators")
    codes = version.indicator_codes
    same: bool | None = None
    if champion is not None:
        same = bool(version.data_fingerprint) and version.data_fingerprint == champion.data_fingerprint
    return MetricsData(
        indicators=int(n) if n is not None else (len(codes) if codes is not None else None),
        codes=list(codes) if codes is not None else None,
        fingerprint=version.data_fingerprint,
        same_as_champion=same,
    )
