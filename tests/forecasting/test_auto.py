from __future__ import annotations

import numpy as np
import pytest

from forecasting import AutoForecaster, ForecastingError, NotFittedError, PipelineConfig, Series, forecast_series
from forecasting import auto as auto_mod
from forecasting.auto import internal_horizon
from forecasting.demo import load_demo
from forecasting.methods import AR, ETS, Drift, Naive, SeasonalNaive, Theta
from forecasting.tet import tet_regressor


def test_seasonal_series_accuracy_and_interval_order(seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    y = seasonal_monthly.values
    est = AutoForecaster(freq="M").fit(y[:-12])
    fc = est.predict(12, (80, 95))
    mape = np.mean(np.abs(fc.mean - y[-12:]) / y[-12:])
    assert mape < 0.05
    assert est.prep_.mode == "mul"
    assert np.all(fc.lower["95"] <= fc.lower["80"]) and np.all(fc.upper["80"] <= fc.upper["95"])
    assert np.all(fc.lower["80"] < fc.mean) and np.all(fc.mean < fc.upper["80"])
    assert abs(sum(fc.weights.values()) - 1) < 1e-9


@pytest.mark.parametrize("h", [0, -1, 2.5, True, "3"])
def test_bad_horizon(h) -> None:  # type: ignore[no-untyped-def]
    est = AutoForecaster().fit(np.arange(20.0))
    with pytest.raises(ForecastingError, match="horizon"):
        est.predict(h)


@pytest.mark.parametrize("level", [0, 100, -5, 120, float("nan"), "x"])
def test_bad_level(level) -> None:  # type: ignore[no-untyped-def]
    est = AutoForecaster().fit(np.arange(20.0))
    with pytest.raises(ForecastingError, match="levels"):
        est.predict(3, (80, level))


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        AutoForecaster().predict(3)


def test_too_short_and_non_finite() -> None:
    with pytest.raises(ForecastingError, match="too short"):
        AutoForecaster().fit([1.0, 2.0])
    with pytest.raises(ForecastingError, match="finite"):
        AutoForecaster().fit([1.0, np.nan, 2.0, 3.0])


def test_three_points_fall_back_to_naive() -> None:
    fc = AutoForecaster(freq="Y").fit([5.0, 6.0, 7.0]).predict(2)
    np.testing.assert_allclose(fc.mean, [7.0, 7.0])
    assert any("naive" in n for n in fc.notes)
    assert np.all(np.isfinite(fc.upper["95"]))


def test_short_series_fewer_windows(yearly_short) -> None:  # type: ignore[no-untyped-def]
    fc = forecast_series(yearly_short, 3)
    assert fc.mean.shape == (3,) and np.all(np.isfinite(fc.lower["95"]))
    assert fc.mean[0] > 3000


def test_constant_series() -> None:
    fc = AutoForecaster(freq="M").fit(np.full(40, 7.0)).predict(5)
    np.testing.assert_allclose(fc.mean, 7.0, atol=1e-6)


def test_failing_method_is_dropped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise ForecastingError("no ARIMA order could be fitted")

    monkeypatch.setattr(auto_mod, "_arima_forecast", boom)
    cfg = PipelineConfig(methods=("arima", "theta"), pools={})
    fc = AutoForecaster(cfg, "Y").fit(np.arange(1.0, 21.0)).predict(3)
    assert set(fc.weights) == {"theta"}


def test_non_finite_candidate_dropped(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(auto_mod.E, "drift_forecast", lambda y, h: np.full(h, np.nan))
    fc = AutoForecaster(PipelineConfig(methods=("drift", "naive"), pools={}), "Y").fit(np.arange(1.0, 21.0)).predict(3)
    assert set(fc.weights) == {"naive"}


@pytest.mark.parametrize("combination", ["mean", "median", "best", "top_k", "inverse_error"])
def test_combinations(combination, seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    cfg = PipelineConfig(methods=("ets", "theta", "seasonal_naive", "drift"), combination=combination, top_k=2)
    fc = forecast_series(seasonal_monthly, 6, config=cfg)
    assert np.all(np.isfinite(fc.mean))


@pytest.mark.parametrize("cls", [ETS, Theta, Naive, SeasonalNaive, Drift, AR])
def test_single_methods_follow_contract(cls, seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    est = cls(freq="M")
    assert est.get_params()["freq"] == "M"
    assert est.fit(seasonal_monthly.values) is est
    fc = est.predict(4, (90,))
    assert fc.mean.shape == (4,) and set(fc.lower) == {"90"}
    assert list(est.weights_) == [cls._method] or cls._method in ("seasonal_naive",)


def test_naive_values() -> None:
    fc = Naive(freq="I").fit(np.array([1.0, 3.0, 2.0, 5.0, 4.0, 6.0])).predict(2)
    np.testing.assert_allclose(fc.mean, [6.0, 6.0])
    fc = Drift(freq="I").fit(np.arange(10.0)).predict(2)
    np.testing.assert_allclose(fc.mean, [10.0, 11.0])


def test_each_frequency_uses_its_pool() -> None:
    """Yearly and integer-index series use their own pools; other frequencies the shared one."""
    y = np.array([10.0, 12, 13, 15, 16, 18, 21, 22, 24, 27, 28, 30, 33, 35])
    cfg = PipelineConfig()
    yearly = AutoForecaster(cfg, "Y").fit(y).predict(3)
    assert set(yearly.weights) == set(cfg.pool("Y")[0]) and "drift" in yearly.weights
    index = AutoForecaster(cfg, "I").fit(y).predict(3)
    assert set(index.weights) == {"ets", "damped", "theta", "ar"}
    assert np.allclose(sum(index.weights.values()), 1.0)
    quarterly = AutoForecaster(cfg, "Q").fit(y).predict(3)
    assert set(quarterly.weights) == set(cfg.methods)
    one_pool = AutoForecaster(cfg.with_(pools={}), "Y").fit(y).predict(3)
    assert set(one_pool.weights) == set(cfg.methods)


def _horizon_cases() -> list[tuple[str, Series]]:
    """Series of every frequency and length regime: long and short, seasonal (multiplicative, additive), with
    the Tết regressor (monthly calendar), on an integer index, and the shipped Lâm Đồng budget (10 years)."""
    rng = np.random.default_rng(7)
    t = np.arange(120)
    monthly = (100 + 0.8 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) * (1 + 0.03 * rng.standard_normal(120))
    additive = 5 * np.sin(2 * np.pi * t[:60] / 12) + np.cumsum(rng.normal(0, 1, 60))  # crosses zero
    q = np.arange(40)
    quarterly = 50 + q + 8 * np.cos(2 * np.pi * q / 4) + rng.normal(0, 2, 40)
    budget = load_demo(None).observations["lamdong_budget_expenditure"]
    months = np.arange(2012 * 12, 2022 * 12)
    tet = monthly * (1 - 0.3 * tet_regressor(months // 12, months % 12 + 1, 7, 14))  # a holiday dip
    return [
        ("monthly calendar", Series("m", "M", 2012 * 12, monthly)),
        ("monthly calendar, Tết dip", Series("t", "M", 2012 * 12, tet)),
        ("monthly short", Series("ms", "M", 2021 * 12, monthly[:30])),
        ("monthly additive", Series("ma", "M", 2015 * 12, additive)),
        ("quarterly", Series("q", "Q", 2010 * 4, quarterly)),
        ("quarterly short", Series("qs", "Q", 2019 * 4, quarterly[:12])),
        ("yearly budget", Series("y", "Y", 2006, budget["value"].to_numpy())),
        ("yearly long", Series("yl", "Y", 1990, 100 + np.cumsum(rng.normal(2, 4, 30)))),
        ("index", Series("i", "I", 1, 200 + np.cumsum(rng.normal(1, 2, 50)))),
    ]


@pytest.mark.parametrize(("label", "series"), _horizon_cases(), ids=[c[0] for c in _horizon_cases()])
def test_a_periods_forecast_does_not_depend_on_the_horizon(label: str, series: Series) -> None:
    """Issue 14: the band of a period changed with the horizon asked for (1, 2, 5 years gave three bands)."""
    levels = (50, 80, 95, 99)
    longest = forecast_series(series, 40, levels)
    for h in (1, 2, 3, 5, 8, 12, 18, 24, 30):
        fc = forecast_series(series, h, levels)
        np.testing.assert_array_equal(fc.mean, longest.mean[:h], err_msg=f"{label}: mean, h={h}")
        for key in longest.lower:
            np.testing.assert_array_equal(fc.lower[key], longest.lower[key][:h], err_msg=f"{label}: lower {key} h={h}")
            np.testing.assert_array_equal(fc.upper[key], longest.upper[key][:h], err_msg=f"{label}: upper {key} h={h}")
        assert fc.weights == longest.weights and fc.horizon == longest.horizon


def test_internal_horizon_follows_the_series_not_the_request() -> None:
    cfg = PipelineConfig()
    assert internal_horizon(cfg, "M", 120) == cfg.horizon("M") == 18
    assert internal_horizon(cfg, "Y", 30) == 6
    assert internal_horizon(cfg, "Y", 10) == 4  # 10 years: the longest horizon that keeps a window (origin 6)
    assert internal_horizon(cfg, "Y", 7) == 1
    assert internal_horizon(cfg, "Y", 5) == 6  # no window at all: in-sample scale
    assert internal_horizon(cfg.with_(horizons={"Y": 3}), "Y", 30) == 3
    with pytest.raises(ForecastingError, match="horizons"):
        PipelineConfig(horizons={"Y": 0})
    assert PipelineConfig.from_json(cfg.with_(horizons={"M": 24}).to_json()).horizon("M") == 24
