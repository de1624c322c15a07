"""Bytes -> rows of cells: CSV (UTF-8 with or without BOM, UTF-16 with BOM; ``,`` ``;`` or tab) and XLSX
(read-only streaming, size caps checked before and while reading)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .model import IntakeError, IntakeLimits

__all__ = ["Grid", "detect_format", "read_csv", "open_workbook"]

Row = tuple[int, list[Any]]
_DELIMITERS = (";", "\t", ",")  # tie order: ';' wins over ',' (the decimal comma makes ',' look consistent)


@dataclass
class Grid:
    """A table as read: ``rows`` are (1-based row number, cells); CSV cells are str, XLSX cells are
    str/int/float/datetime/None. Blank rows are kept out, numbers kept."""

    rows: list[Row]
    sheet: str | None = None
    delimiter: str | None = None


def _too_large(vi: str, en: str, fix_vi: str, fix_en: str, limits: IntakeLimits) -> IntakeError:
    from .model import IntakeProblem

    return IntakeError(
        "tệp quá lớn",
        "file too large",
        [IntakeProblem(None, None, None, vi, en, fix_vi, fix_en)],
        code="too_large",
        max_problems=limits.max_problems,
    )


def detect_format(data: bytes, filename: str | None, content_type: str | None) -> str:
    """``csv`` or ``xlsx`` from the bytes first (a zip is a workbook), then the name and content type.

    Raises:
        IntakeError: ``unsupported_format`` for legacy ``.xls``/encrypted workbooks, OpenDocument, and
            files that are neither.
    """
    from .model import IntakeProblem

    name = (filename or "").lower()
    ctype = (content_type or "").split(";")[0].strip().lower()

    def unsupported(vi: str, en: str, fix_vi: str, fix_en: str) -> IntakeError:
        return IntakeError(
            "định dạng tệp không hỗ trợ",
            "unsupported file format",
            [IntakeProblem(None, None, filename, vi, en, fix_vi, fix_en)],
            code="unsupported_format",
        )

    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _raise(
            unsupported(
                "tệp Excel cũ (.xls) hoặc tệp có mật khẩu",
                "a legacy Excel (.xls) or password-protected workbook",
                "Mở bằng Excel, bỏ mật khẩu nếu có, rồi lưu dưới dạng .xlsx hoặc CSV UTF-8",
                "Open it in Excel, remove any password and save it as .xlsx or CSV UTF-8",
            )
        )
    if data[:4] == b"PK\x03\x04":
        if b"application/vnd.oasis.opendocument" in data[:200] or name.endswith(".ods"):
            return _raise(
                unsupported(
                    "tệp OpenDocument (.ods)",
                    "an OpenDocument (.ods) spreadsheet",
                    "Lưu lại dưới dạng .xlsx hoặc CSV UTF-8",
                    "Save it as .xlsx or CSV UTF-8",
                )
            )
        return "xlsx"
    if name.endswith((".xlsx", ".xlsm")) or "spreadsheetml" in ctype:
        return _raise(
            unsupported(
                "tệp mang tên/kiểu .xlsx nhưng không phải bảng tính Excel (không phải tệp zip)",
                "named or typed .xlsx but not an Excel workbook (not a zip file)",
                "Tải lên đúng tệp .xlsx, hoặc lưu dữ liệu dưới dạng CSV UTF-8",
                "Upload the actual .xlsx file, or save the data as CSV UTF-8",
            )
        )
    if name.endswith((".xls", ".ods", ".pdf", ".doc", ".docx")):
        return _raise(
            unsupported(
                f"không đọc được tệp {name.rsplit('.', 1)[-1]}",
                f"cannot read a .{name.rsplit('.', 1)[-1]} file",
                "Lưu dữ liệu dưới dạng .xlsx hoặc CSV UTF-8",
                "Save the data as .xlsx or CSV UTF-8",
            )
        )
    return "csv"


def _raise(e: IntakeError) -> str:
    raise e


# -- CSV -------------------------------------------------------------------------------------------
def _decode(data: bytes, limits: IntakeLimits) -> str:
    from .model import IntakeProblem

    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        bad = data[e.start : e.start + 8]
        raise IntakeError(
            "tệp không phải văn bản UTF-8",
            "the file is not UTF-8 text",
            [
                IntakeProblem(
                    line,
                    None,
                    bad.hex(" "),
                    f"byte không đọc được ở vị trí {e.start} (tệp có thể đang ở bảng mã Windows-1258/1252 hoặc TCVN3)",
                    f"undecodable bytes at offset {e.start} (the file may be in Windows-1258/1252 or TCVN3)",
                    "Trong Excel chọn Lưu thành > 'CSV UTF-8 (Comma delimited)', hoặc tải lên tệp .xlsx",
                    "In Excel use Save As > 'CSV UTF-8 (Comma delimited)', or upload the .xlsx file",
                )
            ],
            code="not_utf8",
            max_problems=limits.max_problems,
        ) from e


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most lines with the same (>1) number of fields among the first 50 lines."""
    sample = [ln for ln in text.splitlines()[:200] if ln.strip()][:50]
    best, best_score = ",", -1
    for d in _DELIMITERS:
        counts: dict[int, int] = {}
        for rec in csv.reader(sample, delimiter=d):
            n = len([c for c in rec])
            if n > 1:
                counts[n] = counts.get(n, 0) + 1
        score = max(counts.values(), default=0)
        if score > best_score:
            best, best_score = d, score
    return best


