"""forecasting.intake: files as the province's offices write them (all fixtures are generated here)."""

from __future__ import annotations

import io
import json
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from forecasting.intake import (
    IntakeError,
    IntakeLimits,
    IntakeOptions,
    IntakeResult,
    Layout,
    read_table,
)
from forecasting.intake.numbers import read_number_text
from forecasting.intake.periods import PeriodSyntaxError, parse_period

# -- fixture builders ------------------------------------------------------------------------------


def csv_bytes(rows: Iterable[Sequence[Any]], sep: str = ",", bom: bool = False) -> bytes:
    """CSV text with ``sep``; cells containing ``sep`` or quotes are quoted (as Excel does)."""
    lines = []
    for r in rows:
        cells = []
        for c in r:
            s = "" if c is None else str(c)
            if sep in s or '"' in s or "\n" in s:
                s = '"' + s.replace('"', '""') + '"'
            cells.append(s)
        lines.append(sep.join(cells))
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def xlsx_bytes(
    sheets: dict[str, Sequence[Any]],
    merges: dict[str, list[str]] | None = None,
    number_formats: dict[str, dict[str, str]] | None = None,
) -> bytes:
    """A workbook made with openpyxl: sheets in order, merged ranges, number formats per cell."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
        for coord, fmt in (number_formats or {}).get(name, {}).items():
            ws[coord].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def raw_xlsx(n_rows: int, *, dimension: bool = True, value: str = "12.5") -> bytes:
    """A minimal valid XLSX written by hand (fast for huge sheets), text in a shared-strings table as Excel
    writes it: header ``unique_id,ds,y`` then ``n_rows`` rows, series of 1,000 months from 1930-01;
    ``dimension`` writes the sheet's declared size."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
    doc_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ct = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    rels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships {rel_ns}><Relationship Id="rId1" '
        f'Type="{doc_rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    wbxml = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{doc_rel}"><sheets>'
        '<sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    wbrels = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships {rel_ns}><Relationship Id="rId1" '
        f'Type="{doc_rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
        f'Type="{doc_rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    )
    n_series = max(1, (n_rows + 999) // 1000)
    strings = ["unique_id", "ds", "y"] + [f"{1930 + j // 12}-{j % 12 + 1:02d}" for j in range(1000)]
    strings += [f"s{k}" for k in range(n_series)]
    sst = f'<?xml version="1.0" encoding="UTF-8"?><sst {ns} count="{len(strings)}" uniqueCount="{len(strings)}">'
    sst += "".join(f"<si><t>{t}</t></si>" for t in strings) + "</sst>"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("xl/workbook.xml", wbxml)
        zf.writestr("xl/_rels/workbook.xml.rels", wbrels)
        zf.writestr("xl/sharedStrings.xml", sst)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            head = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}>'
            if dimension:
                head += f'<dimension ref="A1:C{n_rows + 1}"/>'
            head += '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            head += '<c r="C1" t="s"><v>2</v></c></row>'
            f.write(head.encode())
            chunk = []
            for i in range(n_rows):
                r = i + 2
                k, j = divmod(i, 1000)
                chunk.append(
                    f'<row r="{r}"><c r="A{r}" t="s"><v>{1003 + k}</v></c><c r="B{r}" t="s"><v>{3 + j}</v></c>'
                    f'<c r="C{r}"><v>{value}</v></c></row>'
                )
                if len(chunk) == 10_000:
                    f.write("".join(chunk).encode())
                    chunk = []
            f.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return buf.getvalue()


def month_rows(n: int, start_year: int = 2019) -> list[tuple[str, int]]:
    return [(f"{start_year + i // 12}-{i % 12 + 1:02d}", i) for i in range(n)]


def many_series_rows(n: int) -> list[tuple[str, str, str]]:
    """``unique_id,ds,y`` rows: series of 1,000 months from 1930-01."""
    return [(f"s{i // 1000}", f"{1930 + (i % 1000) // 12}-{i % 12 + 1:02d}", f"{i % 997}.5") for i in range(n)]


def obs(r: IntakeResult) -> list[tuple[str | None, str, float]]:
    return [(o.code, o.period, o.value) for o in r.observations]


def problems(e: pytest.ExceptionInfo[IntakeError]) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in e.value.problems]


# -- periods ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2019-01", "2019-01"),
        ("2019/1", "2019-01"),
        ("01/2019", "2019-01"),
        ("1/2019", "2019-01"),
        ("12-2019", "2019-12"),
        ("Tháng 1/2019", "2019-01"),
        ("tháng 01 năm 2019", "2019-01"),
        ("THÁNG 1 - 2019", "2019-01"),
        ("Thang 10/2019", "2019-10"),
        ("T1/2019", "2019-01"),
        ("T01-2019", "2019-01"),
        ("Th.3/2019", "2019-03"),
        ("Jan 2019", "2019-01"),
        ("December-2019", "2019-12"),
        ("Quý I/2016", "2016-Q1"),
        ("Quý IV năm 2016", "2016-Q4"),
        ("Quy 1/2016", "2016-Q1"),
        ("Quý 3 - 2016", "2016-Q3"),
        ("Q1/2016", "2016-Q1"),
        ("Q1-2016", "2016-Q1"),
        ("q2 2016", "2016-Q2"),
        ("2016Q1", "2016-Q1"),
        ("2016-Q4", "2016-Q4"),
        ("Năm 2019", "2019"),
        ("nam 2019", "2019"),
        ("2019", "2019"),
        (2019, "2019"),
        (2019.0, "2019"),
        ("2019-01-31", "2019-01"),
        ("31/01/2019", "2019-01"),
        ("05/02/2019", "2019-02"),  # vi-VN dates are day first
        (datetime(2019, 3, 1), "2019-03"),
        (date(2019, 4, 15), "2019-04"),
    ],
)
def test_period_forms(text: Any, iso: str) -> None:
    assert parse_period(text).iso == iso


