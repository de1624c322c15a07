"""Cells that spreadsheet programs do not run: every CSV or XLSX the service or the CLI writes goes through
:func:`safe_frame` (or :func:`safe_cell`), so a text such as ``=HYPERLINK(...)`` or ``=cmd|...`` from a post,
a transcript or an indicator code is shown as text, never evaluated (CSV/formula injection, OWASP).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote.
Numbers stay numbers: ``-3.5`` as a float, and a text that is a plain number (``"-3.5"``), are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["safe_cell", "safe_frame"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: a plain decimal number, as a spreadsheet reads it: "-3", "+4.5", "-1e-3"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: a string starting with a formula trigger is prefixed with
    ``'``, unless it is a plain number; anything that is not a string (numbers, dates, None) is unchanged.

    >>> safe_cell("=HYPERLINK(\\"http://x\\")"), safe_cell("-A1"), safe_cell("-3.5"), safe_cell(-3.5)
    ('\\'=HYPERLINK("http://x")', "'-A1", '-3.5', -3.5)
    """
    if isinstance(value, str) and value.startswith(_TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`safe_cell` applied to every text cell and to the column names (a
    header is a cell too). Numeric columns are untouched, so they stay numbers in the file."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(c) for c in out.columns]
    return out


def unsafe_cell(value: str) -> str:
    """The text :func:`safe_cell` neutralised, as it was (for reading back a file the service wrote)."""
    if value.startswith("'") and value[1:].startswith(_TRIGGERS) and not _NUMBER.fullmatch(value[1:]):
        return value[1:]
    return value
