"""Reading indicator files as the province's offices write them.

Three layouts (:class:`Layout`): one series per file (``Kỳ | Giá trị``, ``period,value``), several series in
long form (``Mã chỉ tiêu | Kỳ | Giá trị``, ``unique_id,ds,y``), and the wide report ("biểu": one row per
indicator, periods as columns, ``Tháng 1`` .. ``Tháng 12``). Headers in Vietnamese or English, with or without
diacritics; title, unit and note rows; vi-VN and en-US numbers; periods such as ``Tháng 1/2019``,
``T01-2019``, ``Quý I/2016``, ``2016Q1``, ``Năm 2019``, spreadsheet dates. All or nothing: either every row
reads, or :class:`IntakeError` lists the problems with their rows, in Vietnamese and English, with a fix.

Example:
    >>> from forecasting.intake import IntakeOptions, read_table
    >>> r = read_table("Kỳ;Giá trị\\nTháng 1/2024;1.234,5\\n".encode(), "bieu.csv")
    >>> (r.layout.value, r.frequency, r.observations[0].period, r.observations[0].value)
    ('long', 'M', '2024-01', 1234.5)
"""

from .model import (
    DEFAULT_LIMITS,
    ColumnRole,
    IntakeError,
    IntakeLimits,
    IntakeObservation,
    IntakeOptions,
    IntakeProblem,
    IntakeResult,
    Layout,
    UnmatchedRow,
)
from .reader import read_table

__all__ = [
    "DEFAULT_LIMITS",
    "ColumnRole",
    "IntakeError",
    "IntakeLimits",
    "IntakeObservation",
    "IntakeOptions",
    "IntakeProblem",
    "IntakeResult",
    "Layout",
    "UnmatchedRow",
    "read_table",
]
