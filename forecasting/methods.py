"""Single forecasting methods with the scikit-learn estimator contract.

Each class is an :class:`~forecasting.auto.AutoForecaster` restricted to one method, so every method shares
the seasonal adjustment, the Tết regressor and the backtest-calibrated intervals:

    >>> import numpy as np
    >>> fc = Theta(freq="Y").fit(np.arange(10.0, 30.0)).predict(3, levels=(80, 95))
    >>> fc.mean.shape, sorted(fc.lower)
    ((3,), ['80', '95'])

``ETS`` chooses among simple, Holt and damped-trend exponential smoothing by AICc (on the seasonally adjusted
series); ``ARIMA`` is a small AICc search over statsmodels ARIMA orders (slower, seconds per series);
``AR`` is a least-squares ARIMA(p, d, 0) with drift.
"""

from __future__ import annotations

from .auto import AutoForecaster
from .config import PipelineConfig

__all__ = ["ETS", "ARIMA", "AR", "Theta", "Naive", "SeasonalNaive", "Drift"]


class _Single(AutoForecaster):
    _method: str = ""

    def __init__(self, freq: str = "I", season_length: int | None = None, config: PipelineConfig | None = None) -> None:
        super().__init__(config, freq, season_length)

    def fit(self, y, X=None):  # type: ignore[no-untyped-def]
        base = self.config or PipelineConfig()
        self_config = base.with_(methods=(self._method,), combination="best", pools={})
        est = AutoForecaster(self_config, self.freq, self.season_length).fit(y, X)
        self.__dict__.update({k: v for k, v in est.__dict__.items() if k.endswith("_")})
        return self


class ETS(_Single):
    """Exponential smoothing, automatic choice of SES, Holt, damped Holt on the seasonally adjusted series."""

    _method = "ets"


class ARIMA(_Single):
    """Automatic ARIMA on statsmodels (AICc over small orders, d by KPSS); slow, not in the default pool."""

    _method = "arima"


class AR(_Single):
    """ARIMA(p, d, 0) with drift by least squares (fast)."""

    _method = "ar"


class Theta(_Single):
    """The Theta method (SES with half the linear-trend slope as drift)."""

    _method = "theta"


class Naive(_Single):
    """Last value."""

    _method = "naive"


class SeasonalNaive(_Single):
    """Value one season earlier (naive when the series is not seasonal)."""

    _method = "seasonal_naive"


class Drift(_Single):
    """Last value plus the average change."""

    _method = "drift"
