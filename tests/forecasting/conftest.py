from __future__ import annotations

import numpy as np
import pytest

from forecasting import Series


@pytest.fixture
def seasonal_monthly() -> Series:
    """10 years of a trending, multiplicative-seasonal monthly series starting 2012-01."""
    rng = np.random.default_rng(42)
    n = 120
    t = np.arange(n)
    season = 1 + 0.2 * np.sin(2 * np.pi * t / 12)
    y = (100 + 0.8 * t) * season * (1 + 0.02 * rng.standard_normal(n))
    return Series("x", "M", 2012 * 12, y)


@pytest.fixture
def yearly_short() -> Series:
    y = np.array([1197.2, 1329.2, 1547.0, 1729.6, 1878.5, 2401.5, 3256.0, 3723.0, 3277.0, 4141.0])
    return Series("rev", "Y", 2006, y)