@pytest.mark.parametrize(
    "text", ["Tháng 13/2019", "13/2019", "Quý 5/2016", "6 tháng đầu năm", "Cùng kỳ", "abc", "2019-02-30", 12.5, 1850]
)
def test_not_periods(text: Any) -> None:
    with pytest.raises(PeriodSyntaxError):
        parse_period(text)


def test_labels_without_year_only_when_allowed() -> None:
    with pytest.raises(PeriodSyntaxError, match="year is missing"):
        parse_period("Tháng 1")
    p = parse_period("Quý III", allow_no_year=True)
    assert (p.freq, p.year, p.sub) == ("Q", None, 3)


def test_serial_numbers() -> None:
    assert parse_period(43466, serial=True).iso == "2019-01"  # 2019-01-01
    assert parse_period(45322.5, serial=True).iso == "2024-01"  # 2024-01-31 noon


# -- numbers ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "comma", "dot"),
    [
        ("1.234,5", 1234.5, None),
        ("1 234,5", 1234.5, None),
        ("1\u00a0234,5", 1234.5, None),
        ("1\u202f234\u202f567", 1234567.0, 1234567.0),
        ("1,234.5", None, 1234.5),
        ("1 234.5", None, 1234.5),
        ("12,5", 12.5, None),
        ("0,123", 0.123, None),
        ("0.123", None, 0.123),
        ("1.234", 1234.0, 1.234),
        ("1,234", 1.234, 1234.0),
        ("1.234.567", 1234567.0, None),
        ("1,234,567", None, 1234567.0),
        ("1234", 1234.0, 1234.0),
        ("-5,2", -5.2, None),
        ("\u22125,2", -5.2, None),
        ("1.5e-05", None, 1.5e-05),
    ],
)
def test_number_readings(text: str, comma: float | None, dot: float | None) -> None:
    nt = read_number_text(text)
    assert nt is not None
    assert nt.comma == pytest.approx(comma) if comma is not None else nt.comma is None
    assert nt.dot == pytest.approx(dot) if dot is not None else nt.dot is None


@pytest.mark.parametrize("text", ["abc", "1.23.4", "12,34,5", "1 23", "1,2.3,4", "--5", "5 %%"])
def test_not_numbers(text: str) -> None:
    assert read_number_text(text) is None


def test_percent_is_kept_in_percent() -> None:
    nt = read_number_text("5,2%")
    assert nt is not None and nt.percent and nt.comma == pytest.approx(5.2)


# -- LONG ------------------------------------------------------------------------------------------
def test_legacy_period_value_csv_reads_as_before() -> None:
    """The service's existing 'period,value' files (English header, '.' decimals) read unchanged."""
    data = csv_bytes([("period", "value"), ("2024-01", "1.5"), ("2024-02", "2.25"), ("2024-03", "3")])
    r = read_table(data, "x.csv")
    assert r.layout == Layout.LONG and r.frequency == "M" and r.decimal == "."
    assert obs(r) == [(None, "2024-01", 1.5), (None, "2024-02", 2.25), (None, "2024-03", 3.0)]
    assert r.warnings == ()


def test_english_header_ambiguous_numbers_default_to_dot_with_warning() -> None:
    data = csv_bytes([("period", "value"), ("2024-01", "1.234"), ("2024-02", "2.500")])
    r = read_table(data, "x.csv")
    assert [o.value for o in r.observations] == [1.234, 2.5]
    assert len(r.warnings) == 1 and "decimal=','" in r.warnings[0].fix_en


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("sep", [";", ",", "\t"])
def test_vietnamese_long_csv(sep: str, bom: bool) -> None:
    rows = [
        ("Kỳ", "Giá trị"),
        ("Tháng 1/2024", "1.234,5"),
        ("Tháng 2/2024", "1.300"),
        ("Tháng 3/2024", "980,25"),
    ]
    r = read_table(csv_bytes(rows, sep, bom), "bieu.csv")
    assert r.delimiter == sep
    assert obs(r) == [(None, "2024-01", 1234.5), (None, "2024-02", 1300.0), (None, "2024-03", 980.25)]
    assert r.decimal == ","
    # '1.300' was ambiguous: resolved by the file, and said so with the evidence
    (w,) = r.warnings
    assert w.row == 3 and "1.234,5" in w.vi and "decimal='.'" in w.fix_vi


@pytest.mark.parametrize(
    ("period_header", "value_header"),
    [
        ("KỲ", "GIÁ TRỊ"),
        ("Ky", "Gia tri"),
        ("thời gian", "Số liệu"),
        ("Thoi gian", "so lieu"),
        ("Tháng", "Thực hiện"),
        ("  Kỳ  báo cáo ", "Giá trị (tỷ đồng)"),
        ("ds", "y"),
        ("Date", "Value"),
    ],
)
def test_header_words(period_header: str, value_header: str) -> None:
    data = csv_bytes([(period_header, value_header), ("01/2024", "5"), ("02/2024", "6")], ";")
    r = read_table(data)
    assert obs(r) == [(None, "2024-01", 5.0), (None, "2024-02", 6.0)]
    roles = {c.header: c.role for c in r.columns}
    assert list(roles.values()) == ["period", "value"]


