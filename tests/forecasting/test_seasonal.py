from __future__ import annotations

import numpy as np
import pytest

from forecasting import ForecastingError, Series
from forecasting.seasonal import seasonal_adjust
from forecasting.tet import tet_regressor


def _planted(effect: float = -0.25, years: int = 10, start_year: int = 2012) -> Series:
    """Monthly exports-like series: trend x seasonal x Tết effect x noise, Tết coefficient ``effect`` (log)."""
    rng = np.random.default_rng(7)
    n = 12 * years
    t = np.arange(n)
    o = start_year * 12 + t
    seasonal = 1 + 0.08 * np.sin(2 * np.pi * t / 12) + 0.04 * np.cos(4 * np.pi * t / 12)
    tet = tet_regressor(o // 12, o % 12 + 1, 7, 14)
    y = 1000 * np.exp(0.005 * t) * seasonal * np.exp(effect * tet) * np.exp(rng.normal(0, 0.01, n))
    return Series("exports", "M", start_year * 12, y)


def test_tet_effect_is_found_and_removed() -> None:
    series = _planted()
    sa = seasonal_adjust(series)
    assert sa.multiplicative
    assert sa.tet_coefficient == pytest.approx(-0.25, abs=0.03)
    assert sa.tet_t is not None and sa.tet_t < -5
    # the decomposition adds up, and the adjusted series no longer moves with the date of Tết
    assert np.allclose(sa.adjusted * sa.seasonal * sa.holiday, sa.original, rtol=1e-6)
    o = series.ordinals
    tet = tet_regressor(o // 12, o % 12 + 1, 7, 14)
    jan_feb = np.isin(o % 12, (0, 1))
    growth = np.diff(np.log(sa.adjusted), prepend=np.nan)
    raw_growth = np.diff(np.log(series.values), prepend=np.nan)
    keep = jan_feb & np.isfinite(growth)
    assert abs(np.corrcoef(growth[keep], tet[keep])[0, 1]) < 0.3 < abs(np.corrcoef(raw_growth[keep], tet[keep])[0, 1])
    assert sa.to_frame().columns.tolist() == [
        "unique_id",
        "ds",
        "y",
        "adjusted",
        "seasonal",
        "holiday",
        "trend",
        "irregular",
    ]
    assert sa.periods[0] == "2012-01" and len(sa.to_frame()) == len(series)


def test_without_tet_and_additive() -> None:
    series = _planted()
    plain = seasonal_adjust(series, tet=False)
    assert plain.tet_coefficient is None and np.all(plain.holiday == 1.0)
    shifted = Series("balance", "M", series.start, series.values - 1500.0)  # negative values: additive
    sa = seasonal_adjust(shifted)
    assert not sa.multiplicative
    assert np.allclose(sa.adjusted + sa.seasonal + sa.holiday, sa.original, atol=1e-6)


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (Series("q", "Q", 2010 * 4, np.arange(40.0) + 1), "monthly"),
        (Series("i", "M", 0, np.arange(60.0) + 1, calendar=False), "integer index"),
        (Series("short", "M", 2020 * 12, np.arange(30.0) + 1), "36 to 780"),
        (Series("flat", "M", 2010 * 12, np.full(48, 5.0)), "varies"),
    ],
)
def test_refuses_what_it_cannot_adjust(series: Series, message: str) -> None:
    with pytest.raises(ForecastingError, match=message):
        seasonal_adjust(series)


def test_program_failures_are_clear_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError, match="cannot run"):
        seasonal_adjust(_planted(), binary=tmp_path / "no-such-x13")
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    with pytest.raises(ForecastingError, match="refused"):
        seasonal_adjust(_planted(), binary=silent)
