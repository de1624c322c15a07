"""Forecasting of indicators: validated series, automatic forecaster, calibrated intervals, backtests.

Pure library (no web, no MLflow). The pipeline is described by :class:`PipelineConfig`; see
:func:`forecast_frame` for many series and :func:`forecast_series` for one.
"""

from .auto import AutoForecaster, Forecast
from .config import PipelineConfig
from .errors import ForecastingError, NotFittedError, RowProblem, SeriesError
from .frame import forecast_frame, forecast_series, sample_paths
from .seasonal import SeasonalAdjustment, seasonal_adjust
from .series import Series, parse_observations, read_long, series_from_values

__all__ = [
    "AutoForecaster",
    "Forecast",
    "ForecastingError",
    "NotFittedError",
    "PipelineConfig",
    "RowProblem",
    "SeasonalAdjustment",
    "Series",
    "SeriesError",
    "forecast_frame",
    "forecast_series",
    "parse_observations",
    "read_long",
    "sample_paths",
    "seasonal_adjust",
    "series_from_values",
]