def test_title_unit_and_note_rows_around_a_long_table() -> None:
    rows: list[Sequence[Any]] = [
        ("SỞ TÀI CHÍNH TỈNH LÂM ĐỒNG",),
        ("THU NGÂN SÁCH NHÀ NƯỚC THEO THÁNG",),
        ("ĐVT: tỷ đồng",),
        (),
        ("STT", "Thời gian", "Giá trị", "Ghi chú"),
        ("1", "T1/2023", "1.050,5", ""),
        ("2", "T2/2023", "980,0", "sơ bộ"),
        ("3", "T3/2023", "1.120", ""),
        (),
        ("Ghi chú: số liệu tháng 3 là ước tính",),
        ("Nguồn: Kho bạc Nhà nước",),
    ]
    r = read_table(csv_bytes(rows, ";"), "thu.csv")
    assert r.header_row == 5
    assert r.unit == "tỷ đồng"
    assert obs(r) == [(None, "2023-01", 1050.5), (None, "2023-02", 980.0), (None, "2023-03", 1120.0)]
    assert [c.role for c in r.columns] == ["ignored", "period", "value", "ignored"]
    notes = [w for w in r.warnings if "ghi chú" in w.vi]
    assert notes and notes[0].row == 10 and "10-11" in notes[0].vi


def test_quarterly_and_yearly_long() -> None:
    q = read_table(csv_bytes([("Quý", "Giá trị"), ("Quý I/2016", "1"), ("Q2/2016", "2"), ("2016Q3", "3")]))
    assert q.frequency == "Q" and [o.period for o in q.observations] == ["2016-Q1", "2016-Q2", "2016-Q3"]
    y = read_table(csv_bytes([("Năm", "Giá trị"), ("Năm 2019", "1"), ("2020", "2")]))
    assert y.frequency == "Y" and [o.period for o in y.observations] == ["2019", "2020"]


def test_year_and_month_columns_are_combined() -> None:
    rows = [("Năm", "Tháng", "Giá trị"), ("2023", "11", "1"), ("2023", "Tháng 12", "2"), (2024, "T1", "3")]
    r = read_table(csv_bytes(rows))
    assert [o.period for o in r.observations] == ["2023-11", "2023-12", "2024-01"]
    assert [c.role for c in r.columns] == ["year", "month", "value"]
    rq = read_table(csv_bytes([("Năm", "Quý", "Giá trị"), ("2023", "IV", "1"), ("2024", "1", "2")]))
    assert [o.period for o in rq.observations] == ["2023-Q4", "2024-Q1"]


def test_value_column_without_a_known_name_is_taken_with_a_warning() -> None:
    r = read_table(csv_bytes([("period", "exports"), ("2024-01", "1.5")]))
    assert obs(r) == [(None, "2024-01", 1.5)]
    assert r.warnings[0].column == "exports"


def test_expected_frequency_is_checked() -> None:
    data = csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1"), ("02/2024", "2")])
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(frequency="Q"))
    assert problems(e) == [(2, "Kỳ"), (3, "Kỳ")]
    assert "chỉ tiêu theo quý" in e.value.problems[0].vi


def test_mixed_frequencies_are_errors_on_the_odd_rows() -> None:
    data = csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1"), ("02/2024", "2"), ("Quý I/2024", "3")])
    with pytest.raises(IntakeError) as e:
        read_table(data)
    assert problems(e) == [(4, "Kỳ")]


def test_duplicate_periods_are_errors() -> None:
    data = csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1"), ("Tháng 1/2024", "2")])
    with pytest.raises(IntakeError) as e:
        read_table(data)
    assert problems(e) == [(3, "Giá trị")]
    assert "dòng 2" in e.value.problems[0].vi


def test_missing_marks_are_left_out_with_one_warning() -> None:
    rows = [("Kỳ", "Giá trị"), ("01/2024", "1"), ("02/2024", "-"), ("03/2024", ".."), ("04/2024", "x"), ("05/2024", "")]
    r = read_table(csv_bytes(rows))
    assert obs(r) == [(None, "2024-01", 1.0)]
    (w,) = r.warnings
    assert w.row == 3 and "4 ô" in w.vi and "3, 4, 5, 6" in w.vi


def test_percentages() -> None:
    r = read_table(csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "5,2%"), ("02/2024", "-0,8 %")], ";"))
    assert [o.value for o in r.observations] == [5.2, -0.8]
    assert any("%" in w.vi for w in r.warnings)


