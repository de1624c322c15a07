"""Periods as the province's offices write them: ``Tháng 1/2019``, ``T01-2019``, ``Quý I/2016``, ``2016Q1``,
``Năm 2019``, ``01/2019``, spreadsheet dates and serial numbers; and wide-report column labels, which may leave
the year out (``Tháng 1``, ``Quý I``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .text import fold

__all__ = ["Period", "PeriodSyntaxError", "parse_period", "parse_label", "serial_to_date", "SERIAL_RANGE"]

MIN_YEAR, MAX_YEAR = 1900, 2100
#: Excel serial day numbers taken as dates when a whole column holds them: 1954-10-03 .. 2119-01-06.
SERIAL_RANGE = (20_000, 80_000)
_EXCEL_EPOCH = date(1899, 12, 30)

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_MONTHS_EN = {
    m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
}
_YEAR_TAIL = r"(?:\s*(?:[-/.,]\s*)?(?:nam\s*)?(\d{4}))?"

_RE_ISO_MONTH = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$")
_RE_MONTH_YEAR = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{4})$")
_RE_MONTH_WORD = re.compile(r"^(?:thang|th|t|month)\s*\.?\s*(\d{1,2})" + _YEAR_TAIL + "$")
_RE_MONTH_EN = re.compile(r"^([a-z]{3})[a-z]*\.?\s*[-/ ]?\s*(\d{4})$")
_RE_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?z?)?$")
_RE_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_RE_QUARTER_WORD = re.compile(r"^(?:quy|q|quarter)\s*\.?\s*([1-4]|iv|i{1,3})" + _YEAR_TAIL + "$")
_RE_YEAR_Q = re.compile(r"^(\d{4})\s*-?\s*q([1-4])$")
_RE_YEAR = re.compile(r"^(?:nam|year|ca nam)?\s*(\d{4})$")


class PeriodSyntaxError(ValueError):
    """A cell that is not a period; ``vi``/``en`` say why."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass(frozen=True, slots=True)
