"""Bytes -> :class:`IntakeResult`: header detection, the three layouts, catalogue matching, all or nothing."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .grid import Grid, Row, detect_format, open_workbook, read_csv
from .model import (
    ColumnRole,
    Decimal,
    Frequency,
    IntakeError,
    IntakeLimits,
    IntakeObservation,
    IntakeOptions,
    IntakeProblem,
    IntakeResult,
    Layout,
    UnmatchedRow,
)
from .numbers import NumberText, is_missing, read_number_text
from .periods import Period, PeriodSyntaxError, is_serial, parse_label, parse_period, serial_to_date
from .text import cell_text, column_letter, fold, header_key, header_role, is_footer, nfc

__all__ = ["read_table", "HEADER_SCAN_ROWS"]

#: Rows searched from the top for the header (title, unit and note rows may come before it).
HEADER_SCAN_ROWS = 30

_FREQ_VI = {"M": "tháng", "Q": "quý", "Y": "năm"}
_FREQ_EN = {"M": "monthly", "Q": "quarterly", "Y": "yearly"}
_PERIODISH = ("period", "year", "month", "quarter")
_RE_TITLE_YEAR = re.compile(r"(?:^|\D)(?:nam|year)\s*(\d{4})(?!\d)")
#: Headers that make a file "English" (ambiguous '1.234' then defaults to the decimal point, as the service's
#: original ``period,value`` files were read).
_ENGLISH_HEADERS = frozenset(
    {
        "period", "value", "values", "ds", "y", "date", "time", "unique_id", "code", "indicator", "indicator code",
        "indicator_code", "series_id", "id", "name", "indicator name", "unit", "year", "month", "quarter", "note",
        "notes", "source", "no", "#",
    }
)  # fmt: skip
_RE_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_RE_UNIT = re.compile(r"^(?:don vi tinh|dvt|don vi)\s*[:.]?\s*(.+)$")


def _vi_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# -- collecting problems and warnings --------------------------------------------------------------
class _Notes:
    """Problems or warnings, capped at ``cap`` kept, all counted."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[IntakeProblem] = []
        self.total = 0

    def add(
        self,
        row: int | None,
        column: str | None,
        value: Any,
        vi: str,
        en: str,
        fix_vi: str = "",
        fix_en: str = "",
    ) -> None:
        self.total += 1
        if len(self.items) < self.cap:
            text = None if value is None else cell_text(value) if not isinstance(value, str) else value
            self.items.append(IntakeProblem(row, column, text, vi, en, fix_vi, fix_en))

    def __bool__(self) -> bool:
        return self.total > 0

    def raise_if_any(self, vi: str, en: str, limits: IntakeLimits, code: str = "invalid_file") -> None:
        if self.total:
            items = sorted(self.items, key=lambda p: p.row or 0)
            raise IntakeError(
                f"{vi} ({self.total} lỗi, không lưu gì)",
                f"{en} ({self.total} problems, nothing stored)",
                items,
                code=code,
                total=self.total,
                max_problems=limits.max_problems,
            )


def _one(vi: str, en: str, fix_vi: str, fix_en: str, *, code: str, row: int | None = None) -> IntakeError:
    return IntakeError(vi, en, [IntakeProblem(row, None, None, vi, en, fix_vi, fix_en)], code=code)


# -- header detection ------------------------------------------------------------------------------
@dataclass
class _Header:
    pos: int  # index into grid.rows of the (lower) header row
    wide: bool
    roles: dict[int, str] = field(default_factory=dict)
    labels: dict[int, Period] = field(default_factory=dict)
    unknown: dict[int, str] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    upper: int | None = None  # index of a group-header row above (years over months)
    upper_labels: dict[int, Period] = field(default_factory=dict)  # that row's period cells
    numbers: int = 0  # cells holding numbers other than years


def _classify(cells: list[Any]) -> _Header:
    h = _Header(pos=-1, wide=False)
    for j, v in enumerate(cells):
        t = cell_text(v)
        if not t:
            continue
        h.texts[j] = t
        role = header_role(t) if isinstance(v, str) else None
        if role:
            h.roles[j] = role
            continue
        p = parse_label(v) if not isinstance(v, float) or v.is_integer() else None
        if p is not None and not (isinstance(v, int | float) and p.freq != "Y"):
            h.labels[j] = p
            continue
        h.unknown[j] = t
        if _numeric(v):
            h.numbers += 1
    return h


def _is_wide(h: _Header, forced: bool) -> bool:
    if h.numbers:
        return False  # a header holds words and period labels, not values
    has_name = any(r in ("name", "code") for r in h.roles.values())
    long_roles = any(r in ("value", "period") for r in h.roles.values())
    # one period column is enough under a named indicator column ("Chỉ tiêu | Tháng 1/2024")
    if len(h.labels) < (1 if forced or (has_name and not long_roles) else 2):
        return False
    first = min(h.labels)
    return has_name or any(j < first for j in h.unknown) or (forced and first > 0)


def _is_long(h: _Header) -> bool:
    roles = list(h.roles.values())
    if not any(r in _PERIODISH for r in roles):
        return False
    if "value" in roles:
        return True
    # fallback: one period column and exactly one other, unnamed column (taken as the value)
    return len(h.unknown) == 1 and not h.labels