def test_decimal_option_overrides() -> None:
    data = csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1.234"), ("02/2024", "2.5")], ";")
    assert [o.value for o in read_table(data).observations] == [1.234, 2.5]  # '2.5' shows the dot
    forced = read_table(csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1.234")], ";"), options=IntakeOptions(decimal="."))
    assert forced.observations[0].value == 1.234 and forced.decimal == "."
    vi_default = read_table(csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1.234")], ";"))
    assert vi_default.observations[0].value == 1234.0  # Vietnamese header, no evidence: thousands


def test_decimal_option_contradicted_by_a_cell_names_the_fix() -> None:
    data = csv_bytes([("Kỳ", "Giá trị"), *[(f"{m:02d}/2024", "1,0") for m in range(1, 12)], ("12/2024", "1.234,5")])
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(decimal="."))
    assert problems(e)[0] == (2, "Giá trị")
    text = e.value.problems[-1].text("vi")
    assert text.startswith("dòng 13, cột 'Giá trị': '1.234,5' — ") and "decimal=','" in text


def test_excel_serial_numbers_in_a_date_column() -> None:
    data = csv_bytes([("ds", "y"), ("43466", "1"), ("43497", "2"), ("43525", "3")])
    r = read_table(data)
    assert [o.period for o in r.observations] == ["2019-01", "2019-02", "2019-03"]
    assert any("43466 = 2019-01-01" in w.en for w in r.warnings)


def test_years_are_not_mistaken_for_serials() -> None:
    r = read_table(csv_bytes([("Năm", "Giá trị"), ("2019", "1"), ("2020", "2")]))
    assert [o.period for o in r.observations] == ["2019", "2020"]


# -- LONG_MULTI ------------------------------------------------------------------------------------
def test_unique_id_ds_y() -> None:
    rows = [("unique_id", "ds", "y")] + [(u, p, v) for u in ("a", "b") for p, v in month_rows(3)]
    r = read_table(csv_bytes(rows))
    assert r.layout == Layout.LONG_MULTI and r.codes == ["a", "b"]
    assert r.by_code()["b"] == [("2019-01", 0.0), ("2019-02", 1.0), ("2019-03", 2.0)]


def test_long_multi_matched_to_the_catalogue_by_name_and_code() -> None:
    rows = [
        ("Mã chỉ tiêu", "Chỉ tiêu", "Kỳ", "Số liệu"),
        ("", "Thu ngân sách", "Q1/2024", "10,5"),
        ("", "THU NGAN SACH", "Q2/2024", "11,5"),
        ("BL", "", "Q1/2024", "7"),
        ("zz", "Chỉ tiêu lạ", "Q1/2024", "1"),
        ("zz", "Chỉ tiêu lạ", "Q2/2024", "2"),
    ]
    cat = (("thu_ns", "Thu ngân sách"), ("bl", "Bán lẻ"))
    r = read_table(csv_bytes(rows, ";"), options=IntakeOptions(catalogue=cat))
    assert obs(r) == [("thu_ns", "2024-Q1", 10.5), ("thu_ns", "2024-Q2", 11.5), ("bl", "2024-Q1", 7.0)]
    (u,) = r.unmatched
    assert (u.row, u.code, u.n_values) == (5, "zz", 2)


def test_long_multi_missing_code_is_an_error() -> None:
    rows = [("unique_id", "ds", "y"), ("a", "2019-01", "1"), ("", "2019-02", "2")]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows))
    assert problems(e) == [(3, "unique_id")]


# -- WIDE ------------------------------------------------------------------------------------------
CATALOGUE = (
    ("thu_ns", "Thu ngân sách nhà nước"),
    ("ban_le", "Tổng mức bán lẻ hàng hóa và dịch vụ"),
    ("khach", "Lượt khách du lịch"),
)


def bieu_rows(title_year: str = "NĂM 2024") -> list[list[Any]]:
    return [
        ["ỦY BAN NHÂN DÂN TỈNH LÂM ĐỒNG"],
        [f"BÁO CÁO TÌNH HÌNH KINH TẾ - XÃ HỘI {title_year}"],
        ["Đơn vị tính: tỷ đồng"],
        [],
        ["STT", "Chỉ tiêu", "ĐVT", *[f"Tháng {i}" for i in range(1, 13)], "6 tháng đầu năm", "Cùng kỳ (%)"],
        ["I", "KINH TẾ"],
        ["1", "Thu ngân sách nhà nước", "tỷ đồng", *[1000.5 + i for i in range(6)], *[None] * 6, 6015, 105.2],
        ["2", "tong muc ban le hang hoa va  dich vu", "tỷ đồng", *[f"{2000 + i},5" for i in range(4)], "-", ".."],
        ["3", "Lượt khách du lịch (*)", "nghìn lượt", 500, 520],
        ["4", "Chỉ tiêu không có trong danh mục", "%", 1, 2, 3],
        ["Ghi chú: (*) số liệu sơ bộ"],
        ["Người lập biểu", "", "", "", "Thủ trưởng đơn vị"],
    ]


def test_wide_report_xlsx_with_titles_merged_cells_and_catalogue() -> None:
    data = xlsx_bytes(
        {"Hướng dẫn": [["Điền số liệu vào trang 'Số liệu'"]], "Số liệu": bieu_rows()},
        merges={"Số liệu": ["A1:Q1", "A2:Q2", "A3:Q3"]},
    )
    r = read_table(data, "bieu.xlsx", options=IntakeOptions(catalogue=CATALOGUE))
    assert r.layout == Layout.WIDE and r.file_format == "xlsx"
    assert r.sheet == "Số liệu" and r.sheets == ("Hướng dẫn", "Số liệu")
    assert r.header_row == 5 and r.frequency == "M" and r.unit == "tỷ đồng"
    by = r.by_code()
    assert by["thu_ns"] == [(f"2024-{m:02d}", 1000.5 + m - 1) for m in range(1, 7)]
    assert by["ban_le"] == [(f"2024-{m:02d}", 2000.5 + m - 1) for m in range(1, 5)]
    assert by["khach"] == [("2024-01", 500.0), ("2024-02", 520.0)]
    assert [(u.row, u.name, u.n_values) for u in r.unmatched] == [
        (6, "KINH TẾ", 0),
        (10, "Chỉ tiêu không có trong danh mục", 3),
    ]
    roles = {c.header: (c.letter, c.role, c.period) for c in r.columns}
    assert roles["Chỉ tiêu"] == ("B", "name", None)
    assert roles["Tháng 12"] == ("O", "period", "2024-12")
    assert roles["6 tháng đầu năm"][1] == "skipped" and roles["Cùng kỳ (%)"][1] == "skipped"
    said = " ".join(w.vi for w in r.warnings)
    assert "'Số liệu'" in said and "6 tháng đầu năm" not in said  # column names are in w.column
    assert {w.column for w in r.warnings} >= {"6 tháng đầu năm", "Cùng kỳ (%)"}
    assert "lấy từ tiêu đề" in said and "ghi chú" in said


