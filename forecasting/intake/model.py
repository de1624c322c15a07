"""Options, limits, results and the error of :mod:`forecasting.intake` (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from ..errors import ForecastingError

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
]

Frequency = Literal["M", "Q", "Y"]
Decimal = Literal[",", "."]


class Layout(StrEnum):
    """How a table holds its observations.

    * ``LONG``: one series, one row per period (``Kỳ | Giá trị``, ``period,value``).
    * ``LONG_MULTI``: several series, one row per (indicator, period) (``Mã | Kỳ | Giá trị``, ``unique_id,ds,y``).
    * ``WIDE``: a report ("biểu"): one row per indicator, periods as columns (``Chỉ tiêu | Tháng 1 | Tháng 2``).
    """

    LONG = "long"
    LONG_MULTI = "long_multi"
    WIDE = "wide"


@dataclass(frozen=True)
class IntakeLimits:
    """Input size caps, checked before the work they protect (the service may expose them as settings).

    Attributes:
        max_bytes: largest accepted file, bytes.
        max_rows: most rows in the file or the read sheet (title and note rows count).
        max_cells: most cells (rows x columns) in the file or the read sheet.
        max_xlsx_uncompressed: largest total of the uncompressed sizes a workbook's zip declares, bytes
            (checked before the workbook is opened: a zip bomb is refused at once).
        max_xlsx_entries: most files inside a workbook's zip.
        max_problems: most problems listed in an error (and warnings in a result); the total is still counted.
    """

    max_bytes: int = 32 * 1024 * 1024
    max_rows: int = 200_000
    max_cells: int = 4_000_000
    max_xlsx_uncompressed: int = 256 * 1024 * 1024
    max_xlsx_entries: int = 2_000
    max_problems: int = 50


DEFAULT_LIMITS = IntakeLimits()


@dataclass(frozen=True)
class IntakeOptions:
    """What the caller knows about the file.

    Attributes:
        layout: force a layout; None detects it.
        frequency: the expected frequency ``M``/``Q``/``Y``; periods of another kind are errors (in a wide
            report, columns of another kind are skipped with a warning). None infers it.
        decimal: the decimal separator, ``","`` (vi-VN, ``1.234,5``) or ``"."`` (en-US, ``1,234.5``); None
            infers it from the file as a whole.
        sheet: the workbook sheet to read; None takes the first sheet with a recognisable header.
        year: the year of period columns written without one (``Tháng 1``, ``Quý I``) when neither the
            column, a year column nor the title says it.
        catalogue: known indicators as ``(code, name)`` pairs; rows of a wide report (and indicators of a
            long multi-series file) are matched to them by code or name, ignoring case, diacritics and
            extra spaces. Empty: codes are taken as written.
        limits: input size caps.
    """

    layout: Layout | None = None
    frequency: Frequency | None = None
    decimal: Decimal | None = None
    sheet: str | None = None
    year: int | None = None
    catalogue: tuple[tuple[str, str], ...] = ()
    limits: IntakeLimits = DEFAULT_LIMITS


@dataclass(frozen=True)
class IntakeProblem:
    """One problem (in an error) or warning (in a result), in Vietnamese and English.

    Attributes:
        row: 1-based row number as the spreadsheet shows it (CSV: line number), or None for the whole file.
        column: the column's header as written (or its letter when it has none), or None.
        value: the offending cell as text, or None.
        vi, en: what is wrong.
        fix_vi, fix_en: what to do about it ("" when nothing needs doing).
    """

    row: int | None
    column: str | None
    value: str | None
    vi: str
    en: str
    fix_vi: str = ""
    fix_en: str = ""

    def _where(self, vi: bool) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"{'dòng' if vi else 'row'} {self.row}")
        if self.column:
            parts.append(f"{'cột' if vi else 'column'} {self.column!r}")
        head = ", ".join(parts)
        if self.value is not None:
            head = f"{head}: {self.value!r}" if head else repr(self.value)
        return head

    def text(self, lang: Literal["vi", "en"] = "vi") -> str:
        """One line, e.g. "dòng 12, cột 'Giá trị': '1.234,5' — ... Hãy chọn decimal=','"."""
        vi = lang == "vi"
        where = self._where(vi)
        msg = self.vi if vi else self.en
        fix = self.fix_vi if vi else self.fix_en
        out = f"{where} — {msg}" if where else msg
        return f"{out}. {fix}" if fix else out

    def __str__(self) -> str:
        return self.text("vi")

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "vi": self.vi,
            "en": self.en,
            "fix_vi": self.fix_vi,
            "fix_en": self.fix_en,
            "text_vi": self.text("vi"),
            "text_en": self.text("en"),
        }


class IntakeError(ForecastingError):
    """The file cannot be read as observations. All or nothing: no observation comes back.

    Attributes:
        code: machine-readable kind: ``invalid_file`` (rows with problems), ``too_large``, ``not_utf8``,
            ``unsupported_format``, ``no_header``, ``empty_file``.
        problems: the first ``max_problems`` problems, in file order.
        total: how many problems were found in all.
        message_vi, message_en: one-line summary.
    """

    def __init__(
        self,
        message_vi: str,
        message_en: str,
        problems: list[IntakeProblem] | None = None,
        *,
        code: str = "invalid_file",
        total: int | None = None,
        max_problems: int = DEFAULT_LIMITS.max_problems,
    ) -> None:
        probs = list(problems or [])
        self.code = code
        self.total = total if total is not None else len(probs)
        self.problems: list[IntakeProblem] = probs[:max_problems]
        self.message_vi = message_vi
        self.message_en = message_en
        shown = "; ".join(p.text("vi") for p in self.problems[:5])
        more = self.total - min(5, len(self.problems))
        tail = f" (và {more} lỗi khác)" if more > 0 else ""
        super().__init__(f"{message_vi}: {shown}{tail}" if shown else message_vi)

    @property
    def detail(self) -> dict[str, Any]:
        """JSON-ready detail for the API's error body."""
        return {
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "total": self.total,
            "shown": len(self.problems),
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass(frozen=True)
class ColumnRole:
    """Which column was taken as what.

    Attributes:
        index: 0-based column index; letter: its spreadsheet letter (``A``, ``B``, ...).
        header: the header cell as written (NFC), "" when blank.
        role: ``period``, ``year``, ``month``, ``quarter``, ``value``, ``code``, ``name``, ``unit``,
            ``ignored`` (recognised, not used: STT, notes), ``skipped`` (a wide report's column that is not a
            period, or of another frequency) or ``unknown``.
        period: for a wide report's period column, the ISO period it holds (``2024-01``, ``2024-Q1``,
            ``2024``); None otherwise (and for period columns whose year comes from a year column).
    """

    index: int
    letter: str
    header: str
    role: str
    period: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "letter": self.letter,
            "header": self.header,
            "role": self.role,
            "period": self.period,
        }


