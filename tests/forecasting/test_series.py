from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from forecasting import SeriesError, parse_observations, read_long, series_from_values
from forecasting.series import parse_period


def csv(text: str) -> bytes:
    return text.encode("utf-8")


def xlsx(build) -> bytes:  # type: ignore[no-untyped-def]
    wb = openpyxl.Workbook()
    ws = wb.active
    build(ws)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("text", "freq", "expected"),
    [
        ("2024-03", None, ("M", 2024 * 12 + 2, True)),
        ("2024-Q2", None, ("Q", 2024 * 4 + 1, True)),
        ("2024Q4", None, ("Q", 2024 * 4 + 3, True)),
        ("2024", "Y", ("Y", 2024, True)),
        ("2024-05-31", "Q", ("Q", 2024 * 4 + 1, True)),
        ("17", None, ("I", 17, False)),
        (17, "M", ("M", 17, False)),
    ],
)
def test_parse_period(text, freq, expected) -> None:  # type: ignore[no-untyped-def]
    assert parse_period(text, freq) == expected


@pytest.mark.parametrize("bad", ["2024-13", "2024-02-30", "March 2024", "", "2024-Q5", 1.5])
def test_parse_period_rejects(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        parse_period(bad)


def test_csv_ok_and_sorted() -> None:
    s = parse_observations(csv("period,value\n2024-02,2\n2024-01,1\n2024-03,3.5\n"))
    assert s.freq == "M" and s.periods == ["2024-01", "2024-02", "2024-03"]
    np.testing.assert_allclose(s.values, [1, 2, 3.5])
    assert s.future_periods(2) == ["2024-04", "2024-05"]


def test_vietnamese_header_and_semicolon() -> None:
    s = parse_observations(csv("Period;Value\n2023;1.5\n2024;2\n"), freq="Y")
    assert s.periods == ["2023", "2024"]


def test_bad_date_names_line_and_column() -> None:
    with pytest.raises(SeriesError) as e:
        parse_observations(csv("period,value\n2024-01,1\n2024-13,2\n2024-03,3\n"))
    assert e.value.problems[0].line == 3 and e.value.problems[0].column == "period"
    assert "line 3" in str(e.value)


def test_duplicate_period() -> None:
    with pytest.raises(SeriesError) as e:
        parse_observations(csv("period,value\n2024-01,1\n2024-02,2\n2024-01,3\n"))
    p = e.value.problems[0]
    assert p.line == 4 and "duplicate" in p.problem and "line 2" in p.problem


def test_text_value_and_all_rows_reported() -> None:
    with pytest.raises(SeriesError) as e:
        parse_observations(csv("period,value\n2024-01,abc\n2024-02,\n2024-03,inf\n"))
    assert [p.line for p in e.value.problems] == [2, 3, 4]
    assert "abc" in str(e.value)


@pytest.mark.parametrize("data", [b"", b"   \n", b"period,value\n"])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(SeriesError, match="empty"):
        parse_observations(data, file_format="csv")


def test_missing_column() -> None:
    with pytest.raises(SeriesError) as e:
        parse_observations(csv("date,amount\n2024-01,1\n"))
    assert {p.column for p in e.value.problems} == {"period", "value"}


def test_gap_error_and_interpolate() -> None:
    data = csv("period,value\n2024-01,1\n2024-04,4\n")
    with pytest.raises(SeriesError, match="gaps: missing 2024-02, 2024-03"):
        parse_observations(data)
    s = parse_observations(data, on_gap="interpolate")
    np.testing.assert_allclose(s.values, [1, 2, 3, 4])
    assert s.imputed.tolist() == [False, True, True, False]


def test_too_short() -> None:
    with pytest.raises(SeriesError, match="too short"):
        parse_observations(csv("period,value\n2024,1\n"), freq="Y", min_length=3)


def test_mixed_frequencies() -> None:
    with pytest.raises(SeriesError, match="mixes"):
        parse_observations(csv("period,value\n2024-01,1\n2024-Q2,2\n"))


def test_quarterly_dates_inferred() -> None:
    s = parse_observations(csv("period,value\n2024-01-01,1\n2024-04-01,2\n2024-07-01,3\n"))
    assert s.freq == "Q" and s.periods == ["2024-Q1", "2024-Q2", "2024-Q3"]


def test_xlsx_ok() -> None:
    def build(ws):  # type: ignore[no-untyped-def]
        ws.append(["period", "value"])
        ws.append(["2024-01", 1.5])
        ws.append(["2024-02", 2])

    s = parse_observations(xlsx(build))
    np.testing.assert_allclose(s.values, [1.5, 2])


def test_xlsx_formula_refused() -> None:
    def build(ws):  # type: ignore[no-untyped-def]
        ws.append(["period", "value"])
        ws.append(["2024-01", 1])
        ws.append(["2024-02", "=B2*2"])

    with pytest.raises(SeriesError) as e:
        parse_observations(xlsx(build))
    assert e.value.problems[0].line == 3 and e.value.problems[0].column == "B3" and "formula" in str(e.value)


def test_xlsx_merged_cells_refused() -> None:
    def build(ws):  # type: ignore[no-untyped-def]
        ws.append(["period", "value"])
        ws.append(["2024-01", 1])
        ws.append(["2024-02", 2])
        ws.merge_cells("A2:A3")

    with pytest.raises(SeriesError, match="merged cells A2:A3"):
        parse_observations(xlsx(build))


def test_xlsx_garbage_bytes() -> None:
    with pytest.raises(SeriesError, match="XLSX"):
        parse_observations(b"PK\x03\x04garbage", file_format="xlsx")


def test_dataframe_lines_count_header() -> None:
    df = pd.DataFrame({"period": ["2024-01", "bad"], "value": [1, 2]})
    with pytest.raises(SeriesError) as e:
        parse_observations(df)
    assert e.value.problems[0].line == 3


def test_read_long_integer_index_with_freq() -> None:
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 30 + ["b"] * 5,
            "ds": list(range(1, 31)) + list(range(1, 6)),
            "y": np.arange(35.0),
        }
    )
    out = read_long(df, freq="M")
    assert [s.unique_id for s in out] == ["a", "b"]
    assert out[0].season_length == 12 and not out[0].calendar


def test_read_long_reports_all_series() -> None:
    data = csv("unique_id,ds,y\na,2024-01,1\na,2024-01,2\nb,2024-01,x\n,2024-02,3\n")
    with pytest.raises(SeriesError) as e:
        read_long(data)
    assert sorted(p.line for p in e.value.problems) == [3, 4, 5]


def test_series_from_values() -> None:
    s = series_from_values("a", [1, 2, 3], "Q", "2023-Q4")
    assert s.periods == ["2023-Q4", "2024-Q1", "2024-Q2"]
    with pytest.raises(SeriesError, match=r"values\[1\]"):
        series_from_values("a", [1, None, 3], "Q", "2023-Q4")
    with pytest.raises(SeriesError, match="start"):
        series_from_values("a", [1], "M", "yesterday")