def test_wide_without_catalogue_keeps_names_and_skips_headings() -> None:
    r = read_table(xlsx_bytes({"S": bieu_rows()}))
    assert r.codes == [
        "Thu ngân sách nhà nước",
        "tong muc ban le hang hoa va dich vu",
        "Lượt khách du lịch (*)",
        "Chỉ tiêu không có trong danh mục",
    ]
    assert r.unmatched == ()


def test_wide_csv_with_years_in_headers() -> None:
    rows = [
        ("Mã", "Tên chỉ tiêu", "Tháng 11/2023", "T12/2023", "01/2024", "Năm 2023"),
        ("thu_ns", "Thu NS", "1.000", "1.100,5", "900", "12.000"),
        ("khach", "Khách", "50", "60", "70", "600"),
    ]
    r = read_table(csv_bytes(rows, ";"), options=IntakeOptions(catalogue=CATALOGUE))
    assert r.frequency == "M"
    assert r.by_code()["thu_ns"] == [("2023-11", 1000.0), ("2023-12", 1100.5), ("2024-01", 900.0)]
    skipped = [w for w in r.warnings if w.column == "Năm 2023"]
    assert skipped and "frequency='Y'" in skipped[0].fix_en
    yearly = read_table(csv_bytes(rows, ";"), options=IntakeOptions(catalogue=CATALOGUE, frequency="Y"))
    assert obs(yearly) == [("thu_ns", "2023", 12000.0), ("khach", "2023", 600.0)]


def test_wide_year_column() -> None:
    rows = [
        ["Chỉ tiêu", "Năm", "Quý I", "Quý II", "Quý III", "Quý IV"],
        ["I. DU LỊCH"],
        ["Lượt khách du lịch"],  # matched, no year, no data yet: nothing to read, not an error
        ["Lượt khách du lịch", 2023, 10, 11, 12, 13],
        ["Lượt khách du lịch", 2024, 14, 15],
    ]
    r = read_table(xlsx_bytes({"S": rows}), options=IntakeOptions(catalogue=CATALOGUE))
    assert r.frequency == "Q"
    assert [p for p, _ in r.by_code()["khach"]] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2"]


def test_wide_two_level_header_years_over_months() -> None:
    rows = [
        ["Chỉ tiêu", "Năm 2023", None, None, "Năm 2024", None],
        [None, "Tháng 10", "Tháng 11", "Tháng 12", "Tháng 1", "Tháng 2"],
        ["Thu ngân sách nhà nước", 1, 2, 3, 4, 5],
    ]
    data = xlsx_bytes({"S": rows}, merges={"S": ["A1:A2", "B1:D1", "E1:F1"]})
    r = read_table(data, options=IntakeOptions(catalogue=CATALOGUE))
    assert r.header_row == 2
    assert r.by_code()["thu_ns"] == [
        ("2023-10", 1.0),
        ("2023-11", 2.0),
        ("2023-12", 3.0),
        ("2024-01", 4.0),
        ("2024-02", 5.0),
    ]


def test_wide_single_year_group_row_above_months() -> None:
    rows = [["", "Năm 2022"], ["Chỉ tiêu", "Tháng 1", "Tháng 2"], ["Khách", "1", "2"]]
    r = read_table(csv_bytes(rows))
    assert obs(r) == [("Khách", "2022-01", 1.0), ("Khách", "2022-02", 2.0)]


def test_wide_quarters_year_from_option_and_missing_year_error() -> None:
    rows = [("Chỉ tiêu", "Quý I", "Quý II"), ("Khách", "1", "2")]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows))
    assert "year=" in e.value.problems[0].fix_en and e.value.problems[0].row == 1
    r = read_table(csv_bytes(rows), options=IntakeOptions(year=2021))
    assert [o.period for o in r.observations] == ["2021-Q1", "2021-Q2"]


def test_wide_title_with_two_years_is_ambiguous() -> None:
    data = xlsx_bytes({"S": bieu_rows("6 THÁNG NĂM 2024 SO VỚI NĂM 2023")})
    with pytest.raises(IntakeError) as e:
        read_table(data)
    assert "2023, 2024" in e.value.problems[0].vi


def test_wide_excel_date_headers() -> None:
    rows = [["Chỉ tiêu", datetime(2024, 1, 1), datetime(2024, 2, 1)], ["Khách", 1, 2]]
    r = read_table(xlsx_bytes({"S": rows}))
    assert [o.period for o in r.observations] == ["2024-01", "2024-02"]


def test_wide_ambiguous_catalogue_name_is_unmatched_with_reason() -> None:
    cat = (("a", "Thu"), ("b", "Thư"), ("c", "Khách"))
    rows = [("Chỉ tiêu", "Tháng 1/2024"), ("Thú", "1"), ("Thư", "2"), ("khach", "3"), ("THU", "4")]
    r = read_table(csv_bytes(rows), options=IntakeOptions(catalogue=cat))
    # exact (case-insensitive) names win; only a row whose folded name fits both is left out
    assert obs(r) == [("b", "2024-01", 2.0), ("c", "2024-01", 3.0), ("a", "2024-01", 4.0)]
    (u,) = r.unmatched
    assert u.row == 2 and "a, b" in u.reason_en


def test_wide_row_matched_twice_is_an_error() -> None:
    rows = [("Chỉ tiêu", "Tháng 1/2024"), ("Thu ngân sách nhà nước", "1"), ("THU NGÂN SÁCH NHÀ NƯỚC", "2")]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows), options=IntakeOptions(catalogue=CATALOGUE))
    assert problems(e) == [(3, "Chỉ tiêu")]