@dataclass(frozen=True)
class IntakeObservation:
    """One observation.

    Attributes:
        code: the indicator's code (catalogue code when matched; as written otherwise), None in a
            one-series (``LONG``) file.
        period: ISO period: ``2024-01`` (M), ``2024-Q1`` (Q), ``2024`` (Y), as the store keeps them.
        value: the number, float (percentages stay in percent: ``5,2%`` -> 5.2).
        row: 1-based row of the cell; column: its header.
    """

    code: str | None
    period: str
    value: float
    row: int
    column: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "period": self.period, "value": self.value, "row": self.row, "column": self.column}


@dataclass(frozen=True)
class UnmatchedRow:
    """A row whose indicator is not in the catalogue (or matches several entries).

    Attributes:
        row: 1-based row number; code, name: as written ("" when absent); n_values: numbers it holds.
        reason_vi, reason_en: why it did not match.
    """

    row: int
    code: str
    name: str
    n_values: int
    reason_vi: str
    reason_en: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "code": self.code,
            "name": self.name,
            "n_values": self.n_values,
            "reason_vi": self.reason_vi,
            "reason_en": self.reason_en,
        }


@dataclass(frozen=True)
class IntakeResult:
    """What was read.

    Attributes:
        layout: the detected (or forced) layout.
        file_format: ``csv`` or ``xlsx``.
        sheet: the sheet read (None for CSV); sheets: every sheet of the workbook.
        header_row: 1-based row of the header (the lower one of a two-row header).
        columns: the column mapping.
        frequency: ``M``, ``Q`` or ``Y``.
        decimal: the decimal separator used for text numbers, None when no cell needed one.
        unit: the unit from a ``ĐVT``/``Đơn vị tính`` title or column ("" when none; informational).
        observations: in file order (row, then column).
        warnings: the first ``max_problems`` warnings; warnings_total: how many in all.
        unmatched: catalogue misses (see :class:`UnmatchedRow`); empty without a catalogue.
        delimiter: the CSV delimiter (None for XLSX).
    """

    layout: Layout
    file_format: str
    sheet: str | None
    sheets: tuple[str, ...]
    header_row: int
    columns: tuple[ColumnRole, ...]
    frequency: Frequency
    decimal: Decimal | None
    unit: str
    observations: tuple[IntakeObservation, ...]
    warnings: tuple[IntakeProblem, ...] = ()
    warnings_total: int = 0
    unmatched: tuple[UnmatchedRow, ...] = ()
    delimiter: str | None = None

    @property
    def codes(self) -> list[str | None]:
        """Distinct codes in first-seen order."""
        return list(dict.fromkeys(o.code for o in self.observations))

    def by_code(self) -> dict[str | None, list[tuple[str, float]]]:
        """``{code: [(period, value), ...]}`` in file order."""
        out: dict[str | None, list[tuple[str, float]]] = {}
        for o in self.observations:
            out.setdefault(o.code, []).append((o.period, o.value))
        return out

    def one_series(self, code: str | None = None) -> list[tuple[str, float]]:
        """The ``(period, value)`` pairs of one indicator, for a route that stores one indicator.

        A one-series file gives all its rows; otherwise ``code`` (as matched to the catalogue, or as written)
        picks the indicator, and may be left out when the file holds exactly one.

        Raises:
            IntakeError: ``wrong_indicator`` when the file holds no rows for ``code`` or several indicators.
        """
        groups = self.by_code()
        if self.layout == Layout.LONG:
            return groups.get(None, [])
        if code is not None and code in groups:
            return groups[code]
        if code is None and len(groups) == 1:
            return next(iter(groups.values()))
        have = ", ".join(str(c) for c in groups)
        if code is None:
            vi, en = f"tệp có nhiều chỉ tiêu ({have})", f"the file holds several indicators ({have})"
        else:
            vi, en = f"tệp không có số liệu của chỉ tiêu '{code}' (có: {have})", f"no rows for '{code}' (has: {have})"
        raise IntakeError(
            vi,
            en,
            [
                IntakeProblem(
                    None,
                    None,
                    None,
                    vi,
                    en,
                    "Tải tệp nhiều chỉ tiêu lên trang nhập theo danh mục, hoặc giữ lại dòng của chỉ tiêu này",
                    "Upload a multi-indicator file to the catalogue-level import, or keep only this indicator's rows",
                )
            ],
            code="wrong_indicator",
        )

    def to_frame(self, default_id: str = "series") -> Any:
        """A pandas DataFrame ``unique_id, ds, y`` (the CLI's long format); ``default_id`` names a one-series
        file's series."""
        import pandas as pd

        return pd.DataFrame(
            {
                "unique_id": [default_id if o.code is None else o.code for o in self.observations],
                "ds": [o.period for o in self.observations],
                "y": [o.value for o in self.observations],
            }
        )

    def to_dict(self, max_observations: int | None = None) -> dict[str, Any]:
        """JSON-ready summary for a dry run; ``max_observations`` caps the listed observations (the count
        is always complete)."""
        obs = self.observations if max_observations is None else self.observations[:max_observations]
        return {
            "layout": self.layout.value,
            "file_format": self.file_format,
            "sheet": self.sheet,
            "sheets": list(self.sheets),
            "header_row": self.header_row,
            "delimiter": self.delimiter,
            "columns": [c.to_dict() for c in self.columns],
            "frequency": self.frequency,
            "decimal": self.decimal,
            "unit": self.unit,
            "codes": self.codes,
            "n_observations": len(self.observations),
            "observations": [o.to_dict() for o in obs],
            "warnings": [w.to_dict() for w in self.warnings],
            "warnings_total": self.warnings_total,
            "unmatched": [u.to_dict() for u in self.unmatched],
        }
