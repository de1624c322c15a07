"""The predictive distribution behind intervals, sample paths and targets; non-negative series (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import (
    Series,
    SeriesError,
    forecast_frame,
    forecast_series,
    parse_observations,
    read_long,
    sample_paths,
    series_from_values,
)
from forecasting.config import DEFAULT_CALIBRATION
from forecasting.intervals import PredictiveDistribution, multiplier, step_scale
from forecasting.target import Target, target_probability

# A short, volatile yearly count (e.g. visitors of a small site, thousands): positive, but its calibrated band
# reaches below zero without the declaration.
VOLATILE = np.array([12.0, 30, 8, 25, 40, 15, 33, 9, 28, 20])


def test_distribution_reproduces_the_calibrated_multipliers() -> None:
    table = DEFAULT_CALIBRATION["M"]
    d = PredictiveDistribution(np.array([100.0, 110.0]), np.array([5.0, 8.0]), table)
    for level in (50.0, 80.0, 95.0, 99.0):
        lo, hi = d.interval(level)
        np.testing.assert_allclose(hi - d.location, multiplier(level, table) * d.scale, rtol=1e-12)
        np.testing.assert_allclose(d.location - lo, multiplier(level, table) * d.scale, rtol=1e-12)
    np.testing.assert_array_equal(d.median(), d.location)
    np.testing.assert_allclose(d.quantile(0.9), d.interval(80)[1], rtol=1e-12)


def test_floor_censors_only_below_it() -> None:
    d = PredictiveDistribution(np.array([100.0, 3.0]), np.array([5.0, 8.0]), DEFAULT_CALIBRATION["Y"], floor=0.0)
    free = PredictiveDistribution(d.location, d.scale, d.table)
    lo, hi = d.interval(95)
    lo_free, hi_free = free.interval(95)
    assert lo[0] == lo_free[0] and hi[0] == hi_free[0]  # far above zero: exactly as calibrated
    assert lo_free[1] < 0 and lo[1] == 0.0 and hi[1] == hi_free[1]


def test_scale_beyond_the_measured_steps_extends_them() -> None:
    rng = np.random.default_rng(3)
    errors = rng.normal(0, 1, (3, 6)) * np.sqrt(np.arange(1, 7))
    short = step_scale(errors, 1.0)
    long = step_scale(errors, 1.0, 20)
    np.testing.assert_array_equal(long[:6], short)
    assert np.all(np.diff(long[6:]) >= 0)
    two = step_scale(errors[:, :2], 1.0, 5)  # too few steps for a law: growth like the step
    np.testing.assert_array_equal(two[:2], step_scale(errors[:, :2], 1.0))
    assert np.all(np.isfinite(two)) and two[4] > two[1]


def test_nonnegative_series_keeps_forecasts_and_bands_at_or_above_zero() -> None:
    plain = forecast_series(Series("v", "Y", 2015, VOLATILE), 6, (80, 95))
    assert plain.lower["95"].min() < 0  # the problem of issue 14: a band below zero for a count
    fc = forecast_series(Series("v", "Y", 2015, VOLATILE, nonnegative=True), 6, (80, 95))
    for key in ("80", "95"):
        assert fc.lower[key].min() >= 0
        np.testing.assert_array_equal(fc.lower[key], np.maximum(plain.lower[key], 0.0))
        np.testing.assert_array_equal(fc.upper[key], plain.upper[key])
    assert np.all(fc.lower["95"] <= fc.mean) and np.all(fc.mean <= fc.upper["95"])
    np.testing.assert_array_equal(fc.mean, np.maximum(plain.mean, 0.0))


def test_nonnegative_sample_paths_and_targets_use_the_same_distribution() -> None:
    s = Series("v", "Y", 2015, VOLATILE, nonnegative=True)
    fc = forecast_series(s, 3, (80, 95))
    paths = sample_paths(s, 3, n_samples=40000, forecast=fc, seed=2)
    assert paths.min() >= 0
    lo, hi = np.quantile(paths, [0.1, 0.9], axis=0)
    np.testing.assert_allclose(lo, fc.lower["80"], rtol=0.05, atol=0.3)
    np.testing.assert_allclose(hi, fc.upper["80"], rtol=0.05)
    # the chance of a value at or below zero is the mass the calibrated distribution puts there, now at zero
    free = Series("v", "Y", 2015, VOLATILE)
    p_free = 1 - target_probability(free, Target("2027", 0.0, direction="at_most"), n_samples=20000).probability
    p_nonneg = 1 - target_probability(s, Target("2027", 0.0, direction="at_most"), n_samples=20000).probability
    assert p_free < 0.97 and p_nonneg == pytest.approx(p_free, abs=0.01)  # P(value > 0) unchanged
    r = target_probability(s, Target("2027", 0.0), n_samples=20000)
    assert r.probability == 1.0 and r.lower_80 >= 0  # at least zero: certain


def test_nonnegative_refuses_negative_values() -> None:
    with pytest.raises(SeriesError, match="non-negative") as e:
        Series("v", "Y", 2015, np.array([3.0, -1.0, 2.0]), nonnegative=True)
    assert "2016" in str(e.value)
    with pytest.raises(SeriesError) as e2:
        parse_observations(b"period,value\n2020,1\n2021,-2\n2022,3\n", freq="Y", nonnegative=True)
    assert e2.value.problems[0].line == 3
    long = b"unique_id,ds,y\na,2020,1\na,2021,-2\nb,2020,1\n"
    with pytest.raises(SeriesError):
        read_long(long, freq="Y", nonnegative=True)
    assert all(s.nonnegative for s in read_long(long.replace(b"-2", b"2"), freq="Y", nonnegative=True))
    assert parse_observations(b"period,value\n2020,1\n2021,-2\n", freq="Y").values[1] == -2.0
    with pytest.raises(SeriesError, match="invalid series"):
        series_from_values("a", [1.0, -1.0], "Y", 2020, nonnegative=True)


def test_forecast_frame_declares_every_series_nonnegative() -> None:
    rows = [{"unique_id": "v", "ds": str(2015 + i), "y": v} for i, v in enumerate(VOLATILE)]
    rows += [{"unique_id": "w", "ds": str(2015 + i), "y": 2 * v} for i, v in enumerate(VOLATILE)]
    plain = forecast_frame(pd.DataFrame(rows), 6, freq="Y", n_jobs=1)
    assert plain["lower_95"].min() < 0
    out = forecast_frame(pd.DataFrame(rows), 6, freq="Y", n_jobs=1, nonnegative=True)
    assert out["lower_95"].min() >= 0 and out["lower_80"].min() >= 0 and out["mean"].min() >= 0
    pd.testing.assert_series_equal(out["upper_95"], plain["upper_95"])
    parsed = read_long(pd.DataFrame(rows), freq="Y")
    pd.testing.assert_frame_equal(forecast_frame(parsed, 6, n_jobs=1, nonnegative=True), out)
