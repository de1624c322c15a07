from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forecasting import PipelineConfig, Series, forecast_series
from forecasting.anomaly import check_next, check_observation, check_values
from forecasting.backtest import backtest, calibrate, mase, smape
from forecasting.demo import load_demo
from forecasting.errors import ForecastingError
from forecasting.plot import plot_forecast

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "indicators"


def test_check_observation() -> None:
    assert not check_observation(10, 10, 8, 12).flagged
    a = check_observation(13, 10, 8, 12)
    assert a.flagged and a.direction == "above" and a.score == pytest.approx(1.5)
    assert check_observation(7, 10, 8, 12).direction == "below"
    with pytest.raises(ForecastingError):
        check_observation(1, 10, 12, 8)


def test_check_next_flags_unit_slip(seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    nxt = seasonal_monthly.values[-1]
    hist = Series("x", "M", seasonal_monthly.start, seasonal_monthly.values[:-1])
    assert not check_next(hist, nxt).flagged
    assert check_next(hist, nxt * 10).flagged  # e.g. entered in the wrong unit


def test_anomaly_band_is_the_published_band(seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: a month was flagged against 882-1,158 while its published band was 796-1,244."""
    hist = Series("x", "M", seasonal_monthly.start, seasonal_monthly.values[:-12], nonnegative=True)
    published = forecast_series(hist, 12, (80, 95))  # what the forecast page shows
    months = hist.future_periods(12)
    new = [(months[2], float(seasonal_monthly.values[-10])), (months[0], float(seasonal_monthly.values[-12]) * 3)]
    checks = check_values(hist, new)
    assert [c.period for c in checks] == [months[2], months[0]] and [c.horizon for c in checks] == [3, 1]
    for c, i in zip(checks, (2, 0), strict=True):
        assert (c.lower, c.expected, c.upper) == (
            published.lower["95"][i],
            published.mean[i],
            published.upper["95"][i],
        )
    assert not checks[0].flagged and checks[1].flagged and checks[1].direction == "above"
    nxt = check_next(hist, float(seasonal_monthly.values[-12]))
    assert (nxt.lower, nxt.upper, nxt.period) == (published.lower["95"][0], published.upper["95"][0], months[0])
    with pytest.raises(ForecastingError, match="after the history"):
        check_values(hist, [(hist.periods[-1], 1.0)])
    with pytest.raises(ForecastingError, match="bad period"):
        check_values(hist, [("2030-Q1", 1.0)])
    assert check_values(hist, []) == []


def test_metrics() -> None:
    assert smape(np.array([110.0]), np.array([90.0])) == pytest.approx(20.0)
    assert smape(np.zeros(2), np.zeros(2)) == 0.0
    assert mase(np.array([3.0]), np.array([4.0]), np.array([1.0, 2.0, 3.0]), 1) == pytest.approx(1.0)


def test_backtest_and_calibrate() -> None:
    rng = np.random.default_rng(1)
    series = [Series(f"s{i}", "Y", 1990, 100 + np.cumsum(rng.normal(1, 3, 25))) for i in range(12)]
    res = backtest(series, horizon=3, windows=2, n_jobs=1)
    m = res.metrics
    assert m["n_series"] == 12 and m["n_forecasts"] == 24
    assert {"smape", "mase", "coverage_80", "coverage_95", "Y_smape"} <= set(m)
    assert 0 <= m["coverage_80"] <= m["coverage_95"] <= 1
    cfg = calibrate(series, horizon=3, min_points=10, n_jobs=1)
    assert cfg.calibration["Y"]["80"] < cfg.calibration["Y"]["95"]
    assert cfg.calibration["M"] == PipelineConfig().calibration["M"]


def test_demo_missing_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError):
        load_demo(tmp_path / "nope")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared indicator data not present")
def test_demo_real_data_excludes_hypothetical() -> None:
    d = load_demo(SHARED)
    arr = d.observations["vn_intl_arrivals"]
    assert "2020-05" not in set(arr["period"]) and "2022-01" in set(arr["period"])
    assert len(d.excluded) == 21
    assert {i.frequency for i in d.indicators} == {"M", "Y"}


def test_plot_png(yearly_short) -> None:  # type: ignore[no-untyped-def]
    png = plot_forecast(yearly_short, forecast_series(yearly_short, 3))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