def read_csv(data: bytes, limits: IntakeLimits) -> Grid:
    """Read CSV bytes within the caps (rows are counted as they are read; reading stops past the cap)."""
    text = _decode(data, limits)
    if '"' not in text and text.count("\n") > limits.max_rows + 1:
        # without quotes every line is a record: refuse before building any row
        raise _too_large(
            f"tệp có hơn {_vi_int(limits.max_rows)} dòng",
            f"the file has more than {limits.max_rows:,} rows",
            "Chia tệp thành nhiều tệp nhỏ hơn",
            "Split the file into smaller files",
            limits,
        )
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    cells = 0
    start = 1
    n = 0
    try:
        for rec in reader:
            n += 1
            line = start
            start = reader.line_num + 1
            if n > limits.max_rows:
                raise _too_large(
                    f"tệp có hơn {_vi_int(limits.max_rows)} dòng",
                    f"the file has more than {limits.max_rows:,} rows",
                    "Chia tệp thành nhiều tệp nhỏ hơn",
                    "Split the file into smaller files",
                    limits,
                )
            cells += len(rec)
            if cells > limits.max_cells:
                raise _too_large(
                    f"tệp có hơn {_vi_int(limits.max_cells)} ô",
                    f"the file has more than {limits.max_cells:,} cells",
                    "Chia tệp thành nhiều tệp nhỏ hơn hoặc bỏ các cột không cần",
                    "Split the file or drop unneeded columns",
                    limits,
                )
            if any(c.strip() for c in rec):
                rows.append((line, rec))
    except csv.Error as e:
        from .model import IntakeProblem

        raise IntakeError(
            "tệp CSV hỏng",
            "malformed CSV",
            [
                IntakeProblem(
                    reader.line_num,
                    None,
                    None,
                    f"lỗi cú pháp CSV ({e})",
                    f"CSV syntax error ({e})",
                    "Kiểm tra dấu ngoặc kép chưa đóng",
                    "Look for an unclosed double quote",
                )
            ],
        ) from e
    return Grid(rows, None, delimiter)


