"""Validated indicator series and the parsing of observations (DataFrame, CSV bytes, XLSX bytes).

Periods are written ``YYYY-MM`` (monthly, ``M``), ``YYYY-Qn`` (quarterly, ``Q``), ``YYYY`` (yearly, ``Y``), or
plain integers (an index, ``I``; with ``freq="M"``/``"Q"`` an integer index keeps that season length). Dates
``YYYY-MM-DD`` (and spreadsheet dates) are accepted and mapped to their month, quarter or year.

Validation is all-or-nothing: every row is checked, and either a fully valid object comes back or a
:class:`~forecasting.errors.SeriesError` lists every problem with its line (header = line 1, first data row =
line 2, also for DataFrames) and column. Rules:

* missing column, empty input, unparseable period, text or blank in the value column, non-finite value,
  duplicate period, periods of different frequencies: error;
* gaps (missing periods between the first and last): error by default; ``on_gap="interpolate"`` fills
  them linearly and records them in :attr:`Series.imputed` (the documented fallback);
* fewer than ``min_length`` observations: error.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from .errors import RowProblem, SeriesError

__all__ = [
    "Series",
    "parse_period",
    "parse_observations",
    "read_long",
    "series_from_values",
]

FREQS = ("M", "Q", "Y", "I")
SEASON = {"M": 12, "Q": 4, "Y": 1, "I": 1}

_RE_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_RE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")
_RE_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")
_RE_YEAR = re.compile(r"^(\d{4})$")
_RE_INT = re.compile(r"^[+-]?\d+$")
_MAX_ABS = 1e300


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


@dataclass(frozen=True)
class Series:
    """One validated series with regular periods.

    Attributes:
        unique_id: identifier (NFC-normalised).
        freq: ``M``, ``Q``, ``Y`` or ``I``.
        start: ordinal of the first period: ``year*12 + month-1`` (M), ``year*4 + quarter-1`` (Q),
            ``year`` (Y),
            or the integer index (I, and M/Q when ``calendar`` is False).
        values: observations, float64, shape (n,), finite.
        calendar: True when periods are calendar periods, False for an integer index.
        imputed: True where a gap was filled by interpolation, shape (n,).
        season_length: 12 for M, 4 for Q, 1 otherwise (unless given).
        nonnegative: the quantity cannot be negative (spending, arrivals, revenue): its forecasts and
            intervals stay at or above zero (:class:`~forecasting.intervals.PredictiveDistribution`), and a
            negative value is refused.
    """

    unique_id: str
    freq: str
    start: int
    values: np.ndarray
    calendar: bool = True
    imputed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    season_length: int = 0
    nonnegative: bool = False

    def __post_init__(self) -> None:
        vals = np.asarray(self.values, dtype=float).ravel()
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)
        imp = self.imputed if self.imputed.shape[0] == vals.shape[0] else np.zeros(vals.shape[0], dtype=bool)
        imp = np.asarray(imp, dtype=bool)
        imp.setflags(write=False)
        object.__setattr__(self, "imputed", imp)
        if self.freq not in FREQS:
            raise SeriesError(f"freq must be one of {FREQS}. Got: {self.freq!r}")
        if self.season_length <= 0:
            object.__setattr__(self, "season_length", SEASON[self.freq])
        if self.freq == "I":
            object.__setattr__(self, "calendar", False)
        if self.nonnegative and vals.shape[0] and float(np.min(vals)) < 0:
            bad = np.flatnonzero(vals < 0)
            problems = [
                RowProblem(None, "value", f"period {self.label(self.start + int(i))}: {vals[i]:g} is below zero")
                for i in bad
            ]
            raise SeriesError(
                f"series {self.unique_id!r} is declared non-negative but has {bad.shape[0]} negative values"
                " (correct them, or do not declare it non-negative)",
                problems,
            )

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def ordinals(self) -> np.ndarray:
        """Ordinals of the observed periods, shape (n,)."""
        return np.arange(self.start, self.start + len(self), dtype=np.int64)

    def label(self, ordinal: int) -> str:
        """Period label of an ordinal: '2024-03', '2024-Q1', '2024' or '17'."""
        if not self.calendar:
            return str(int(ordinal))
        if self.freq == "M":
            return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"
        if self.freq == "Q":
            return f"{ordinal // 4:04d}-Q{ordinal % 4 + 1}"
        return f"{int(ordinal):04d}"

    @property
    def periods(self) -> list[str]:
        return [self.label(o) for o in self.ordinals]

    def future_periods(self, h: int) -> list[str]:
        """Labels of the ``h`` periods after the last observation."""
        end = self.start + len(self)
        return [self.label(o) for o in range(end, end + h)]

    def months(self, h: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """(years, months 1-12) of history + ``h`` future periods for monthly calendar series, else None."""
        if self.freq != "M" or not self.calendar:
            return None
        o = np.arange(self.start, self.start + len(self) + h)
        return o // 12, o % 12 + 1

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``unique_id, ds, y`` (ds = period labels)."""
        return pd.DataFrame({"unique_id": self.unique_id, "ds": self.periods, "y": self.values})


