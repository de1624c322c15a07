from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from forecasting import PipelineConfig, Series, forecast_series
from forecasting.errors import ForecastingError
from forecasting.tet import tet_date, tet_regressor

# Tết (Mùng 1 Tết Nguyên Đán) in Vietnam; 1985 and 2007 differ from the Chinese (UTC+8) date
KNOWN = {
    1985: date(1985, 1, 21),
    2007: date(2007, 2, 17),
    2010: date(2010, 2, 14),
    2015: date(2015, 2, 19),
    2020: date(2020, 1, 25),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
}


@pytest.mark.parametrize(("year", "expected"), KNOWN.items())
def test_known_dates(year: int, expected: date) -> None:
    assert tet_date(year) == expected


def test_all_years_in_range() -> None:
    for y in range(1990, 2051):
        d = tet_date(y)
        assert date(y, 1, 20) <= d <= date(y, 2, 21)


def test_out_of_range() -> None:
    with pytest.raises(ForecastingError):
        tet_date(1800)


def test_uncentred_shares_sum_to_one() -> None:
    years = np.repeat(np.arange(2000, 2030), 12)
    months = np.tile(np.arange(1, 13), 30)
    x = tet_regressor(years, months, 7, 14, centre=False)
    np.testing.assert_allclose(x.reshape(30, 12).sum(axis=1), 1.0)
    assert np.all(x.reshape(30, 12)[:, 3:] == 0)
    xc = tet_regressor(years, months, 7, 14)
    assert abs(xc[months == 1].mean()) < 0.05


def test_regressor_improves_january_february() -> None:
    """A synthetic series whose activity drops in the Tết window: the regressor removes most of the error."""
    rng = np.random.default_rng(3)
    start = 2008 * 12
    n = 12 * 15
    o = np.arange(start, start + n)
    years, months = o // 12, o % 12 + 1
    share = tet_regressor(years, months, 7, 14, centre=False)
    base = (1000 + 3 * np.arange(n)) * (1 + 0.1 * np.cos(2 * np.pi * (months - 1) / 12))
    y = base * (1 - 0.5 * share) * (1 + 0.01 * rng.standard_normal(n))
    errs = {}
    for tet in (False, True):
        e = []
        for cut in (n - 36, n - 24, n - 12):
            s = Series("x", "M", start, y[:cut])
            fc = forecast_series(s, 12, config=PipelineConfig(tet_regressor=tet))
            e.extend(np.abs(fc.mean[:2] - y[cut : cut + 2]) / y[cut : cut + 2])
        errs[tet] = float(np.mean(e))
    assert errs[True] < 0.6 * errs[False]