# -- XLSX ------------------------------------------------------------------------------------------
def _check_zip(data: bytes, limits: IntakeLimits) -> None:
    """Refuse a workbook whose zip declares too much uncompressed data (before anything is inflated).

    Python's zipfile never inflates a member past its declared size, so the declared sizes bound the work.
    """
    from .model import IntakeProblem

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise IntakeError(
            "tệp XLSX hỏng",
            "damaged XLSX file",
            [
                IntakeProblem(
                    None,
                    None,
                    None,
                    f"không mở được tệp zip ({e})",
                    f"cannot open the zip container ({e})",
                    "Mở lại bằng Excel và lưu lại",
                    "Open it in Excel and save it again",
                )
            ],
            code="unsupported_format",
        ) from e
    if len(infos) > limits.max_xlsx_entries:
        raise _too_large(
            f"tệp XLSX chứa {len(infos)} phần (tối đa {limits.max_xlsx_entries})",
            f"the workbook holds {len(infos)} parts (at most {limits.max_xlsx_entries})",
            "Lưu dữ liệu vào một bảng tính đơn giản hơn",
            "Save the data in a simpler workbook",
            limits,
        )
    total = sum(i.file_size for i in infos)
    if total > limits.max_xlsx_uncompressed:
        mib = total / 2**20
        cap = limits.max_xlsx_uncompressed / 2**20
        raise _too_large(
            f"tệp XLSX giải nén ra {mib:,.0f} MiB (tối đa {cap:,.0f} MiB)",
            f"the workbook uncompresses to {mib:,.0f} MiB (at most {cap:,.0f} MiB)",
            "Chia dữ liệu thành nhiều tệp nhỏ hơn",
            "Split the data into smaller files",
            limits,
        )
    if "xl/workbook.xml" not in names:
        raise IntakeError(
            "không phải tệp Excel",
            "not an Excel workbook",
            [
                IntakeProblem(
                    None,
                    None,
                    None,
                    "tệp zip không chứa bảng tính Excel (xl/workbook.xml)",
                    "the zip holds no Excel workbook (xl/workbook.xml)",
                    "Tải lên tệp .xlsx hoặc CSV UTF-8",
                    "Upload an .xlsx or CSV UTF-8 file",
                )
            ],
            code="unsupported_format",
        )


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref="[A-Z]+(\d+)(?::[A-Z]+(\d+))?"')
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>")


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part path -> sheet name, best effort (for messages)."""
    try:
        wb = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {
        m.group(1).decode(): m.group(2).decode()
        for m in re.finditer(rb'<(?:\w+:)?Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"', rels)
    }
    out = {}
    for tag in _SHEET_TAG.findall(wb):
        name = re.search(rb'\bname="([^"]*)"', tag)
        rid = re.search(rb'\br:id="([^"]*)"', tag) or re.search(rb'\b\w+:id="([^"]*)"', tag)
        if name and rid and rid.group(1).decode() in targets:
            target = targets[rid.group(1).decode()].lstrip("/")
            path = target if target.startswith("xl/") else "xl/" + target
            out[path] = name.group(1).decode("utf-8", "replace")
    return out


def _count_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: IntakeLimits) -> tuple[int, int]:
    """(rows, cells) of a worksheet part, streamed; stops as soon as a cap is passed."""
    rows = cells = 0
    carry = b""
    with zf.open(info) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            if not rows and not carry and (dim := _DIMENSION.search(chunk)):
                declared = int(dim.group(2) or dim.group(1)) - int(dim.group(1)) + 1
                if declared > limits.max_rows:
                    return declared, cells  # the declared size is enough to refuse
            buf = carry + chunk
            cut = buf.rfind(b"<")
            if cut <= 0:
                cut = len(buf)
            part, carry = buf[:cut], buf[cut:]
            rows += len(_ROW_TAG.findall(part))
            cells += len(_CELL_TAG.findall(part))
            if rows > limits.max_rows or cells > limits.max_cells:
                return rows, cells
    if carry:
        rows += len(_ROW_TAG.findall(carry + b" "))
        cells += len(_CELL_TAG.findall(carry + b" "))
    return rows, cells


def _prescan(data: bytes, limits: IntakeLimits) -> None:
    """Count every worksheet's rows and cells before openpyxl opens the workbook (it parses a whole sheet at
    open when the sheet declares no dimension), so a sheet past the caps is refused at zip speed."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = _sheet_names(zf)
        for info in zf.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            rows, cells = _count_rows(zf, info, limits)
            sheet = names.get(info.filename, info.filename.rsplit("/", 1)[-1])
            if rows > limits.max_rows:
                cap = limits.max_rows
                raise _too_large(
                    f"trang '{sheet}' có hơn {_vi_int(cap)} dòng",
                    f"sheet '{sheet}' has more than {cap:,} rows",
                    "Chia dữ liệu thành nhiều tệp nhỏ hơn",
                    "Split the data into smaller files",
                    limits,
                )
            if cells > limits.max_cells:
                cap = limits.max_cells
                raise _too_large(
                    f"trang '{sheet}' có hơn {_vi_int(cap)} ô",
                    f"sheet '{sheet}' has more than {cap:,} cells",
                    "Chia dữ liệu thành nhiều tệp nhỏ hơn hoặc bỏ các cột không cần",
                    "Split the data or drop unneeded columns",
                    limits,
                )