# -- periods ---------------------------------------------------------------------------------------
def _freq_of_month_step(months: int) -> str | None:
    return {1: "M", 3: "Q", 12: "Y"}.get(months)


def parse_period(value: Any, freq: str | None = None) -> tuple[str, int, bool]:
    """Parse one period. Returns (freq, ordinal, calendar).

    ``freq`` (``M``/``Q``/``Y``/``I`` or None) says what is expected: a date is mapped to its month/quarter/
    year, an integer is an index unless ``freq == "Y"`` and it looks like a year. Raises ``ValueError`` with
    the expected forms.
    """
    if freq is not None and freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}. Got: {freq!r}")
    if isinstance(value, bool):
        raise ValueError(f"expected a period (YYYY-MM, YYYY-Qn, YYYY or an integer). Got: {value!r}")
    if isinstance(value, datetime | date | pd.Timestamp):
        y, mth = value.year, value.month
        return _from_ym(y, mth, freq, str(value))
    if isinstance(value, int | np.integer):
        return _from_int(int(value), freq)
    if isinstance(value, float | np.floating):
        if math.isfinite(value) and float(value).is_integer():
            return _from_int(int(value), freq)
        raise ValueError(f"expected a period (YYYY-MM, YYYY-Qn, YYYY or an integer). Got: {value!r}")
    text = _nfc(str(value))
    if m := _RE_QUARTER.match(text):
        y, q = int(m.group(1)), int(m.group(2))
        if freq not in (None, "Q"):
            raise ValueError(f"expected a {_FREQ_NAME[freq]} period. Got: quarter {text!r}")
        return "Q", y * 4 + q - 1, True
    if m := _RE_MONTH.match(text):
        y, mth = int(m.group(1)), int(m.group(2))
        if not 1 <= mth <= 12:
            raise ValueError(f"month must be 01-12. Got: {text!r}")
        return _from_ym(y, mth, freq if freq is not None else "M", text)
    if m := _RE_DATE.match(text):
        y, mth, d = (int(g) for g in m.groups())
        try:
            date(y, mth, d)
        except ValueError as e:
            raise ValueError(f"not a valid date: {text!r} ({e})") from e
        return _from_ym(y, mth, freq, text)
    if _RE_INT.match(text):
        return _from_int(int(text), freq)
    raise ValueError(f"expected a period YYYY-MM, YYYY-Qn, YYYY, a date YYYY-MM-DD or an integer. Got: {text!r}")


_FREQ_NAME = {"M": "monthly", "Q": "quarterly", "Y": "yearly", "I": "integer-index"}


def _from_ym(y: int, mth: int, freq: str | None, text: str) -> tuple[str, int, bool]:
    if not 1000 <= y <= 9999:
        raise ValueError(f"year out of range. Got: {text!r}")
    if freq in (None, "M"):
        return "M", y * 12 + mth - 1, True
    if freq == "Q":
        return "Q", y * 4 + (mth - 1) // 3, True
    if freq == "Y":
        return "Y", y, True
    raise ValueError(f"expected an integer index. Got: date {text!r}")


def _from_int(v: int, freq: str | None) -> tuple[str, int, bool]:
    if freq == "Y" and 1000 <= v <= 9999:
        return "Y", v, True
    return (freq or "I"), v, False