def test_wide_values_without_a_name_are_errors() -> None:
    rows = [("Chỉ tiêu", "Tháng 1/2024", "Tháng 2/2024"), ("Khách", "1", "2"), ("", "3", "4")]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows))
    assert problems(e) == [(3, "Chỉ tiêu")]


# -- XLSX specifics --------------------------------------------------------------------------------
def test_xlsx_long_with_excel_dates_and_title() -> None:
    rows = [
        ["Khách du lịch quốc tế đến tỉnh"],
        ["Thời gian", "Giá trị"],
        *[[datetime(2023, m, 1), 100 + m] for m in range(1, 13)],
    ]
    data = xlsx_bytes({"Data": rows}, number_formats={"Data": {f"A{i}": "mm/yyyy" for i in range(3, 15)}})
    r = read_table(data)
    assert r.header_row == 2 and r.frequency == "M" and len(r.observations) == 12
    assert r.observations[0].period == "2023-01" and r.observations[0].value == 101.0


def test_quarter_end_dates_are_inferred_quarterly() -> None:
    rows = [["date", "value"], *[[datetime(2023, m, 28), m] for m in (3, 6, 9, 12)]]
    r = read_table(xlsx_bytes({"S": rows}))
    assert r.frequency == "Q" and [o.period for o in r.observations] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]


def test_monthly_dates_read_as_their_quarter_when_quarterly_expected() -> None:
    rows = [["date", "value"], [datetime(2023, 1, 1), 1], [datetime(2023, 4, 1), 2]]
    r = read_table(xlsx_bytes({"S": rows}), options=IntakeOptions(frequency="Q"))
    assert [o.period for o in r.observations] == ["2023-Q1", "2023-Q2"]


def test_sheet_option_and_unknown_sheet() -> None:
    long_rows = [["Kỳ", "Giá trị"], ["01/2024", 1]]
    data = xlsx_bytes({"A": long_rows, "B": [["Kỳ", "Giá trị"], ["01/2024", 2]]})
    r = read_table(data)
    assert r.sheet == "A" and "B" in r.warnings[0].vi and "sheet" in r.warnings[0].fix_en
    assert read_table(data, options=IntakeOptions(sheet="b")).observations[0].value == 2.0
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(sheet="C"))
    assert "A, B" in str(e.value)


def test_text_numbers_in_xlsx_cells_follow_the_convention() -> None:
    rows = [["Kỳ", "Giá trị"], ["01/2024", "1.234,5"], ["02/2024", 17.25], ["03/2024", "2.000"]]
    r = read_table(xlsx_bytes({"S": rows}))
    assert [o.value for o in r.observations] == [1234.5, 17.25, 2000.0]


# -- errors ----------------------------------------------------------------------------------------
def test_half_right_file_gives_errors_for_the_bad_rows_and_no_observations() -> None:
    rows = [("Kỳ", "Giá trị")] + [(f"{m:02d}/2023", f"{m},5") for m in range(1, 13)]
    rows[4] = ("04/2023", "bốn")
    rows[7] = ("Tháng 13/2023", "1")
    rows[9] = ("", "5")
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows, ";"))
    err = e.value
    assert isinstance(err, ValueError) and err.code == "invalid_file"
    assert problems(e) == [(5, "Giá trị"), (8, "Kỳ"), (10, "Kỳ")]
    p = err.problems[0]
    assert (p.value, p.vi, p.en) == ("bốn", "không phải số", "not a number") and p.fix_vi and p.fix_en
    assert "tháng phải từ 1 đến 12" in err.problems[1].vi
    assert err.detail["total"] == 3 and json.dumps(err.detail, ensure_ascii=False)


def test_problems_are_capped_and_counted() -> None:
    rows = [("Kỳ", "Giá trị")] + [(f"{1900 + i}", "?") for i in range(120)]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows), options=IntakeOptions(limits=IntakeLimits(max_problems=50)))
    assert e.value.total == 120 and len(e.value.problems) == 50 and e.value.detail["shown"] == 50


def test_undecodable_bytes() -> None:
    data = unicodedata.normalize("NFD", "Kỳ;Giá trị\nTháng 1/2024;5\n").encode("cp1258")  # as Excel saves it
    with pytest.raises(IntakeError) as e:
        read_table(data, "x.csv")
    assert e.value.code == "not_utf8" and e.value.problems[0].row == 1 and "UTF-8" in e.value.problems[0].fix_vi


def test_utf16_with_bom() -> None:
    data = "Kỳ\tGiá trị\r\nTháng 1/2024\t5\r\n".encode("utf-16")
    assert obs(read_table(data)) == [(None, "2024-01", 5.0)]


def test_no_header() -> None:
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes([("a", "b"), ("1", "2")]))
    assert e.value.code == "no_header" and "'1 | 2'" not in str(e.value)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf\r\n  \n"])
def test_empty(data: bytes) -> None:
    with pytest.raises(IntakeError) as e:
        read_table(data)
    assert e.value.code == "empty_file"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls"),
        (b"period,value\n2024-01,1\n", "x.xlsx"),
        (b"PK\x03\x04garbage", "x.xlsx"),
    ],
)
def test_unsupported_formats(data: bytes, name: str) -> None:
    with pytest.raises(IntakeError) as e:
        read_table(data, name)
    assert e.value.code == "unsupported_format"


def test_zip_without_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<x/>")
    with pytest.raises(IntakeError) as e:
        read_table(buf.getvalue(), "x.xlsx")
    assert e.value.code == "unsupported_format"


def test_option_values_are_checked() -> None:
    with pytest.raises(ValueError, match="decimal"):
        read_table(b"a", options=IntakeOptions(decimal=";"))  # type: ignore[arg-type]


