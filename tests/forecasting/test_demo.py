"""The demo indicators ship in the package: a fresh clone shows the national series and the provincial budgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings
from forecasting.demo import load_demo, shipped_data_dir

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "indicators"  # development copy; absent outside this workspace


def test_shipped_demo_has_the_national_monthly_series_and_provincial_budgets() -> None:
    d = load_demo()
    by_code = {i.code: i for i in d.indicators}
    assert {"vn_exports", "vn_imports", "vn_retail_sales", "vn_cpi_yoy", "vn_iip_yoy", "vn_intl_arrivals"} <= set(
        by_code
    )
    for prov in ("lamdong", "daknong", "binhthuan", "khanhhoa", "ninhthuan", "daklak"):
        assert {f"{prov}_budget_revenue", f"{prov}_budget_expenditure"} <= set(by_code)
    exports = d.observations["vn_exports"]
    assert by_code["vn_exports"].frequency == "M" and exports["period"].iloc[-1] >= "2025-01"
    assert len(exports) >= 120
    rev = d.observations["lamdong_budget_revenue"]
    assert rev["period"].tolist()[0] == "2006" and rev["value"].iloc[-1] == 4141000.0
    assert "CC0" in by_code["lamdong_budget_revenue"].source
    assert by_code["daklak_budget_revenue"].name.endswith("Đắk Lắk")
    assert d.skipped == ()


def test_shipped_arrivals_leave_out_the_imputed_covid_months() -> None:
    d = load_demo()
    periods = set(d.observations["vn_intl_arrivals"]["period"])
    assert "2020-05" not in periods and "2022-01" in periods and "2019-12" in periods
    assert len(d.excluded) == 21 and d.excluded["value"].isna().all()  # the imputed numbers are not shipped


def test_shipped_files_are_small_attributed_and_inside_the_package() -> None:
    data = shipped_data_dir()
    assert data.resolve().is_relative_to(ROOT / "forecasting")
    files = sorted(p.name for p in data.glob("*.csv"))
    assert files == ["province_budget.csv", "vn_headline_monthly.csv", "vn_intl_arrivals.csv"]
    assert sum((data / f).stat().st_size for f in files) < 100_000
    source = (data / "SOURCE.md").read_text("utf-8")
    for name in [*files, "CC0", "GSO", "VNAT", "Hypothetical"]:
        assert name in source


def test_no_default_demo_path_points_outside_the_project() -> None:
    settings = Settings(data_dir=Path("var"))
    assert settings.forecasting.demo_data_dir is None
    assert not hasattr(settings, "resolved_demo_data_dir")


def test_a_directory_with_only_some_files_names_what_it_skipped(tmp_path: Path) -> None:
    (tmp_path / "province_budget.csv").write_bytes((shipped_data_dir() / "province_budget.csv").read_bytes())
    d = load_demo(tmp_path)
    assert {i.frequency for i in d.indicators} == {"Y"}
    assert len(d.skipped) == 2 and "vn_headline_monthly.csv" in d.skipped[0]


def test_an_empty_directory_is_an_error_naming_the_expected_files(tmp_path: Path) -> None:
    from forecasting import ForecastingError

    with pytest.raises(ForecastingError, match="vn_headline_monthly.csv"):
        load_demo(tmp_path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="development copy of shared/data/indicators not present")
def test_shared_layout_gives_the_same_series_as_the_shipped_copy() -> None:
    shipped, shared = load_demo(), load_demo(SHARED)
    assert [i.code for i in shipped.indicators] == [i.code for i in shared.indicators]
    for code, frame in shipped.observations.items():
        assert frame.equals(shared.observations[code]), code