# -- values ----------------------------------------------------------------------------------------
def _parse_value(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number. Got: {value!r}")
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
    else:
        text = _nfc(str(value)) if value is not None else ""
        if text == "":
            raise ValueError("missing value (leave the row out instead of leaving the value blank)")
        try:
            v = float(text.replace(" ", "").replace("\u00a0", ""))
        except ValueError as e:
            raise ValueError(f"expected a number. Got: text {text!r}") from e
    if not math.isfinite(v) or abs(v) > _MAX_ABS:
        raise ValueError(f"expected a finite number. Got: {value!r}")
    return v


# -- building --------------------------------------------------------------------------------------
def _build(
    uid: str,
    rows: list[tuple[int | None, str, int, bool, float]],
    on_gap: str,
    min_length: int,
    problems: list[RowProblem],
    season_length: int,
    nonnegative: bool = False,
) -> Series | None:
    """rows: (line, freq, ordinal, calendar, value). Appends problems; returns None if any."""
    before = len(problems)
    if not rows:
        problems.append(RowProblem(None, None, f"series {uid!r}: no observations"))
        return None
    freqs = {r[1] for r in rows}
    cals = {r[3] for r in rows}
    if len(freqs) > 1 or len(cals) > 1:
        first = rows[0]
        for line, f, _, c, _ in rows:
            if f != first[1] or c != first[3]:
                problems.append(
                    RowProblem(
                        line,
                        "period",
                        f"series {uid!r} mixes period kinds: {_FREQ_NAME[first[1]]} and {_FREQ_NAME[f]}",
                    )
                )
        return None
    seen: dict[int, int | None] = {}
    for line, _, o, _, _ in rows:
        if o in seen:
            problems.append(RowProblem(line, "period", f"series {uid!r}: duplicate period (first at line {seen[o]})"))
        else:
            seen[o] = line
    if len(problems) > before:
        return None
    rows = sorted(rows, key=lambda r: r[2])
    freq, cal = rows[0][1], rows[0][3]
    ords = np.array([r[2] for r in rows], dtype=np.int64)
    vals = np.array([r[4] for r in rows], dtype=float)
    full = np.arange(ords[0], ords[-1] + 1)
    imputed = np.zeros(full.shape[0], dtype=bool)
    if full.shape[0] != ords.shape[0]:
        missing = np.setdiff1d(full, ords)
        tmp = Series(uid, freq, int(ords[0]), np.zeros(1), cal)
        if on_gap != "interpolate":
            labels = ", ".join(tmp.label(int(o)) for o in missing[:12])
            more = f" and {missing.shape[0] - 12} more" if missing.shape[0] > 12 else ""
            problems.append(
                RowProblem(
                    None,
                    "period",
                    f"series {uid!r} has gaps: missing {labels}{more} (send them, or interpolate)",
                )
            )
            return None
        vals = np.interp(full, ords, vals)
        imputed = ~np.isin(full, ords)
    if full.shape[0] < min_length:
        problems.append(
            RowProblem(
                None,
                None,
                f"series {uid!r} too short: need at least {min_length} observations. Got: {full.shape[0]}",
            )
        )
        return None
    if nonnegative:
        for line, _, _, _, v in rows:
            if v < 0:
                problems.append(
                    RowProblem(line, None, f"series {uid!r} cannot be negative (non-negative quantity). Got: {v:g}")
                )
        if len(problems) > before:
            return None
    return Series(uid, freq, int(ords[0]), vals, cal, imputed, season_length, nonnegative)


def _check_args(on_gap: str, freq: str | None) -> None:
    if on_gap not in ("error", "interpolate"):
        raise SeriesError(f"on_gap must be 'error' or 'interpolate'. Got: {on_gap!r}")
    if freq is not None and freq not in FREQS:
        raise SeriesError(f"freq must be one of {FREQS} or None. Got: {freq!r}")


def series_from_values(
    unique_id: str,
    values: Sequence[float | None],
    freq: str = "I",
    start: Any = 0,
    *,
    min_length: int = 1,
    nonnegative: bool = False,
) -> Series:
    """Series from consecutive values and the first period (stateless API: ``{"id", "start", "values"}``).

    ``values`` entries must be finite numbers; ``None`` / NaN / text are errors naming their 0-based index.
    ``nonnegative``: the quantity cannot be negative (see :attr:`Series.nonnegative`); negative entries are
    errors.
    """
    _check_args("error", freq)
    problems: list[RowProblem] = []
    try:
        f, o, cal = parse_period(start, freq)
    except ValueError as e:
        raise SeriesError(f"series {unique_id!r}: bad start", [RowProblem(None, "start", str(e))]) from e
    vals: list[float] = []
    for i, v in enumerate(values):
        try:
            vals.append(_parse_value(v))
        except ValueError as e:
            problems.append(RowProblem(None, f"values[{i}]", str(e)))
            continue
        if nonnegative and vals[-1] < 0:
            problems.append(RowProblem(None, f"values[{i}]", f"cannot be negative (non-negative quantity). Got: {v}"))
    if not vals and not problems:
        problems.append(RowProblem(None, "values", "no observations"))
    elif len(vals) < min_length and not problems:
        problems.append(
            RowProblem(None, "values", f"too short: need at least {min_length} observations. Got: {len(vals)}")
        )
    if problems:
        raise SeriesError(f"invalid series {unique_id!r}", problems)
    return Series(_nfc(str(unique_id)), f, o, np.array(vals), cal, nonnegative=nonnegative)


# -- tables ----------------------------------------------------------------------------------------
def _normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    df.columns = [_nfc(str(c)).lower() for c in df.columns]
    return df


def _read_csv_bytes(data: bytes) -> pd.DataFrame:
    if not data or not data.strip():
        raise SeriesError("empty file", [RowProblem(1, None, "the file is empty; expected a header line and rows")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SeriesError("file is not UTF-8 text", [RowProblem(None, None, f"cannot decode as UTF-8 ({e})")]) from e
    first = text.splitlines()[0] if text.splitlines() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    header, body = rows[0], rows[1:]
    problems = [
        RowProblem(i + 2, None, f"expected {len(header)} fields. Got: {len(r)}")
        for i, r in enumerate(body)
        if r and len(r) != len(header)
    ]
    if problems:
        raise SeriesError("malformed CSV", problems)
    # keep line numbers: blank lines are skipped but counted
    index = [i + 2 for i, r in enumerate(body) if r and any(c.strip() for c in r)]
    body = [r for r in body if r and any(c.strip() for c in r)]
    return pd.DataFrame(body, columns=header, index=pd.Index(index, name="line"), dtype=object)


def _read_xlsx_bytes(data: bytes) -> pd.DataFrame:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not data:
        raise SeriesError("empty file", [RowProblem(1, None, "the file is empty; expected an XLSX workbook")])
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), data_only=False, read_only=False)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as e:
        raise SeriesError("not a readable XLSX workbook", [RowProblem(None, None, f"{type(e).__name__}: {e}")]) from e
    ws = wb.worksheets[0]
    problems: list[RowProblem] = []
    for rng in ws.merged_cells.ranges:
        problems.append(RowProblem(rng.min_row, None, f"merged cells {rng.coord} are not allowed; unmerge them"))
    rows: list[list[Any]] = []
    for r_idx, row in enumerate(ws.iter_rows(), start=1):
        vals = []
        for cell in row:
            if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                problems.append(RowProblem(r_idx, cell.coordinate, "formulas are not allowed; paste values instead"))
            vals.append(cell.value)
        rows.append(vals)
    if problems:
        raise SeriesError("XLSX refused", problems)
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()
    if not rows:
        raise SeriesError("empty file", [RowProblem(1, None, "the sheet is empty; expected a header row and rows")])
    header = [("" if v is None else str(v)) for v in rows[0]]
    body, index = [], []
    for i, r in enumerate(rows[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in r):
            continue
        body.append(list(r) + [None] * (len(header) - len(r)))
        index.append(i)
    return pd.DataFrame(body, columns=header, index=pd.Index(index, name="line"), dtype=object)


def _to_frame(data: pd.DataFrame | bytes, file_format: str | None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        df = data.reset_index(drop=True)
        df.index = pd.Index(np.arange(2, 2 + len(df)), name="line")
        return df
    if not isinstance(data, bytes | bytearray):
        raise SeriesError(f"expected a DataFrame or file bytes. Got: {type(data).__name__}")
    fmt = file_format or ("xlsx" if bytes(data[:4]) == b"PK\x03\x04" else "csv")
    if fmt == "xlsx":
        return _read_xlsx_bytes(bytes(data))
    if fmt == "csv":
        return _read_csv_bytes(bytes(data))
    raise SeriesError(f"file_format must be 'csv' or 'xlsx'. Got: {file_format!r}")


def _require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SeriesError(
            f"missing columns for {what}",
            [RowProblem(1, c, f"column {c!r} is required; header has {list(df.columns)}") for c in missing],
        )
    if len(df) == 0:
        raise SeriesError("empty input", [RowProblem(2, None, "no data rows after the header")])


def _is_date(p: Any) -> bool:
    return isinstance(p, datetime | date | pd.Timestamp) or bool(_RE_DATE.match(_nfc(str(p))))


def _rows(
    df: pd.DataFrame, period_col: str, value_col: str, freq: str | None, problems: list[RowProblem]
) -> list[tuple[int | None, str, int, bool, float]]:
    """Parsed rows (line, freq, ordinal, calendar, value); when ``freq`` is None and every period is a full
    date, the frequency is inferred from their spacing (1, 3 or 12 months)."""
    out: list[tuple[int | None, str, int, bool, float]] = []
    for line, p, v in zip(df.index, df[period_col], df[value_col], strict=True):
        ok = True
        try:
            f, o, cal = parse_period(p, freq)
        except ValueError as e:
            problems.append(RowProblem(int(line), period_col, str(e)))
            ok = False
        try:
            val = _parse_value(v)
        except ValueError as e:
            problems.append(RowProblem(int(line), value_col, str(e)))
            ok = False
        if ok:
            out.append((int(line), f, o, cal, val))
    if freq is None and len(df) and all(_is_date(p) for p in df[period_col]):
        out = _infer_freq(out, None)
    return out


def _infer_freq(
    rows: list[tuple[int | None, str, int, bool, float]], freq: str | None
) -> list[tuple[int | None, str, int, bool, float]]:
    """Dates parsed as months may be quarterly or yearly: infer from the spacing when freq was not given."""
    if freq is not None or not rows or any(r[1] != "M" for r in rows):
        return rows
    ords = sorted({r[2] for r in rows})
    if len(ords) < 2:
        return rows
    step = int(np.gcd.reduce(np.diff(ords)))
    f = _freq_of_month_step(step)
    if f in (None, "M"):
        return rows
    if f == "Q":
        return [(ln, "Q", (o // 12) * 4 + (o % 12) // 3, c, v) for ln, _, o, c, v in rows]
    return [(ln, "Y", o // 12, c, v) for ln, _, o, c, v in rows]


def parse_observations(
    data: pd.DataFrame | bytes,
    *,
    freq: str | None = None,
    unique_id: str = "series",
    file_format: str | None = None,
    on_gap: str = "error",
    min_length: int = 1,
    nonnegative: bool = False,
) -> Series:
    """Parse one indicator's observations with columns ``period`` and ``value``.

    Args:
        data: a DataFrame, CSV bytes (UTF-8, ``,`` or ``;``) or XLSX bytes (first sheet; formulas and merged
            cells refused).
        freq: the indicator's frequency (``M``/``Q``/``Y``/``I``); None infers it from the periods.
        unique_id: identifier of the returned series.
        file_format: ``csv`` or ``xlsx``; None sniffs the bytes.
        on_gap: ``error`` or ``interpolate`` (see module docstring).
        min_length: fewest observations accepted.
        nonnegative: the quantity cannot be negative (see :attr:`Series.nonnegative`); negative values are
            row problems.

    Raises:
        SeriesError: with every row-level problem.
    """
    _check_args(on_gap, freq)
    df = _normalise_columns(_to_frame(data, file_format))
    _require(df, ("period", "value"), "observations")
    problems: list[RowProblem] = []
    rows = _rows(df, "period", "value", freq, problems)
    if problems:
        raise SeriesError("invalid observations", problems)
    s = _build(_nfc(unique_id), rows, on_gap, min_length, problems, 0, nonnegative)
    if problems or s is None:
        raise SeriesError("invalid observations", problems)
    return s


def read_long(
    data: pd.DataFrame | bytes,
    *,
    freq: str | None = None,
    file_format: str | None = None,
    on_gap: str = "error",
    min_length: int = 1,
    nonnegative: bool = False,
) -> list[Series]:
    """Parse long format ``unique_id, ds, y`` (the CLI and the bulk input) into series, in first-seen order.

    ``ds`` is a period/date or an integer index; with ``freq`` ``M``/``Q`` and integer ``ds`` the series keep
    that season length. ``nonnegative`` declares every series non-negative (see :attr:`Series.nonnegative`).
    Raises :class:`SeriesError` listing every problem of every series.
    """
    _check_args(on_gap, freq)
    df = _normalise_columns(_to_frame(data, file_format))
    _require(df, ("unique_id", "ds", "y"), "long format")
    problems: list[RowProblem] = []
    ids = [_nfc("" if u is None or (isinstance(u, float) and math.isnan(u)) else str(u)) for u in df["unique_id"]]
    for line, u in zip(df.index, ids, strict=True):
        if u == "":
            problems.append(RowProblem(int(line), "unique_id", "missing unique_id"))
    df = df.assign(unique_id=ids)
    out: list[Series] = []
    order = list(dict.fromkeys(u for u in ids if u))
    groups = {u: g for u, g in df.groupby("unique_id", sort=False)}
    parsed = {u: _rows(groups[u], "ds", "y", freq, problems) for u in order}
    for u in order:
        rows = parsed[u]
        if not rows and problems:
            continue  # its rows are already reported
        season = SEASON.get(freq or "I", 1)
        s = _build(u, rows, on_gap, min_length, problems, season if freq in ("M", "Q") else 0, nonnegative)
        if s is not None:
            out.append(s)
    if problems:
        raise SeriesError("invalid long-format input", sorted(problems, key=lambda p: p.line or 0))
    return out