def test_to_dict_is_json() -> None:
    r = read_table(xlsx_bytes({"S": bieu_rows()}), options=IntakeOptions(catalogue=CATALOGUE))
    d = json.loads(json.dumps(r.to_dict(max_observations=2), ensure_ascii=False))
    assert d["layout"] == "wide" and d["n_observations"] == 12 and len(d["observations"]) == 2
    assert d["observations"][0] == {
        "code": "thu_ns",
        "period": "2024-01",
        "value": 1000.5,
        "row": 7,
        "column": "Tháng 1",
    }
    assert d["unmatched"][1]["name"] == "Chỉ tiêu không có trong danh mục"
    assert d["warnings"][0]["text_vi"] and d["warnings"][0]["text_en"]


# -- limits ----------------------------------------------------------------------------------------
def test_byte_row_and_cell_caps() -> None:
    data = csv_bytes([("period", "value"), *month_rows(50)])
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(limits=IntakeLimits(max_bytes=100)))
    assert e.value.code == "too_large"
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(limits=IntakeLimits(max_rows=40)))
    assert e.value.code == "too_large" and "40" in e.value.problems[0].en
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(limits=IntakeLimits(max_cells=60)))
    assert e.value.code == "too_large"
    assert len(read_table(data, options=IntakeOptions(limits=IntakeLimits(max_rows=51))).observations) == 50


@pytest.mark.parametrize("dimension", [True, False])
def test_xlsx_row_cap_with_and_without_declared_dimension(dimension: bool) -> None:
    data = raw_xlsx(300, dimension=dimension)
    assert len(read_table(data).observations) == 300
    with pytest.raises(IntakeError) as e:
        read_table(data, options=IntakeOptions(limits=IntakeLimits(max_rows=100)))
    assert e.value.code == "too_large"


def test_wrong_declared_dimension_does_not_cut_data() -> None:
    data = raw_xlsx(50).replace(b'<dimension ref="A1:B51"/>', b'<dimension ref="A1:B3"/>')
    assert len(read_table(data).observations) == 50


