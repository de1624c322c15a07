from __future__ import annotations

import numpy as np
import pytest

from forecasting import Series
from forecasting.errors import ForecastingError
from forecasting.target import Target, target_probability


@pytest.fixture
def monthly() -> Series:
    rng = np.random.default_rng(5)
    n = 12 * 6 + 3  # 2019-01 .. 2025-03: three months of 2025 observed
    t = np.arange(n)
    y = 100 * (1.005**t) * (1 + 0.1 * np.sin(2 * np.pi * t / 12)) * (1 + 0.02 * rng.standard_normal(n))
    return Series("m", "M", 2019 * 12, y)


def test_year_to_date_total(monthly) -> None:  # type: ignore[no-untyped-def]
    observed = float(monthly.values[-3:].sum())
    low = target_probability(monthly, Target("2025", 100.0))
    assert low.observed_part == pytest.approx(observed) and low.periods_forecast == 9
    assert low.probability == 1.0
    mid = target_probability(monthly, Target("2025", low.median))
    assert 0.4 < mid.probability < 0.6
    high = target_probability(monthly, Target("2025", low.median * 1.5))
    assert high.probability < 0.01
    assert low.lower_80 < low.median < low.upper_80


def test_growth_target(monthly) -> None:  # type: ignore[no-untyped-def]
    # the series grows ~6%/year: 0% growth is likely met, 30% is not
    assert target_probability(monthly, Target("2025", 0.0, kind="growth")).probability > 0.8
    assert target_probability(monthly, Target("2025", 30.0, kind="growth")).probability < 0.05
    r = target_probability(monthly, Target("2025", 12.0, kind="growth"))
    assert r.threshold == pytest.approx(1.12 * monthly.values[-15:-3].sum(), rel=1e-9)


def test_single_month_and_at_most(monthly) -> None:  # type: ignore[no-untyped-def]
    r = target_probability(monthly, Target("2025-06", 1e9, direction="at_most"), flow=False)
    assert r.probability == 1.0 and r.periods_forecast == 1


def test_yearly_level(yearly_short) -> None:  # type: ignore[no-untyped-def]
    r = target_probability(yearly_short, Target("2016", 4141.0))
    assert 0.3 < r.probability < 0.95


def test_errors(monthly) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ForecastingError):
        target_probability(monthly, Target("2050", 1.0))
    with pytest.raises(ForecastingError):
        target_probability(monthly, Target("2010", 1.0))
    with pytest.raises(ForecastingError):
        Target("2025", 1.0, kind="share")
