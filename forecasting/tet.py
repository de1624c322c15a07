"""Tết (Vietnamese lunar new year) dates and the moving-holiday regressor for monthly series.

Tết falls between 21 January and 20 February, so January and February values of exports, imports, retail
sales or arrivals swing with it. The regressor for a month is the share of a holiday window (``before``
days before to ``after`` days after the first day of Tết, inclusive) that falls in that month, centred by
subtracting its average over the years for that calendar month (so that the regular seasonal pattern keeps
the average effect and the regressor carries only the year-to-year movement), in the spirit of X-13's
moving-holiday regressors.

Dates come from the Vietnamese lunar calendar computed astronomically for the UTC+7 meridian (Hồ Ngọc Đức's
algorithm, after Jean Meeus' "Astronomical Algorithms"), which is how Vietnam's calendar is defined; it
differs from the Chinese (UTC+8) date in some years (e.g. 1985, 2007).

Example:
    >>> tet_date(2024)
    datetime.date(2024, 2, 10)
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from .errors import ForecastingError

__all__ = ["tet_date", "tet_regressor"]

_TZ = 7.0
_PI = math.pi


def _jd_from_date(dd: int, mm: int, yy: int) -> int:
    a = (14 - mm) // 12
    y = yy + 4800 - a
    m = mm + 12 * a - 3
    jd = dd + (153 * m + 2) // 5 + 365 * y + y // 4 - y // 100 + y // 400 - 32045
    if jd < 2299161:
        jd = dd + (153 * m + 2) // 5 + 365 * y + y // 4 - 32083
    return jd


def _jd_to_date(jd: int) -> date:
    return date(1970, 1, 1) + timedelta(days=jd - _jd_from_date(1, 1, 1970))


def _new_moon_day(k: int) -> int:
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = _PI / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 = c1 - 0.4068 * math.sin(mpr * dr) + 0.0161 * math.sin(dr * 2 * mpr)
    c1 = c1 - 0.0004 * math.sin(dr * 3 * mpr)
    c1 = c1 + 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 = c1 - 0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 = c1 - 0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 = c1 + 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        deltat = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        deltat = -0.000278 + 0.000265 * t + 0.000262 * t2
    return int(jd1 + c1 - deltat + 0.5 + _TZ / 24)


def _sun_longitude(jdn: int) -> int:
    """Index 0-11 of the 30-degree sector of the sun's longitude at local midnight starting day ``jdn``."""
    t = (jdn - 2451545.5 - _TZ / 24) / 36525
    t2 = t * t
    dr = _PI / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    lon = (l0 + dl) * dr
    lon = lon - _PI * 2 * math.floor(lon / (_PI * 2))
    return int(lon / _PI * 6)


def _lunar_month11(yy: int) -> int:
    off = _jd_from_date(31, 12, yy) - 2415021
    k = int(off / 29.530588853)
    nm = _new_moon_day(k)
    if _sun_longitude(nm) >= 9:
        nm = _new_moon_day(k - 1)
    return nm


def _leap_month_offset(a11: int) -> int:
    k = int((a11 - 2415021.076998695) / 29.530588853 + 0.5)
    i = 1
    arc = _sun_longitude(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_longitude(_new_moon_day(k + i))
        if arc == last or i >= 14:
            break
    return i - 1


@lru_cache(maxsize=512)
def tet_date(year: int) -> date:
    """First day of the lunar year that starts in Gregorian ``year`` (Vietnam, UTC+7). Valid 1900-2100."""
    if not 1900 <= int(year) <= 2100:
        raise ForecastingError(f"tet_date covers years 1900-2100. Got: {year}")
    a11 = _lunar_month11(year - 1)
    b11 = _lunar_month11(year)
    k = int(0.5 + (a11 - 2415021.076998695) / 29.530588853)
    off = 2  # lunar month 1 is two months after month 11
    if b11 - a11 > 365:  # leap year: the leap month may fall in month 11 or 12
        leap_off = _leap_month_offset(a11)
        if off >= leap_off:
            off += 1
    return _jd_to_date(_new_moon_day(k + off))


def _window_share(year: int, month: int, before: int, after: int) -> float:
    """Share (0-1) of the Tết window of the lunar year starting in ``year`` that lies in (year, month)."""
    t = tet_date(year)
    start = t - timedelta(days=before)
    days = before + after + 1
    inside = 0
    for d in range(days):
        day = start + timedelta(days=d)
        if day.year == year and day.month == month:
            inside += 1
    return inside / days


def tet_regressor(
    years: np.ndarray, months: np.ndarray, before: int = 7, after: int = 7, centre: bool = True
) -> np.ndarray:
    """Tết regressor for monthly periods.

    Args:
        years, months: calendar year and month (1-12) of each period, shape (n,).
        before, after: days of the holiday window before and after the first day of Tết.
        centre: subtract, per calendar month, the mean share over the years 1990-2050.

    Returns:
        float array, shape (n,): share of the window in that month (centred); zero outside Dec-Mar.
    """
    years = np.asarray(years, dtype=int)
    months = np.asarray(months, dtype=int)
    if years.shape != months.shape:
        raise ForecastingError(f"years and months must have the same shape. Got: {years.shape} and {months.shape}")
    if before < 0 or after < 0:
        raise ForecastingError(f"window days must be >= 0. Got: before={before}, after={after}")
    means = _month_means(before, after) if centre else {}
    out = np.zeros(years.shape[0])
    for i, (y, m) in enumerate(zip(years, months, strict=True)):
        if m in (1, 2, 3):
            out[i] = _window_share(int(y), int(m), before, after) - means.get(int(m), 0.0)
    return out


@lru_cache(maxsize=32)
def _month_means(before: int, after: int) -> dict[int, float]:
    return {m: float(np.mean([_window_share(y, m, before, after) for y in range(1990, 2051)])) for m in (1, 2, 3)}
