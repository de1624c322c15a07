from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import PipelineConfig, forecast_frame, forecast_series, read_long, sample_paths
from forecasting.errors import ForecastingError


@pytest.fixture
def long_df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        n = 30 + 5 * i
        y = 50 + np.cumsum(rng.normal(0.5, 1, n))
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(1, n + 1), "y": y}))
    return pd.concat(rows)


def test_columns_order_and_parallel_equal(long_df) -> None:  # type: ignore[no-untyped-def]
    calls = []
    one = forecast_frame(long_df, 4, freq="Q", n_jobs=1, progress=lambda d, t: calls.append((d, t)))
    assert list(one.columns) == ["unique_id", "ds", "mean", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert one["unique_id"].drop_duplicates().tolist() == [f"s{i}" for i in range(6)]
    assert one[one.unique_id == "s0"]["ds"].tolist() == [31, 32, 33, 34]
    assert calls[-1] == (6, 6)
    two = forecast_frame(long_df, 4, freq="Q", n_jobs=2)
    pd.testing.assert_frame_equal(one, two)


def test_calendar_labels_and_levels() -> None:
    df = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": [f"{2020 + i // 12}-{i % 12 + 1:02d}" for i in range(40)],
            "y": np.arange(40.0) + 10,
        }
    )
    out = forecast_frame(df, 3, levels=(50, 99), n_jobs=1)
    assert out["ds"].tolist() == ["2023-05", "2023-06", "2023-07"]
    assert {"lower_50", "upper_99"} <= set(out.columns)


@pytest.mark.parametrize("h", [0, -3, 100000])
def test_bad_horizon(long_df, h) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError, match="horizon"):
        forecast_frame(long_df, h, n_jobs=1)


def test_bad_level(long_df) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError, match="levels"):
        forecast_frame(long_df, 3, levels=(80, 100), n_jobs=1)


def test_sample_paths_match_intervals(seasonal_monthly) -> None:  # type: ignore[no-untyped-def]
    fc = forecast_series(seasonal_monthly, 6)
    paths = sample_paths(seasonal_monthly, 6, n_samples=20000, forecast=fc, seed=1)
    assert paths.shape == (20000, 6)
    lo, hi = np.quantile(paths, [0.1, 0.9], axis=0)
    np.testing.assert_allclose(lo, fc.lower["80"], rtol=0.02)
    np.testing.assert_allclose(hi, fc.upper["80"], rtol=0.02)
    lo, hi = np.quantile(paths, [0.025, 0.975], axis=0)
    np.testing.assert_allclose(hi, fc.upper["95"], rtol=0.03)


def test_read_long_then_frame_same(long_df) -> None:  # type: ignore[no-untyped-def]
    series = read_long(long_df, freq="Y")
    a = forecast_frame(series, 2, n_jobs=1, config=PipelineConfig())
    b = forecast_frame(long_df, 2, freq="Y", n_jobs=1)
    pd.testing.assert_frame_equal(a, b)