def _vi_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class Workbook:
    """A read-only workbook: sheet names, a cheap peek at each sheet's first rows, and a capped full read."""

    def __init__(self, data: bytes, limits: IntakeLimits) -> None:
        import openpyxl

        _check_zip(data, limits)
        _prescan(data, limits)
        self.limits = limits
        try:
            self._wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many kinds on damaged parts; all mean "cannot read"
            from .model import IntakeProblem

            raise IntakeError(
                "tệp XLSX hỏng",
                "damaged XLSX file",
                [
                    IntakeProblem(
                        None,
                        None,
                        None,
                        f"openpyxl không đọc được ({type(e).__name__}: {e})",
                        f"openpyxl cannot read it ({type(e).__name__}: {e})",
                        "Mở lại bằng Excel và lưu lại dưới dạng .xlsx",
                        "Open it in Excel and save it again as .xlsx",
                    )
                ],
                code="unsupported_format",
            ) from e
        self.sheets: tuple[str, ...] = tuple(self._wb.sheetnames)

    def close(self) -> None:
        self._wb.close()

    def _iter(self, name: str) -> Iterator[list[Any]]:
        ws = self._wb[name]
        for row in ws.iter_rows(values_only=True):
            yield list(row)

    def peek(self, name: str, n: int) -> Grid:
        """The first ``n`` rows (blank ones left out)."""
        rows: list[Row] = []
        for i, row in enumerate(self._iter(name), start=1):
            if i > n:
                break
            if any(v is not None and str(v).strip() for v in row):
                rows.append((i, _trim(row)))
        return Grid(rows, name)

    def read(self, name: str) -> Grid:
        """Every row of a sheet, refusing past the row and cell caps (the declared dimension is checked first,
        then the rows as they stream)."""
        limits = self.limits
        ws = self._wb[name]
        max_row, max_col = getattr(ws, "max_row", None), getattr(ws, "max_column", None)
        if max_row is not None and max_row > limits.max_rows:
            raise self._rows_error(name, max_row)
        if max_row is not None and max_col is not None and max_row * max_col > limits.max_cells:
            raise self._cells_error(name, max_row * max_col)
        ws.reset_dimensions()  # a wrong declared dimension must not cut the data short
        rows: list[Row] = []
        cells = 0
        for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if i > limits.max_rows:
                raise self._rows_error(name, None)
            cells += len(row)
            if cells > limits.max_cells:
                raise self._cells_error(name, None)
            if any(v is not None and str(v).strip() for v in row):
                rows.append((i, _trim(list(row))))
        return Grid(rows, name)

    def _rows_error(self, name: str, n: int | None) -> IntakeError:
        cap = self.limits.max_rows
        got_vi = f" ({_vi_int(n)} dòng)" if n else ""
        got_en = f" ({n:,} rows)" if n else ""
        return _too_large(
            f"trang '{name}' có hơn {_vi_int(cap)} dòng{got_vi}",
            f"sheet '{name}' has more than {cap:,} rows{got_en}",
            "Chia dữ liệu thành nhiều tệp nhỏ hơn",
            "Split the data into smaller files",
            self.limits,
        )

    def _cells_error(self, name: str, n: int | None) -> IntakeError:
        cap = self.limits.max_cells
        return _too_large(
            f"trang '{name}' có hơn {_vi_int(cap)} ô",
            f"sheet '{name}' has more than {cap:,} cells" + (f" ({n:,})" if n else ""),
            "Chia dữ liệu thành nhiều tệp nhỏ hơn hoặc bỏ các cột không cần",
            "Split the data or drop unneeded columns",
            self.limits,
        )


def open_workbook(data: bytes, limits: IntakeLimits) -> Workbook:
    return Workbook(data, limits)


def _trim(row: list[Any]) -> list[Any]:
    """Drop trailing empty cells."""
    end = len(row)
    while end and (row[end - 1] is None or (isinstance(row[end - 1], str) and not row[end - 1].strip())):
        end -= 1
    return row[:end]