def _find_header(rows: list[Row], layout: Layout | None) -> _Header | None:
    want_wide = layout is None or layout == Layout.WIDE
    want_long = layout is None or layout != Layout.WIDE
    for i, (_, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        h = _classify(cells)
        h.pos = i
        if want_wide and _is_wide(h, layout == Layout.WIDE):
            h.wide = True
            return _two_level(rows, h)
        if want_long and _is_long(h):
            return h
    return None


def _two_level(rows: list[Row], h: _Header) -> _Header:
    """Years over months: a group row (``Năm 2023`` merged over ``Tháng 1``..``Tháng 12``) as the found row or
    just above it. The lower row is the header; the group row gives years and the names of columns whose
    header cell is merged down over both rows (``Chỉ tiêu``)."""
    i = h.pos
    if i + 1 < len(rows):
        low_cells = rows[i + 1][1]
        low = _classify(low_cells)
        text_labels = {j: p for j, p in low.labels.items() if not isinstance(low_cells[j], int | float)}
        if len(text_labels) >= 2 and any(p.year is None for p in text_labels.values()):
            merged = _Header(pos=i + 1, wide=True, upper=i, upper_labels=h.labels)
            merged.texts = {**h.texts, **low.texts}
            merged.roles = {j: r for j, r in {**h.roles, **low.roles}.items() if j not in text_labels}
            # an upper-row period whose lower cell is empty is a column of its own ("Cả năm 2023")
            upper_only = {j: p for j, p in h.labels.items() if j not in low.texts and p.year is not None}
            merged.labels = {**upper_only, **text_labels}
            merged.unknown = {j: t for j, t in merged.texts.items() if j not in merged.labels and j not in merged.roles}
            return merged
    if i > 0 and any(p.year is None for p in h.labels.values()):
        up = _classify(rows[i - 1][1])
        if any(p.year is not None for p in up.labels.values()):
            h.upper = i - 1
            h.upper_labels = up.labels
            for j, r in up.roles.items():
                if j not in h.texts:
                    h.roles[j] = r
                    h.texts[j] = up.texts[j]
    return h


# -- numbers ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class _Cell:
    row: int
    column: str
    raw: Any
    code: str | None
    period: Period
    text: NumberText | None = None


def _decide_decimal(
    cells: list[_Cell], forced: Decimal | None, english_header: bool, warnings: _Notes, errors: _Notes
) -> Decimal | None:
    """Read every text cell under both conventions and choose the file's decimal separator."""
    votes: Counter[str] = Counter()
    first: dict[str, _Cell] = {}
    ambiguous: list[_Cell] = []
    needs = False
    for c in cells:
        if c.text is None:
            continue
        ev = c.text.evidence
        if ev is not None:
            votes[ev] += 1
            first.setdefault(ev, c)
            needs = True
        elif c.text.ambiguous:
            ambiguous.append(c)
            needs = True
    if forced is not None:
        decimal: Decimal = forced
    elif votes:
        decimal = "," if votes[","] >= votes["."] else "."
    else:
        decimal = "." if english_header else ","
    if not needs and forced is None:
        return None
    other: Decimal = "." if decimal == "," else ","
    for c in cells:
        if c.text is not None and c.text.value(decimal) is None:
            errors.add(
                c.row,
                c.column,
                c.raw,
                f"không đọc được với dấu thập phân '{decimal}'; có phải dấu '{other}' là dấu thập phân?",
                f"cannot be read with '{decimal}' as decimal separator; is '{other}' the decimal separator?",
                f"Hãy chọn decimal='{other}', hoặc sửa ô này cho thống nhất với các ô khác",
                f"Choose decimal='{other}', or make this cell consistent with the others",
            )
    if ambiguous:
        c0 = ambiguous[0]
        v = c0.text.value(decimal) if c0.text else None
        if forced is not None:
            why_vi, why_en = f"theo tùy chọn decimal='{decimal}'", f"as decimal='{decimal}' was given"
        elif votes:
            ex = first[decimal]
            why_vi = f"vì ô khác trong tệp dùng dấu thập phân '{decimal}' (dòng {ex.row}: {cell_text(ex.raw)!r})"
            why_en = f"because another cell uses '{decimal}' as decimal separator (row {ex.row}: {cell_text(ex.raw)!r})"
        else:
            why_vi = (
                f"mặc định theo tiêu đề {'tiếng Anh' if english_header else 'tiếng Việt'}, không ô nào cho thấy quy ước"
            )
            why_en = (
                f"by default for a {'English' if english_header else 'Vietnamese'} header; no cell shows the convention"
            )
        warnings.add(
            c0.row,
            c0.column,
            c0.raw,
            f"{len(ambiguous)} ô viết như '1.234' có thể hiểu hai cách; đã đọc là {v:g} {why_vi}",
            f"{len(ambiguous)} cells written like '1.234' have two readings; read as {v:g} {why_en}",
            f"Nếu sai, hãy chọn decimal='{other}'",
            f"If that is wrong, choose decimal='{other}'",
        )
    if forced is None and votes[other] and votes[decimal]:
        ex = first[other]
        warnings.add(
            ex.row,
            ex.column,
            ex.raw,
            f"tệp trộn hai quy ước số: {votes[decimal]} ô dùng dấu thập phân '{decimal}', "
            f"{votes[other]} ô dùng '{other}'",
            f"the file mixes number conventions: {votes[decimal]} cells use '{decimal}' as decimal separator, "
            f"{votes[other]} use '{other}'",
        )
    return decimal


def _pending_value(raw: Any) -> tuple[str, Any]:
    """('missing', None) | ('number', float) | ('text', NumberText) | ('bad', None)."""
    if is_missing(raw):
        return "missing", None
    if isinstance(raw, bool):
        return "bad", None
    if isinstance(raw, int | float):
        v = float(raw)
        return ("number", v) if math.isfinite(v) else ("bad", None)
    if isinstance(raw, datetime | date):
        return "bad", None
    nt = read_number_text(str(raw))
    if nt is None:
        return "bad", None
    return "text", nt


def _bad_value(errors: _Notes, row: int, column: str, raw: Any) -> None:
    errors.add(
        row,
        column,
        raw,
        "không phải số",
        "not a number",
        "Viết số như 1.234,5 hoặc 1234,5; để trống, '-' hoặc '..' nếu không có số liệu",
        "Write a number such as 1,234.5 or 1234.5; leave it blank, '-' or '..' when there is no data",
    )


# -- the entry point -------------------------------------------------------------------------------
def read_table(
    data: bytes,
    filename: str | None = None,
    content_type: str | None = None,
    options: IntakeOptions | None = None,
) -> IntakeResult:
    """Read observations from a CSV or XLSX file as the province's offices write them.

    Args:
        data: the file's bytes (CSV in UTF-8 with or without BOM, or XLSX).
        filename: the uploaded file's name (its extension helps when the bytes do not tell).
        content_type: the upload's content type (same use).
        options: what the caller knows (expected frequency, decimal separator, sheet, catalogue, limits).

    Returns:
        the layout, sheet, header row, column mapping, frequency, number convention, observations, warnings
        and catalogue misses.

    Raises:
        IntakeError: (a ``ValueError``) with every problem found (row as the spreadsheet shows it, column,
            value, Vietnamese and English message, suggested fix), capped at ``limits.max_problems``; no
            observation is returned when any row is wrong.

    Example:
        >>> r = read_table("Kỳ;Giá trị\\nTháng 1/2024;1.234,5\\n".encode(), "bieu.csv")
        >>> r.observations[0].period, r.observations[0].value
        ('2024-01', 1234.5)
    """
    opts = options or IntakeOptions()
    _check_options(opts)
    limits = opts.limits
    if len(data) > limits.max_bytes:
        raise IntakeError(
            "tệp quá lớn",
            "file too large",
            [
                IntakeProblem(
                    None,
                    None,
                    None,
                    f"tệp {len(data) / 2**20:.1f} MiB, tối đa {limits.max_bytes / 2**20:.1f} MiB",
                    f"the file is {len(data) / 2**20:.1f} MiB, at most {limits.max_bytes / 2**20:.1f} MiB",
                    "Chia tệp thành nhiều tệp nhỏ hơn",
                    "Split the file into smaller files",
                )
            ],
            code="too_large",
        )
    if not data.strip() or not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise _one(
            "tệp rỗng",
            "the file is empty",
            "Tải lên tệp có dòng tiêu đề và số liệu",
            "Upload a file with a header row and data",
            code="empty_file",
        )
    fmt = detect_format(data, filename, content_type)
    warnings = _Notes(limits.max_problems)
    sheets: tuple[str, ...] = ()
    if fmt == "csv":
        grid = read_csv(data, limits)
        header = _find_header(grid.rows, opts.layout)
    else:
        wb = open_workbook(data, limits)
        try:
            sheets = wb.sheets
            name, header = _choose_sheet(wb, opts, warnings)
            grid = wb.read(name)
        finally:
            wb.close()
        header = _find_header(grid.rows, opts.layout) if header is not None else None
    if not grid.rows:
        raise _one(
            "tệp không có dữ liệu" + (f" (trang '{grid.sheet}')" if grid.sheet else ""),
            "the file holds no data" + (f" (sheet '{grid.sheet}')" if grid.sheet else ""),
            "Tải lên tệp có dòng tiêu đề và số liệu",
            "Upload a file with a header row and data",
            code="empty_file",
        )
    if header is None:
        raise _no_header(grid, opts)
    ctx = _Context(opts, grid, header, warnings, _Notes(limits.max_problems), fmt, sheets)
    return ctx.run()


def _check_options(opts: IntakeOptions) -> None:
    if opts.frequency not in (None, "M", "Q", "Y"):
        raise ValueError(f"frequency must be 'M', 'Q', 'Y' or None. Got: {opts.frequency!r}")
    if opts.decimal not in (None, ",", "."):
        raise ValueError(f"decimal must be ',', '.' or None. Got: {opts.decimal!r}")
    if opts.layout is not None and not isinstance(opts.layout, Layout):
        raise ValueError(f"layout must be a Layout or None. Got: {opts.layout!r}")
    if opts.year is not None and not 1900 <= opts.year <= 2100:
        raise ValueError(f"year must be in 1900-2100. Got: {opts.year!r}")


def _choose_sheet(wb: Any, opts: IntakeOptions, warnings: _Notes) -> tuple[str, _Header | None]:
    if opts.sheet is not None:
        wanted = nfc(opts.sheet)
        names = {nfc(s): s for s in wb.sheets}
        folded = {fold(s): s for s in wb.sheets}
        name = names.get(wanted) or folded.get(fold(wanted))
        if name is None:
            raise _one(
                f"không có trang '{opts.sheet}'; tệp có: {', '.join(wb.sheets)}",
                f"no sheet '{opts.sheet}'; the workbook has: {', '.join(wb.sheets)}",
                "Chọn một trong các trang trên",
                "Choose one of those sheets",
                code="no_header",
            )
        return name, _find_header(wb.peek(name, HEADER_SCAN_ROWS).rows, opts.layout)
    found: list[tuple[str, _Header]] = []
    for name in wb.sheets:
        h = _find_header(wb.peek(name, HEADER_SCAN_ROWS).rows, opts.layout)
        if h is not None:
            found.append((name, h))
    if not found:
        return wb.sheets[0], None
    name, h = found[0]
    if len(wb.sheets) > 1:
        others = [s for s, _ in found[1:]]
        more_vi = f"; các trang khác cũng có bảng số liệu: {', '.join(others)}" if others else ""
        more_en = f"; other sheets with a table: {', '.join(others)}" if others else ""
        warnings.add(
            None,
            None,
            None,
            f"tệp có {len(wb.sheets)} trang; đã đọc trang '{name}'{more_vi}",
            f"the workbook has {len(wb.sheets)} sheets; read sheet '{name}'{more_en}",
            "Chọn trang khác bằng tùy chọn sheet" if others else "",
            "Choose another with the sheet option" if others else "",
        )
    return name, h


def _no_header(grid: Grid, opts: IntakeOptions) -> IntakeError:
    for row, cells in grid.rows[:HEADER_SCAN_ROWS]:
        h = _classify(cells)
        periods = [t for j, t in h.texts.items() if h.roles.get(j) in _PERIODISH]
        others = [t for j, t in h.texts.items() if j in h.unknown]
        if periods and len(others) > 1 and opts.layout != Layout.WIDE:
            shown = ", ".join(repr(t) for t in others[:8])
            return IntakeError(
                "không biết cột nào là giá trị",
                "which column holds the values is unclear",
                [
                    IntakeProblem(
                        row,
                        None,
                        None,
                        f"có cột kỳ {periods[0]!r} nhưng không có cột 'Giá trị'; các cột khác: {shown}",
                        f"there is a period column {periods[0]!r} but no 'value' column; other columns: {shown}",
                        "Đổi tên cột cần nhập thành 'Giá trị' (hoặc 'value'), hoặc thêm cột 'Mã chỉ tiêu'",
                        "Rename the column to load 'Giá trị' (or 'value'), or add an indicator code column",
                    )
                ],
                code="no_header",
            )
    seen = "; ".join(
        f"{row}: " + " | ".join(cell_text(v) for v in cells if cell_text(v))[:80] for row, cells in grid.rows[:5]
    )
    where_vi = f" trang '{grid.sheet}'" if grid.sheet else ""
    where_en = f" sheet '{grid.sheet}'" if grid.sheet else ""
    if opts.layout == Layout.WIDE:
        exp_vi = "dòng tiêu đề có cột tên chỉ tiêu và các cột kỳ ('Tháng 1', 'Quý I', 'Năm 2023')"
        exp_en = "a header with an indicator-name column and period columns ('Tháng 1', 'Quý I', 'Năm 2023')"
    else:
        exp_vi = (
            "dòng tiêu đề có cột kỳ ('Kỳ', 'Thời gian', 'Tháng', 'period', 'ds') và cột giá trị ('Giá trị', "
            "'Số liệu', 'value', 'y'), hoặc một biểu có các cột kỳ ('Tháng 1', 'Quý I', 'Năm 2023')"
        )
        exp_en = (
            "a header with a period column ('Kỳ', 'Thời gian', 'period', 'ds') and a value column ('Giá trị', "
            "'value', 'y'), or a report with period columns ('Tháng 1', 'Quý I', 'Năm 2023')"
        )
    return IntakeError(
        "không tìm thấy dòng tiêu đề",
        "no header row found",
        [
            IntakeProblem(
                None,
                None,
                seen or None,
                f"không thấy{where_vi} trong {HEADER_SCAN_ROWS} dòng đầu {exp_vi}",
                f"none of the first {HEADER_SCAN_ROWS} rows of{where_en or ' the file'} is {exp_en}",
                "Đặt tên cột như trên, hoặc chọn đúng trang bằng tùy chọn sheet",
                "Name the columns as above, or choose the right sheet with the sheet option",
            )
        ],
        code="no_header",
    )


class _Context:
    """One read: the grid, its header, and what is collected along the way."""

    def __init__(
        self,
        opts: IntakeOptions,
        grid: Grid,
        header: _Header,
        warnings: _Notes,
        errors: _Notes,
        fmt: str,
        sheets: tuple[str, ...],
    ) -> None:
        self.opts, self.grid, self.h = opts, grid, header
        self.warnings, self.errors = warnings, errors
        self.fmt, self.sheets = fmt, sheets
        self.limits = opts.limits
        self.header_row = grid.rows[header.pos][0]
        self.unit = self._title_unit()
        self.cells: list[_Cell] = []
        self.nums: dict[int, float] = {}  # index in cells -> value of a numeric (not text) cell
        self.freq: Frequency = "M"
        self.period_column: str | None = None
        self.missing: list[tuple[int, str, Any]] = []
        self.unmatched: list[UnmatchedRow] = []
        self.columns: dict[int, ColumnRole] = {}
        self._matcher = _Catalogue(opts.catalogue) if opts.catalogue else None

    def col_name(self, j: int) -> str:
        return self.h.texts.get(j) or column_letter(j)

    # -- title rows -----------------------------------------------------------------------------
    def _title_rows(self) -> list[Row]:
        top = self.h.upper if self.h.upper is not None else self.h.pos
        return self.grid.rows[:top]

    def _title_unit(self) -> str:
        for _, cells in self._title_rows():
            for v in cells:
                if isinstance(v, str):
                    t = nfc(v)
                    m = _RE_UNIT.match(fold(t))
                    if m:
                        # keep the unit as written: the text after the label's separator
                        return t[len(t) - len(m.group(1)) :].strip(" :.") if len(m.group(1)) <= len(t) else ""
        return ""

    def _title_years(self) -> list[tuple[int, int]]:
        """(row, year) found in the title rows ("BÁO CÁO ... THÁNG 6 NĂM 2024", "Năm 2024")."""
        out = []
        for row, cells in self._title_rows():
            for v in cells:
                if isinstance(v, str):
                    for m in _RE_TITLE_YEAR.finditer(fold(v)):
                        out.append((row, int(m.group(1))))
        return out

    # -- rows -----------------------------------------------------------------------------------
    def data_rows(self) -> list[Row]:
        """Rows after the header up to a trailing note/signature block (warned)."""
        rows = self.grid.rows[self.h.pos + 1 :]
        for k, (row, cells) in enumerate(rows):
            first = next((v for v in cells if v is not None and str(v).strip()), None)
            if (
                isinstance(first, str)
                and is_footer(first, True)  # cheap superset first; numbers are looked for only then
                and (is_footer(first, False) or not any(_numeric(v) for v in cells))
            ):
                last = rows[-1][0]
                self.warnings.add(
                    row,
                    None,
                    first[:60],
                    f"bỏ qua ghi chú cuối bảng (dòng {row}-{last})",
                    f"trailing notes ignored (rows {row}-{last})",
                )
                return rows[:k]
        return rows

    def run(self) -> IntakeResult:
        layout = self._wide() if self.h.wide else self._long()
        obs, decimal = self._finish()
        self._warn_missing()
        freq = self.freq
        self.errors.raise_if_any("tệp có lỗi", "the file has problems", self.limits)
        if not obs:
            raise _one(
                "tệp không có số liệu nào" + (" khớp danh mục" if self.unmatched else ""),
                "the file holds no observations" + (" matching the catalogue" if self.unmatched else ""),
                "Kiểm tra mã/tên chỉ tiêu và các ô số liệu" if self.unmatched else "Điền số liệu vào bảng",
                "Check the indicator codes/names and the value cells" if self.unmatched else "Fill in the data",
                code="invalid_file",
            )
        cols = tuple(self.columns[j] for j in sorted(self.columns))
        return IntakeResult(
            layout=layout,
            file_format=self.fmt,
            sheet=self.grid.sheet,
            sheets=self.sheets,
            header_row=self.header_row,
            columns=cols,
            frequency=freq,
            decimal=decimal,
            unit=self.unit,
            observations=tuple(obs),
            warnings=tuple(self.warnings.items),
            warnings_total=self.warnings.total,
            unmatched=tuple(self.unmatched),
            delimiter=self.grid.delimiter,
        )

    # -- long -----------------------------------------------------------------------------------
    def _long(self) -> Layout:
        h, opts = self.h, self.opts
        by_role: dict[str, list[int]] = {}
        for j, r in sorted(h.roles.items()):
            by_role.setdefault(r, []).append(j)
        for r in ("value", "period", "code", "name", "year", "month", "quarter"):
            if len(by_role.get(r, [])) > 1:
                cols = ", ".join(repr(self.col_name(j)) for j in by_role[r])
                raise _one(
                    f"nhiều cột cùng vai trò '{r}': {cols}",
                    f"several columns look like '{r}': {cols}",
                    "Giữ một cột, hoặc đổi tên các cột còn lại",
                    "Keep one, or rename the others",
                    code="no_header",
                    row=self.header_row,
                )
        value_col = by_role.get("value", [None])[0]
        if value_col is None:  # fallback: the one unnamed column
            value_col = next(iter(h.unknown))
            self.warnings.add(
                self.header_row,
                self.col_name(value_col),
                None,
                "không có cột tên 'Giá trị'; đã lấy cột này làm giá trị",
                "no column named 'value'; took this column as the value",
                "Đặt tên cột là 'Giá trị' để chắc chắn",
                "Name it 'Giá trị' or 'value' to be sure",
            )
        period_col = by_role.get("period", [None])[0]
        year_col = by_role.get("year", [None])[0]
        sub_col = by_role.get("month", by_role.get("quarter", [None]))[0]
        if period_col is None:
            if year_col is not None and sub_col is not None:
                pass  # composed from a year column and a month/quarter column
            else:
                period_col = year_col if sub_col is None else sub_col
                year_col = sub_col = None
        else:
            year_col = sub_col = None
        code_col = by_role.get("code", [None])[0]
        name_col = by_role.get("name", [None])[0]
        if opts.layout == Layout.LONG:  # forced one series: indicator columns are ignored
            code_col = name_col = None
        pj = period_col if period_col is not None else sub_col
        self.period_column = self.col_name(pj) if pj is not None else None
        multi = code_col is not None or name_col is not None
        if opts.layout == Layout.LONG_MULTI and not multi:
            raise _one(
                "không có cột mã/tên chỉ tiêu cho bảng nhiều chỉ tiêu",
                "no indicator code/name column for a multi-series table",
                "Thêm cột 'Mã chỉ tiêu' (hoặc 'unique_id')",
                "Add a 'Mã chỉ tiêu' (or 'unique_id') column",
                code="no_header",
                row=self.header_row,
            )
        layout = Layout.LONG_MULTI if multi else Layout.LONG
        used = {
            value_col: "value",
            period_col: "period",
            year_col: "year",
            sub_col: "month" if sub_col in by_role.get("month", []) else "quarter",
            code_col: "code",
            name_col: "name",
        }
        for j, t in h.texts.items():
            role = used.get(j) or ("unit" if h.roles.get(j) == "unit" else "ignored" if j in h.roles else "unknown")
            self.columns[j] = ColumnRole(j, column_letter(j), t, role)
        unit_col = by_role.get("unit", [None])[0]

        rows = self.data_rows()
        serial = period_col is not None and self._serial_column(rows, period_col)
        parsed: list[tuple[int, str | None, Period, int]] = []  # row, code, period, value column
        pcache: dict[Any, Period | PeriodSyntaxError] = {}
        units: set[str] = set()
        ids: dict[str, tuple[str | None, str]] = {}  # written id -> (catalogue code or None, reason)
        counts: Counter[str] = Counter()
        first_row: dict[str, int] = {}
        idents: dict[tuple[Any, Any], tuple[str, str, str]] = {}  # raw (code, name) -> (written, name, id)
        value_name = self.col_name(value_col)
        for row, cells in rows:
            raw_v = _at(cells, value_col)
            if period_col is not None:
                raw_p = _at(cells, period_col)
                has_p = not _blank(raw_p)
            else:
                raw_p = (_at(cells, year_col), _at(cells, sub_col))
                has_p = not (_blank(raw_p[0]) and _blank(raw_p[1]))
            has_v = not _blank(raw_v)
            code: str | None = None
            if multi:
                key = (_at(cells, code_col), _at(cells, name_col))
                got = idents.get(key)
                if got is None:
                    w, n = cell_text(key[0]), cell_text(key[1])
                    got = idents[key] = (w, n, w or n)
                written, name, ident = got
                if not ident:
                    if has_p or has_v:
                        self.errors.add(
                            row,
                            self.col_name(code_col if code_col is not None else name_col),  # type: ignore[arg-type]
                            "",
                            "thiếu mã/tên chỉ tiêu",
                            "missing indicator code/name",
                            "Điền mã chỉ tiêu cho dòng này",
                            "Fill in the indicator code for this row",
                        )
                    continue
                if self._matcher is not None:
                    if ident not in ids:
                        ids[ident] = self._matcher.match(written, name)
                    counts[ident] += 1
                    first_row.setdefault(ident, row)
                    code = ids[ident][0]
                    if code is None:
                        continue
                else:
                    code = ident
            if not has_p:
                if has_v:
                    self.errors.add(
                        row,
                        self.col_name(period_col if period_col is not None else year_col),  # type: ignore[arg-type]
                        "",
                        "có giá trị nhưng thiếu kỳ",
                        "a value without a period",
                        "Điền kỳ (ví dụ 'Tháng 1/2024') hoặc xóa dòng",
                        "Fill in the period (for example '2024-01') or delete the row",
                    )
                continue
            p = self._long_period(row, raw_p, period_col, year_col, sub_col, serial, pcache)
            if p is None:
                continue
            if unit_col is not None and not _blank(_at(cells, unit_col)):
                units.add(cell_text(_at(cells, unit_col)))
            parsed.append((row, code, p, value_col))
            self._pend(row, value_name, raw_v, code, p)
        if self._matcher is not None:
            for ident, (code, reason) in ids.items():
                if code is None:
                    vi, en = reason.split("|", 1)
                    self.unmatched.append(UnmatchedRow(first_row[ident], ident, ident, counts[ident], vi, en))
        if not self.unit and len(units) == 1:
            self.unit = units.pop()
        self._frequency([(r, c, p) for r, c, p, _ in parsed], long=True)
        return layout

    def _serial_column(self, rows: list[Row], j: int) -> bool:
        """Whether every period cell is an Excel serial day number (a number, or digits in a CSV)."""
        ex: float | None = None
        for _, cells in rows:
            v = _at(cells, j)
            if _blank(v):
                continue
            n = _as_serial(v)
            if n is None or not is_serial(n):
                return False
            ex = n if ex is None else ex
        if ex is None:
            return False
        self.warnings.add(
            None,
            self.col_name(j),
            None,
            f"cột kỳ chứa số ngày kiểu Excel; đã đọc thành ngày (ví dụ {cell_text(ex)} = {serial_to_date(ex)})",
            f"the period column holds Excel serial day numbers; read as dates (e.g. {cell_text(ex)} = "
            f"{serial_to_date(ex)})",
            "Định dạng cột là ngày tháng trong Excel để chắc chắn",
            "Format the column as dates in Excel to be sure",
        )
        return True

    def _long_period(
        self,
        row: int,
        raw: Any,
        period_col: int | None,
        year_col: int | None,
        sub_col: int | None,
        serial: bool,
        cache: dict[Any, Period | PeriodSyntaxError],
    ) -> Period | None:
        if period_col is not None:
            key = (type(raw), raw)
            got = cache.get(key)
            if got is None:
                try:
                    got = parse_period(_as_serial(raw) if serial else raw, serial=serial)
                except PeriodSyntaxError as e:
                    got = e
                cache[key] = got
            if isinstance(got, PeriodSyntaxError):
                self._bad_period(row, self.col_name(period_col), raw, got)
                return None
            return got
        y_raw, s_raw = raw
        try:
            y = parse_period(y_raw)
            if y.freq != "Y":
                raise PeriodSyntaxError("không phải năm", "not a year")
        except PeriodSyntaxError as e:
            self._bad_period(row, self.col_name(year_col), y_raw, e)  # type: ignore[arg-type]
            return None
        kind = self.columns[sub_col].role  # type: ignore[index]
        s = _sub_label(s_raw, "M" if kind == "month" else "Q")
        if s is None:
            what_vi, what_en = ("tháng (1-12)", "a month (1-12)") if kind == "month" else ("quý (I-IV)", "a quarter")
            self.errors.add(
                row,
                self.col_name(sub_col),  # type: ignore[arg-type]
                s_raw,
                f"không phải {what_vi}",
                f"not {what_en}",
                "Viết số tháng 1-12 hoặc quý I-IV",
                "Write the month 1-12 or the quarter I-IV",
            )
            return None
        return s.with_year(y.year or 0)

    def _bad_period(self, row: int, column: str, raw: Any, e: PeriodSyntaxError) -> None:
        self.errors.add(
            row,
            column,
            raw,
            e.vi,
            e.en,
            "Viết kỳ dạng 'Tháng 1/2024', '01/2024', '2024-01', 'Quý I/2024' hoặc '2024'",
            "Write the period as '2024-01', '01/2024', 'Tháng 1/2024', 'Quý I/2024' or '2024'",
        )

    # -- wide -----------------------------------------------------------------------------------
    def _wide(self) -> Layout:
        h, opts = self.h, self.opts
        upper_labels = h.upper_labels
        code_col = next((j for j, r in sorted(h.roles.items()) if r == "code"), None)
        name_col = next((j for j, r in sorted(h.roles.items()) if r == "name"), None)
        year_col = next((j for j, r in sorted(h.roles.items()) if r == "year"), None)
        rows = self.data_rows()
        first_label = min(h.labels)
        if name_col is None and code_col is None:
            name_col = self._guess_name_col(rows, first_label)
        # the frequency of the period columns
        freqs: Counter[str] = Counter()
        for p in h.labels.values():
            freqs[p.freq] += 1
        if opts.frequency is not None:
            convertible = {j for j, p in h.labels.items() if p.as_freq(opts.frequency) is not None}
            if not convertible:
                found = ", ".join(f"{n} cột {_FREQ_VI[f]}" for f, n in freqs.items())
                found_en = ", ".join(f"{n} {_FREQ_EN[f]} columns" for f, n in freqs.items())
                raise _one(
                    f"không có cột kỳ theo {_FREQ_VI[opts.frequency]} (có {found})",
                    f"no {_FREQ_EN[opts.frequency]} period column (found {found_en})",
                    "Kiểm tra tần suất của chỉ tiêu, hoặc tải lên biểu đúng kỳ",
                    "Check the indicator's frequency, or upload the report of the right periods",
                    code="invalid_file",
                    row=self.header_row,
                )
            freq = opts.frequency
        else:
            order = {"M": 0, "Q": 1, "Y": 2}
            freq = _freq(max(freqs, key=lambda f: (freqs[f], -order[f])))
        self.freq = freq
        period_cols: dict[int, Period] = {}
        for j, p in sorted(h.labels.items()):
            q = p.as_freq(freq)
            if q is None:
                self.columns[j] = ColumnRole(j, column_letter(j), h.texts[j], "skipped")
                self.warnings.add(
                    self.header_row,
                    h.texts[j],
                    None,
                    f"cột kỳ {_FREQ_VI[p.freq]}, không phải {_FREQ_VI[freq]}: bỏ qua",
                    f"a {_FREQ_EN[p.freq]} column, not {_FREQ_EN[freq]}: skipped",
                    f"Chọn frequency='{p.freq}' để đọc các cột này" if opts.frequency is None else "",
                    f"Choose frequency='{p.freq}' to read these columns" if opts.frequency is None else "",
                )
                continue
            period_cols[j] = q
        # years for labels written without one
        need_year = [j for j, p in period_cols.items() if p.year is None]
        if need_year:
            self._fill_years(period_cols, need_year, upper_labels, year_col)
        for j, t in h.texts.items():
            if j in self.columns:
                continue
            if j in period_cols:
                p = period_cols[j]
                self.columns[j] = ColumnRole(j, column_letter(j), t, "period", p.iso if p.year is not None else None)
            elif j == code_col:
                self.columns[j] = ColumnRole(j, column_letter(j), t, "code")
            elif j == name_col:
                self.columns[j] = ColumnRole(j, column_letter(j), t, "name")
            elif j == year_col:
                self.columns[j] = ColumnRole(j, column_letter(j), t, "year")
            elif h.roles.get(j) == "unit":
                self.columns[j] = ColumnRole(j, column_letter(j), t, "unit")
            elif j in h.roles:
                self.columns[j] = ColumnRole(j, column_letter(j), t, "ignored")
            else:
                self.columns[j] = ColumnRole(j, column_letter(j), t, "skipped")
                self.warnings.add(
                    self.header_row,
                    t,
                    None,
                    "cột này không phải kỳ (tháng, quý, năm): bỏ qua",
                    "this column is not a period (month, quarter, year): skipped",
                    "Nếu đây là số liệu theo kỳ, hãy viết tiêu đề như 'Tháng 1/2024', 'Quý I/2024', 'Năm 2024'",
                    "If it holds periodic data, head it like 'Tháng 1/2024', 'Quý I/2024', 'Năm 2024'",
                )
        if name_col is not None and name_col not in self.columns:
            self.columns[name_col] = ColumnRole(name_col, column_letter(name_col), "", "name")
        seen_codes: dict[str, int] = {}
        for row, cells in rows:
            written = cell_text(_at(cells, code_col)) if code_col is not None else ""
            name = cell_text(_at(cells, name_col)) if name_col is not None else ""
            present = [j for j in period_cols if not is_missing(_at(cells, j))]
            if not written and not name:
                if present:
                    self.errors.add(
                        row,
                        self.col_name(name_col if name_col is not None else code_col),  # type: ignore[arg-type]
                        "",
                        "dòng có số liệu nhưng thiếu tên/mã chỉ tiêu",
                        "a row with values but no indicator name or code",
                        "Điền tên hoặc mã chỉ tiêu",
                        "Fill in the indicator name or code",
                    )
                continue
            if self._matcher is not None:
                code, reason = self._matcher.match(written, name)
                if code is None:
                    vi, en = reason.split("|", 1)
                    self.unmatched.append(UnmatchedRow(row, written, name, len(present), vi, en))
                    continue
            else:
                code = written or name
            if not present:
                continue  # a section heading ("I. NÔNG NGHIỆP"), or an indicator without data yet
            if code in seen_codes:
                self.errors.add(
                    row,
                    self.col_name(name_col if name_col is not None else code_col),  # type: ignore[arg-type]
                    name or written,
                    f"chỉ tiêu '{code}' đã có ở dòng {seen_codes[code]}",
                    f"indicator '{code}' already appears in row {seen_codes[code]}",
                    "Giữ một dòng cho mỗi chỉ tiêu",
                    "Keep one row per indicator",
                )
                continue
            if year_col is None:
                seen_codes[code] = row
            row_year: int | None = None
            if year_col is not None:
                row_year = self._row_year(row, _at(cells, year_col), year_col)
                if row_year is None:
                    continue
            for j, p in period_cols.items():
                q = p if p.year is not None else p.with_year(row_year or 0)
                self._pend(row, self.col_name(j), _at(cells, j), code, q)
        return Layout.WIDE

    def _guess_name_col(self, rows: list[Row], first_label: int) -> int:
        best, best_n = 0, -1
        for j in range(first_label):
            if j in self.h.roles:
                continue
            n = sum(
                1
                for _, cells in rows[:200]
                if j < len(cells) and isinstance(cells[j], str) and read_number_text(nfc(cells[j])) is None
            )
            if n > best_n:
                best, best_n = j, n
        return best

    def _row_year(self, row: int, raw: Any, j: int) -> int | None:
        try:
            p = parse_period(raw)
            if p.freq == "Y" and p.year is not None:
                return p.year
            raise PeriodSyntaxError("không phải năm", "not a year")
        except PeriodSyntaxError as e:
            self._bad_period(row, self.col_name(j), raw, e)
            return None

    def _fill_years(
        self, cols: dict[int, Period], need: list[int], upper: dict[int, Period], year_col: int | None
    ) -> None:
        h = self.h
        if upper:
            years: dict[int, int] = {j: p.year for j, p in upper.items() if p.year is not None}
            for j in need:
                left = [k for k in years if k <= j]
                if left:
                    cols[j] = cols[j].with_year(years[max(left)])
            need = [j for j in need if cols[j].year is None]
            if not need:
                return
        if year_col is not None:
            return  # per row
        if self.opts.year is not None:
            for j in need:
                cols[j] = cols[j].with_year(self.opts.year)
            return
        found = self._title_years()
        distinct = sorted({y for _, y in found})
        cols_vi = ", ".join(repr(h.texts[j]) for j in need[:3]) + ("..." if len(need) > 3 else "")
        if len(distinct) == 1:
            y = distinct[0]
            for j in need:
                cols[j] = cols[j].with_year(y)
            self.warnings.add(
                found[0][0],
                None,
                None,
                f"năm {y} của các cột {cols_vi} lấy từ tiêu đề",
                f"the year {y} of columns {cols_vi} comes from the title",
                "Nếu sai, chọn year=... hoặc viết 'Tháng 1/2024' trong tiêu đề cột",
                "If wrong, pass year=... or write 'Tháng 1/2024' in the column headers",
            )
            return
        if distinct:
            ys = ", ".join(str(y) for y in distinct)
            raise _one(
                f"không rõ năm của các cột {cols_vi}: tiêu đề nêu nhiều năm ({ys})",
                f"the year of columns {cols_vi} is unclear: the title names several years ({ys})",
                "Chọn year=... hoặc viết năm trong tiêu đề cột ('Tháng 1/2024')",
                "Pass year=... or write the year in the column headers ('Tháng 1/2024')",
                code="invalid_file",
                row=self.header_row,
            )
        raise _one(
            f"các cột {cols_vi} không có năm, tiêu đề cũng không nêu năm",
            f"columns {cols_vi} have no year, and no title names one",
            "Viết năm trong tiêu đề cột ('Tháng 1/2024'), thêm cột 'Năm', ghi 'Năm 2024' ở tiêu đề, hoặc chọn year=...",
            "Write the year in the column headers ('Tháng 1/2024'), add a 'Năm' column, a title 'Năm 2024', "
            "or pass year=...",
            code="invalid_file",
            row=self.header_row,
        )

    # -- shared ---------------------------------------------------------------------------------
    def _pend(self, row: int, column: str, raw: Any, code: str | None, p: Period) -> None:
        kind, v = _pending_value(raw)
        if kind == "missing":
            self.missing.append((row, column, raw))
        elif kind == "bad":
            _bad_value(self.errors, row, column, raw)
        elif kind == "number":
            self.nums[len(self.cells)] = v
            self.cells.append(_Cell(row, column, raw, code, p))
        else:
            self.cells.append(_Cell(row, column, raw, code, p, v))

    def _frequency(self, rows: list[tuple[int, str | None, Period]], long: bool) -> None:
        """Long layouts: check every period's frequency, map dates, set self.freq."""
        opts = self.opts
        if not rows:
            self.freq = opts.frequency or "M"
            return
        all_dates = all(p.is_date for _, _, p in rows)
        target: Frequency
        if opts.frequency is not None:
            target = opts.frequency
        elif all_dates:
            target = _freq(_date_freq([p for _, _, p in rows]))
        else:
            kinds = Counter(p.freq for _, _, p in rows if not p.is_date)
            target = _freq(max(kinds, key=lambda f: kinds[f]))
        self.freq = target
        mapped: dict[int, Period] = {}
        for row, _, p in rows:
            q = p.as_freq(target)
            if q is None:
                self.errors.add(
                    row,
                    self.period_column,
                    p.iso,
                    f"kỳ theo {_FREQ_VI[p.freq]}, nhưng "
                    + (
                        f"chỉ tiêu theo {_FREQ_VI[target]}"
                        if opts.frequency
                        else f"phần lớn tệp theo {_FREQ_VI[target]}"
                    ),
                    f"a {_FREQ_EN[p.freq]} period, but "
                    + (
                        f"the indicator is {_FREQ_EN[target]}"
                        if opts.frequency
                        else f"the file is mostly {_FREQ_EN[target]}"
                    ),
                    f"Viết kỳ theo {_FREQ_VI[target]}",
                    f"Write {_FREQ_EN[target]} periods",
                )
            else:
                mapped[row] = q
        for cell in self.cells:
            if cell.row in mapped:
                cell.period = mapped[cell.row]

    def _finish(self) -> tuple[list[IntakeObservation], Decimal | None]:
        named = [header_key(t) for j, t in self.h.texts.items() if j in self.h.roles]
        english = bool(named) and all(k in _ENGLISH_HEADERS for k in named)
        decimal = _decide_decimal(self.cells, self.opts.decimal, english, self.warnings, self.errors)
        obs: list[IntakeObservation] = []
        seen: dict[tuple[str | None, str], int] = {}
        percent_at: _Cell | None = None
        nums = self.nums
        for k, c in enumerate(self.cells):
            if c.text is not None:
                v = c.text.value(decimal or ",")
                if v is None:
                    continue  # reported by _decide_decimal
                if c.text.percent and percent_at is None:
                    percent_at = c
            else:
                v = nums[k]
            iso = c.period.iso
            key = (c.code, iso)
            if key in seen:
                who = f" của '{c.code}'" if c.code else ""
                who_en = f" of '{c.code}'" if c.code else ""
                self.errors.add(
                    c.row,
                    c.column,
                    c.raw,
                    f"kỳ {iso}{who} lặp lại (đã có ở dòng {seen[key]})",
                    f"period {iso}{who_en} appears twice (first in row {seen[key]})",
                    "Giữ một giá trị cho mỗi kỳ",
                    "Keep one value per period",
                )
                continue
            seen[key] = c.row
            obs.append(IntakeObservation(c.code, iso, v, c.row, c.column))
        if percent_at is not None:
            self.warnings.add(
                percent_at.row,
                percent_at.column,
                percent_at.raw,
                "đã bỏ dấu %; giá trị giữ theo phần trăm (5,2% -> 5,2)",
                "'%' removed; values stay in percent (5.2% -> 5.2)",
            )
        return obs, decimal

    def _warn_missing(self) -> None:
        if not self.missing:
            return
        marks = sorted({cell_text(r) for _, _, r in self.missing})
        marks_vi = ", ".join(m or "(trống)" for m in marks[:6])
        marks_en = ", ".join(m or "(blank)" for m in marks[:6])
        rows = sorted({r for r, _, _ in self.missing})
        shown = ", ".join(str(r) for r in rows[:10]) + (f" ... ({len(rows)} dòng)" if len(rows) > 10 else "")
        shown_en = ", ".join(str(r) for r in rows[:10]) + (f" ... ({len(rows)} rows)" if len(rows) > 10 else "")
        row, column, raw = self.missing[0]
        self.warnings.add(
            row,
            column,
            cell_text(raw),
            f"{len(self.missing)} ô không có số liệu ({marks_vi}) được bỏ qua, ở dòng {shown}",
            f"{len(self.missing)} cells without data ({marks_en}) left out, in rows {shown_en}",
        )


def _numeric(v: Any) -> bool:
    """A number cell, or text that reads as one."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return True
    return isinstance(v, str) and any(ch.isdigit() for ch in v) and read_number_text(v) is not None


def _at(cells: list[Any], j: int | None) -> Any:
    return cells[j] if j is not None and j < len(cells) else None


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _as_serial(raw: Any) -> float | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str) and _RE_SERIAL.match(raw.strip()):
        return float(raw.strip())
    return None


def _freq(f: str) -> Frequency:
    if f == "M":
        return "M"
    if f == "Q":
        return "Q"
    if f == "Y":
        return "Y"
    raise ValueError(f"not a frequency: {f!r}")


def _sub_label(raw: Any, freq: str) -> Period | None:
    """A month (1-12, 'Tháng 1', 'T1') or quarter (1-4, 'I'-'IV', 'Quý I', 'Q1') without a year."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if float(raw).is_integer() and 1 <= int(raw) <= (12 if freq == "M" else 4):
            return Period(freq, None, int(raw))
        return None
    t = fold(cell_text(raw))
    if t.isdigit():
        return _sub_label(int(t), freq)
    roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
    if freq == "Q" and t in roman:
        return Period("Q", None, roman[t])
    p = parse_label(("thang " if freq == "M" else "quy ") + t) if t and t[0].isdigit() else parse_label(raw)
    if p is not None and p.freq == freq and p.year is None:
        return p
    return None


def _date_freq(periods: list[Period]) -> str:
    """Monthly dates spaced by 3 or 12 months are quarterly or yearly."""
    ords = sorted({p.ordinal for p in periods})
    if len(ords) < 2:
        return "M"
    step = 0
    for a, b in zip(ords, ords[1:], strict=False):
        step = math.gcd(step, b - a)
    return {3: "Q", 12: "Y"}.get(step, "M")


class _Catalogue:
    """Match rows to ``(code, name)`` pairs: exact code, then exact name, then both folded (case, diacritics,
    spaces, leading numbering "1.", "I.", "a)", "-")."""

    _NUMBERING = re.compile(r"^(?:[ivxlc]+|\d+(?:\.\d+)*|[a-z])\s*[.)/-]\s+|^[-+*•]\s*")

    def __init__(self, pairs: tuple[tuple[str, str], ...]) -> None:
        self.by_code: dict[str, str] = {}
        self.by_code_folded: dict[str, set[str]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.by_name_folded: dict[str, set[str]] = {}
        for code, name in pairs:
            c = nfc(str(code))
            self.by_code[c.casefold()] = c
            self.by_code_folded.setdefault(fold(c), set()).add(c)
            n = nfc(str(name))
            if n:
                self.by_name.setdefault(n.casefold(), set()).add(c)
                self.by_name_folded.setdefault(self._key(n), set()).add(c)

    @classmethod
    def _key(cls, name: str) -> str:
        t = fold(name)
        t = cls._NUMBERING.sub("", t)
        t = re.sub(r"\s*\(\*+\)|\*+$", "", t)
        return t.strip(" :.")

    def match(self, code: str, name: str) -> tuple[str | None, str]:
        """(catalogue code, "") or (None, "vi reason|en reason")."""
        if code:
            c = nfc(code)
            if c.casefold() in self.by_code:
                return self.by_code[c.casefold()], ""
            hits = self.by_code_folded.get(fold(c), set())
            if len(hits) == 1:
                return next(iter(hits)), ""
        if name:
            n = nfc(name)
            for hits in (self.by_name.get(n.casefold(), set()), self.by_name_folded.get(self._key(n), set())):
                if len(hits) == 1:
                    return next(iter(hits)), ""
                if len(hits) > 1:
                    codes = ", ".join(sorted(hits))
                    return None, (
                        f"tên khớp nhiều chỉ tiêu trong danh mục ({codes})|"
                        f"the name matches several catalogue indicators ({codes})"
                    )
            # a name column may hold codes
            if fold(n) in self.by_code_folded and len(self.by_code_folded[fold(n)]) == 1:
                return next(iter(self.by_code_folded[fold(n)])), ""
        return None, "không có trong danh mục chỉ tiêu|not in the indicator catalogue"