def test_zip_bomb_is_refused_before_inflating() -> None:
    """A 300 MiB sheet of zeros compresses to ~300 KiB; its declared size refuses it without inflating."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(300):
                f.write(block)
    data = buf.getvalue()
    assert len(data) < 2 * 2**20
    t0 = time.perf_counter()
    with pytest.raises(IntakeError) as e:
        read_table(data, "bomb.xlsx")
    assert time.perf_counter() - t0 < 1.0
    assert e.value.code == "too_large" and "MiB" in e.value.problems[0].en


def test_too_many_zip_entries() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(30):
            zf.writestr(f"x/{i}", "")
    with pytest.raises(IntakeError) as e:
        read_table(buf.getvalue(), options=IntakeOptions(limits=IntakeLimits(max_xlsx_entries=20)))
    assert e.value.code == "too_large"


@pytest.mark.slow
def test_hundred_thousand_rows_parse_in_seconds() -> None:
    data = csv_bytes([("unique_id", "ds", "y"), *many_series_rows(100_000)])
    t0 = time.perf_counter()
    r = read_table(data)
    csv_s = time.perf_counter() - t0
    assert len(r.observations) == 100_000
    xdata = raw_xlsx(100_000)
    t0 = time.perf_counter()
    rx = read_table(xdata)
    xlsx_s = time.perf_counter() - t0
    assert len(rx.observations) == 100_000
    # generous bounds for a shared 2-core machine; see the report for measured figures
    assert csv_s < 10 and xlsx_s < 20


@pytest.mark.slow
def test_million_row_files_are_refused_by_the_row_cap_quickly() -> None:
    csv_data = csv_bytes([("unique_id", "ds", "y"), *many_series_rows(1_000_000)])
    t0 = time.perf_counter()
    with pytest.raises(IntakeError) as e:
        read_table(csv_data)
    assert e.value.code == "too_large" and time.perf_counter() - t0 < 10
    xdata = raw_xlsx(1_000_000)
    t0 = time.perf_counter()
    with pytest.raises(IntakeError) as e:
        read_table(xdata)
    assert e.value.code == "too_large" and time.perf_counter() - t0 < 2  # the declared dimension refuses it
    t0 = time.perf_counter()
    with pytest.raises(IntakeError) as e:
        read_table(raw_xlsx(1_000_000, dimension=False))
    assert e.value.code == "too_large" and time.perf_counter() - t0 < 20  # counted while streaming


# -- notes that are not footers, helpers for the service -------------------------------------------
def test_indicator_named_like_a_note_is_not_a_footer() -> None:
    rows = [
        ("Chỉ tiêu", "Tháng 1/2024", "Tháng 2/2024"),
        ("Nguồn vốn đầu tư", "10", "11"),
        ("Thu ngân sách", "1", "2"),
        ("Nguồn: Cục Thống kê",),
    ]
    r = read_table(csv_bytes(rows))
    assert r.codes == ["Nguồn vốn đầu tư", "Thu ngân sách"]
    assert any("ghi chú" in w.vi and w.row == 4 for w in r.warnings)


@pytest.mark.parametrize(
    ("footer", "is_footer_row"),
    [
        ("Ghi chú: số liệu sơ bộ", True),
        ("(*) Số liệu ước tính", True),
        ("KT. GIÁM ĐỐC", True),
        ("Đà Lạt, ngày 5 tháng 7 năm 2024", True),
        ("note_x", False),
        ("Source", False),
    ],
)
def test_footer_rows(footer: str, is_footer_row: bool) -> None:
    rows = [("unique_id", "ds", "y"), ("a", "2024-01", "1"), (footer,) if is_footer_row else (footer, "2024-01", "2")]
    r = read_table(csv_bytes(rows))
    assert len(r.observations) == (1 if is_footer_row else 2)


def test_two_level_header_with_a_year_total_column() -> None:
    rows = [
        ["Chỉ tiêu", "Năm 2023", None, "Cả năm 2023", "Ghi chú"],
        [None, "Quý III", "Quý IV", None, None],
        ["Lượt khách du lịch", 1, 2, 10, "sơ bộ"],
    ]
    data = xlsx_bytes({"S": rows}, merges={"S": ["A1:A2", "B1:C1", "D1:D2", "E1:E2"]})
    r = read_table(data, options=IntakeOptions(catalogue=CATALOGUE))
    assert obs(r) == [("khach", "2023-Q3", 1.0), ("khach", "2023-Q4", 2.0)]
    roles = {c.header: c.role for c in r.columns}
    assert roles == {
        "Chỉ tiêu": "name",
        "Quý III": "period",
        "Quý IV": "period",
        "Cả năm 2023": "skipped",
        "Ghi chú": "ignored",
    }
    yearly = read_table(data, options=IntakeOptions(catalogue=CATALOGUE, frequency="Y"))
    assert obs(yearly) == [("khach", "2023", 10.0)]


def test_one_series_and_frame() -> None:
    long = read_table(csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1")]))
    assert long.one_series() == [("2024-01", 1.0)]
    assert long.to_frame("x").to_dict("list") == {"unique_id": ["x"], "ds": ["2024-01"], "y": [1.0]}
    wide = read_table(xlsx_bytes({"S": bieu_rows()}), options=IntakeOptions(catalogue=CATALOGUE))
    assert wide.one_series("khach") == [("2024-01", 500.0), ("2024-02", 520.0)]
    with pytest.raises(IntakeError) as e:
        wide.one_series()
    assert e.value.code == "wrong_indicator" and "thu_ns" in str(e.value)
    with pytest.raises(IntakeError):
        wide.one_series("other")


def test_series_month_value_is_multi_series() -> None:
    rows = [("series", "month", "value"), ("a", "2014-01", "0.69"), ("b", "2014-01", "5.45")]
    r = read_table(csv_bytes(rows))
    assert r.layout == Layout.LONG_MULTI and obs(r) == [("a", "2014-01", 0.69), ("b", "2014-01", 5.45)]


def test_a_data_row_with_dates_is_not_taken_for_a_wide_header() -> None:
    """A GSO-derived table: several value columns, dates in data rows; the error names the way out."""
    rows = [
        ("", "Ngành", "Total-M", "YOY", "Date", "Month", "PreMonth"),
        ("0", "TỔNG TRỊ GIÁ", "31109.32", "25.67", "2025-02-28", "2025-02", "2025-01"),
        ("1", "Khu vực trong nước", "8388", "32.84", "2025-02-28", "2025-02", "2025-01"),
    ]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows))
    assert e.value.code == "no_header" and "'Total-M'" in e.value.problems[0].en
    assert "Giá trị" in e.value.problems[0].fix_vi


def test_forced_layouts() -> None:
    rows = [("Mã", "Kỳ", "Giá trị"), ("a", "01/2024", "1"), ("a", "02/2024", "2")]
    forced = read_table(csv_bytes(rows), options=IntakeOptions(layout=Layout.LONG))
    assert forced.layout == Layout.LONG and forced.one_series() == [("2024-01", 1.0), ("2024-02", 2.0)]
    assert [c.role for c in forced.columns] == ["ignored", "period", "value"]
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes(rows), options=IntakeOptions(layout=Layout.WIDE))
    assert e.value.code == "no_header"
    with pytest.raises(IntakeError) as e:
        read_table(csv_bytes([("Kỳ", "Giá trị"), ("01/2024", "1")]), options=IntakeOptions(layout=Layout.LONG_MULTI))
    assert e.value.code == "no_header"


def test_xlsx_serial_numbers_without_a_date_format() -> None:
    rows = [["Thời gian", "Giá trị"], [43466, 1], [43497, 2]]
    r = read_table(xlsx_bytes({"S": rows}))
    assert [o.period for o in r.observations] == ["2019-01", "2019-02"]


def test_row_cap_counts_records_not_lines_when_quoted() -> None:
    rows = [("Kỳ", "Giá trị", "Ghi chú")] + [(f"{m:02d}/2024", "1", "dòng 1\ndòng 2") for m in range(1, 13)]
    data = csv_bytes(rows)
    assert data.count(b"\n") > 20
    assert len(read_table(data, options=IntakeOptions(limits=IntakeLimits(max_rows=20))).observations) == 12
    with pytest.raises(IntakeError):
        read_table(data, options=IntakeOptions(limits=IntakeLimits(max_rows=10)))


def test_entity_expansion_bomb_is_refused() -> None:
    """A DTD that expands 'lol' 10^8 times in sharedStrings.xml: the XML parser's amplification limit refuses it."""
    good = raw_xlsx(5)
    entities = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info)
            if info.filename == "xl/sharedStrings.xml":
                text = part.decode().replace('<?xml version="1.0" encoding="UTF-8"?>', "")
                part = (f"<!DOCTYPE sst [{entities}]>" + text.replace("<t>s0</t>", "<t>&l8;</t>")).encode()
            zout.writestr(info, part)
    t0 = time.perf_counter()
    with pytest.raises(IntakeError) as e:
        read_table(buf.getvalue(), "x.xlsx")
    assert e.value.code == "unsupported_format" and time.perf_counter() - t0 < 5
