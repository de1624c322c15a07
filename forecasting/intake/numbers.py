"""Numbers as written in vi-VN (``1.234,5``, ``1 234,5``) or en-US (``1,234.5``), percentages, and the
statistical "no data" marks (``-``, ``..``, ``x``).

A text number is read under both conventions; when only one gives a valid number the cell shows the file's
convention, when both do and disagree (``1.234``) it is ambiguous and the file as a whole decides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING_MARKS", "NumberText", "read_number_text", "is_missing"]

#: Cells that mean "no data" in Vietnamese statistical tables (folded, stripped).
MISSING_MARKS = frozenset({"", "-", "--", "---", "–", "—", ".", "..", "...", "…", "x", "n/a", "na", "nan", "null"})
_MAX_ABS = 1e300

_SPACE_CHARS = "\u00a0\u202f\u2009\u2007 "
_SPACE_GROUPED = re.compile(r"^\d{1,3}(?: \d{3})+(?:[.,]\d+)?$")
_SCI = re.compile(r"^\d+(?:\.\d+)?e[+-]?\d+$")
_PLAIN = re.compile(r"^\d+$")
_SIMPLE = re.compile(r"^(\d+)(?:([.,])(\d+))?$")
_HAS_SPACE = re.compile(f"[{_SPACE_CHARS}]")
_SPACE_RUN = re.compile(f"[{_SPACE_CHARS}]+")


def is_missing(value: Any) -> bool:
    """None, blank or a "no data" mark (``-``, ``..``, ``x``, ...); NaN floats too."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().lower() in MISSING_MARKS
    return False


@dataclass(frozen=True, slots=True)
class NumberText:
    """A text number read under both conventions.

    Attributes:
        comma: the value with ``,`` as decimal separator (``.`` grouping), None if not valid that way.
        dot: the value with ``.`` as decimal separator (``,`` grouping), None if not valid that way.
        percent: the text ended with ``%`` (the value stays in percent).
    """

    comma: float | None
    dot: float | None
    percent: bool

    @property
    def evidence(self) -> str | None:
        """``","`` or ``"."`` when only that convention reads it; None otherwise."""
        if self.comma is not None and self.dot is None:
            return ","
        if self.dot is not None and self.comma is None:
            return "."
        return None

    @property
    def ambiguous(self) -> bool:
        return self.comma is not None and self.dot is not None and self.comma != self.dot

    def value(self, decimal: str) -> float | None:
        return self.comma if decimal == "," else self.dot


def _under(t: str, dec: str) -> float | None:
    group = "." if dec == "," else ","
    if t.count(dec) > 1:
        return None
    int_part, _, frac = t.partition(dec)
    if dec in t and not _PLAIN.match(frac):
        return None
    if group in int_part:
        parts = int_part.split(group)
        if not (1 <= len(parts[0]) <= 3 and parts[0].isdigit() and all(len(p) == 3 and p.isdigit() for p in parts[1:])):
            return None
        int_part = "".join(parts)
    elif int_part == "" and dec in t:
        int_part = "0"
    if not _PLAIN.match(int_part):
        return None
    v = float(f"{int_part}.{frac}" if frac else int_part)
    return v if abs(v) <= _MAX_ABS else None


def read_number_text(text: str) -> NumberText | None:
    """Read a text number; None when it is not one (the caller reports the cell).

    ``"1.234,5"`` -> comma=1234.5, dot=None; ``"1.234"`` -> comma=1234, dot=1.234 (ambiguous);
    ``"5,2%"`` -> comma=5.2, percent; ``"−3"`` (Unicode minus) -> -3.
    """
    t = text.strip()
    percent = t.endswith("%")
    if percent:
        t = t[:-1].rstrip()
    sign = 1.0
    if t[:1] in ("-", "+", "\u2212"):
        sign = -1.0 if t[0] != "+" else 1.0
        t = t[1:].lstrip()
    if not t:
        return None
    if m := _SIMPLE.match(t):  # the common case: digits with at most one separator
        i, sep, f = m.groups()
        if sep is None:
            v = sign * float(i)
            return NumberText(v, v, percent) if abs(v) <= _MAX_ABS else None
        v_dec = sign * float(f"{i}.{f}")
        if abs(v_dec) > _MAX_ABS:
            return None
        if len(f) == 3 and len(i) <= 3 and i[0] != "0":  # "1.234": a decimal or a thousands separator
            v_group = sign * float(i + f)
            return NumberText(v_dec, v_group, percent) if sep == "," else NumberText(v_group, v_dec, percent)
        return NumberText(v_dec, None, percent) if sep == "," else NumberText(None, v_dec, percent)
    if _HAS_SPACE.search(t):
        t = _SPACE_RUN.sub(" ", t)
        if not _SPACE_GROUPED.match(t):
            return None
        t = t.replace(" ", "")
        # space grouping: the remaining separator, if any, is the decimal one
        if "," in t:
            w = _under(t, ",")
            return None if w is None else NumberText(sign * w, None, percent)
        if "." in t:
            w = _under(t, ".")
            return None if w is None else NumberText(None, sign * w, percent)
    low = t.lower()
    if _SCI.match(low):
        v = float(low)
        return NumberText(None, sign * v, percent) if math.isfinite(v) and abs(v) <= _MAX_ABS else None
    comma, dot = _under(t, ","), _under(t, ".")
    if comma is None and dot is None:
        return None
    if comma is not None and dot is not None and comma == dot:
        return NumberText(sign * comma, sign * dot, percent)
    # "0,123" / "0.123" cannot be grouping: a leading zero group is never written
    if t.startswith("0") and len(t) > 1 and t[1] in ",." and comma is not None and dot is not None:
        return NumberText(sign * comma, None, percent) if t[1] == "," else NumberText(None, sign * dot, percent)
    return NumberText(
        None if comma is None else sign * comma,
        None if dot is None else sign * dot,
        percent,
    )