class Period:
    """A parsed period.

    Attributes:
        freq: ``M``, ``Q`` or ``Y``.
        year: the year, or None for a wide-report label without one (``Tháng 1``).
        sub: month 1-12 (M), quarter 1-4 (Q), 0 (Y).
        is_date: a full date (a datetime cell, ``2019-01-31``, ``31/01/2019``, a serial number): it may be
            read as its quarter or year when that is the expected frequency.
    """

    freq: str
    year: int | None
    sub: int
    is_date: bool = False

    def with_year(self, year: int) -> Period:
        return Period(self.freq, year, self.sub, self.is_date)

    def as_freq(self, freq: str) -> Period | None:
        """The same period at ``freq`` when it is a date (month -> its quarter or year); None if impossible."""
        if freq == self.freq:
            return self
        if not self.is_date or self.freq != "M":
            return None
        if freq == "Q":
            return Period("Q", self.year, (self.sub - 1) // 3 + 1, True)
        if freq == "Y":
            return Period("Y", self.year, 0, True)
        return None

    @property
    def ordinal(self) -> int:
        """year*12+month-1 (M), year*4+quarter-1 (Q), year (Y); the year must be known."""
        y = self.year if self.year is not None else 0
        if self.freq == "M":
            return y * 12 + self.sub - 1
        if self.freq == "Q":
            return y * 4 + self.sub - 1
        return y

    @property
    def iso(self) -> str:
        """``2024-01``, ``2024-Q1`` or ``2024`` (the store's and :class:`forecasting.Series`' labels)."""
        y = f"{self.year:04d}" if self.year is not None else "????"
        if self.freq == "M":
            return f"{y}-{self.sub:02d}"
        if self.freq == "Q":
            return f"{y}-Q{self.sub}"
        return y


def _year(y: int) -> int:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise PeriodSyntaxError(
            f"năm {y} nằm ngoài khoảng {MIN_YEAR}-{MAX_YEAR}", f"year {y} is outside {MIN_YEAR}-{MAX_YEAR}"
        )
    return y


def _month(m: int, y: int | None) -> Period:
    if not 1 <= m <= 12:
        raise PeriodSyntaxError(f"tháng phải từ 1 đến 12, gặp {m}", f"month must be 1-12, got {m}")
    return Period("M", None if y is None else _year(y), m)


def _date(y: int, m: int, d: int) -> Period:
    try:
        date(y, m, d)
    except ValueError as e:
        raise PeriodSyntaxError(f"ngày không hợp lệ ({e})", f"not a valid date ({e})") from e
    return Period("M", _year(y), m, True)


def serial_to_date(serial: float) -> date:
    """Excel's serial day number (1900 date system) -> date."""
    return _EXCEL_EPOCH + timedelta(days=int(serial))


def _parse_text(t: str, allow_no_year: bool) -> Period:
    """``t`` is folded text."""

    def need_year(p: Period) -> Period:
        if p.year is None and not allow_no_year:
            raise PeriodSyntaxError(
                "thiếu năm (ví dụ 'Tháng 1/2024')", "the year is missing (for example 'Tháng 1/2024')"
            )
        return p

    if m := _RE_ISO_MONTH.match(t):
        return _month(int(m.group(2)), int(m.group(1)))
    if m := _RE_MONTH_YEAR.match(t):
        return _month(int(m.group(1)), int(m.group(2)))
    if m := _RE_MONTH_WORD.match(t):
        return need_year(_month(int(m.group(1)), int(m.group(2)) if m.group(2) else None))
    if m := _RE_QUARTER_WORD.match(t):
        q = m.group(1)
        return need_year(Period("Q", _year(int(m.group(2))) if m.group(2) else None, _ROMAN.get(q) or int(q)))
    if m := _RE_YEAR_Q.match(t):
        return Period("Q", _year(int(m.group(1))), int(m.group(2)))
    if m := _RE_YEAR.match(t):
        return Period("Y", _year(int(m.group(1))), 0)
    if m := _RE_ISO_DATE.match(t):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _RE_DMY.match(t):
        return _date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if (m := _RE_MONTH_EN.match(t)) and m.group(1) in _MONTHS_EN:
        return _month(_MONTHS_EN[m.group(1)], int(m.group(2)))
    raise PeriodSyntaxError("không phải kỳ (tháng, quý hoặc năm)", "not a period (month, quarter or year)")


def parse_period(value: Any, *, serial: bool = False, allow_no_year: bool = False) -> Period:
    """One period cell.

    Args:
        value: str, int/float (a year, or an Excel serial day number when ``serial``), datetime/date.
        serial: the column holds Excel serial dates (see :data:`SERIAL_RANGE`).
        allow_no_year: accept labels without a year (wide-report headers: ``Tháng 1``, ``Quý I``).

    Raises:
        PeriodSyntaxError: what is wrong, in Vietnamese and English (the caller adds the accepted forms).
    """
    if isinstance(value, datetime | date):
        return _date(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise PeriodSyntaxError("không phải kỳ", "not a period")
    if isinstance(value, int | float):
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            if serial and math.isfinite(value):
                d = serial_to_date(value)
                return _date(d.year, d.month, d.day)
            raise PeriodSyntaxError(f"số {value:g} không phải kỳ", f"the number {value:g} is not a period")
        v = int(value)
        if serial:
            d = serial_to_date(v)
            return _date(d.year, d.month, d.day)
        if MIN_YEAR <= v <= MAX_YEAR:
            return Period("Y", v, 0)
        raise PeriodSyntaxError(f"số {v} không phải kỳ", f"the number {v} is not a period")
    return _parse_text(fold(str(value)), allow_no_year)


def parse_label(value: Any) -> Period | None:
    """A wide report's column header as a period (the year may be missing), or None when it is not one
    (``6 tháng đầu năm``, ``Cùng kỳ``, ``Kế hoạch``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_period(value, allow_no_year=True)
    except PeriodSyntaxError:
        return None


def is_serial(value: Any) -> bool:
    """A number in :data:`SERIAL_RANGE` (a candidate Excel serial date)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]
    )
