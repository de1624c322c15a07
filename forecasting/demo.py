"""Real demonstration indicators: national GSO headline series, international arrivals, provincial budgets.

All of them ship in the package (``forecasting/data``, attributed in ``forecasting/data/SOURCE.md``):
``vn_headline_monthly.csv`` (``series, month, value``), ``vn_intl_arrivals.csv`` (``month, value, status``)
and ``province_budget.csv`` (Lâm Đồng and its neighbours, yearly 2006-2015, CC0). :func:`load_demo` also
reads a directory laid out like ``shared/data/indicators`` (newer copies of the same sources). The 21
COVID-period arrival months that the source marks "Hypothetical" (imputed by the repository author, not
official) are left out of the observations and listed in :attr:`DemoData.excluded`; the arrivals indicator
says to forecast from 2022-01 (the post-COVID regime). The IIP series miss 2017-05 in the source: that gap
is kept (no value is invented).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from .errors import ForecastingError

__all__ = ["IndicatorDef", "DemoData", "load_demo"]

logger = logging.getLogger(__name__)

GSO = (
    "Tổng cục Thống kê (GSO/NSO), báo cáo tình hình kinh tế - xã hội hằng tháng (số ước tính lần đầu); "
    "bản sao "
    "tiện dụng: GitHub hiennguyen9874/vn-macroeconomics, commit 7abff03, thư mục csv/."
)
VNAT = (
    "Cục Du lịch Quốc gia Việt Nam (VNAT), thống kê khách quốc tế đến; bản sao: GitHub "
    "phuthiendao/monthly_vietnam_tourists, commit 376b4c2. Các tháng 2020-04..2021-12 được đánh dấu "
    "'Hypothetical' (ước lượng, không chính thức) đã bị loại."
)
MOF = (
    "Bộ Tài chính, cổng thông tin ngân sách; bản sao: R package vietnamdata (GitHub mdtrinh/vietnamdata, "
    "commit be581b8, giấy phép CC0). Đơn vị không ghi trong nguồn (độ lớn cho thấy triệu đồng)."
)


@dataclass(frozen=True)
class IndicatorDef:
    """Definition of an indicator.

    Attributes:
        code: identifier (``vn_exports``).
        name: Vietnamese name (NFC).
        unit: unit of the values (Vietnamese).
        frequency: ``M``, ``Q`` or ``Y``.
        source: citation.
        kind: ``flow`` (values add up over a year: exports, revenue) or ``stock`` (levels, rates, indices).
        forecast_from: first period to use for forecasting (a regime change before it), or None for all.
        note: caveats.
    """

    code: str
    name: str
    unit: str
    frequency: str
    source: str
    kind: str
    forecast_from: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class DemoData:
    """Indicator definitions, observations per code (``period, value`` in period order) and excluded rows."""

    indicators: tuple[IndicatorDef, ...]
    observations: dict[str, pd.DataFrame] = field(repr=False)
    excluded: pd.DataFrame = field(repr=False)
    #: parts of the demo whose files were missing (one line each); empty for the shipped data.
    skipped: tuple[str, ...] = ()


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


_HEADLINE = {
    "exports_total_musd": ("vn_exports", "Kim ngạch xuất khẩu hàng hóa (cả nước)", "triệu USD", "flow", None),
    "imports_total_musd": ("vn_imports", "Kim ngạch nhập khẩu hàng hóa (cả nước)", "triệu USD", "flow", None),
    "retail_sales_services_total_bn_vnd": (
        "vn_retail_sales",
        "Tổng mức bán lẻ hàng hóa và doanh thu dịch vụ tiêu dùng (cả nước)",
        "tỷ đồng",
        "flow",
        None,
    ),
    "iip_total_yoy_pct": (
        "vn_iip_yoy",
        "Chỉ số sản xuất công nghiệp (IIP) so với cùng kỳ năm trước",
        "%",
        "stock",
        "Nguồn thiếu tháng 2017-05.",
    ),
    "iip_total_mom_pct": (
        "vn_iip_mom",
        "Chỉ số sản xuất công nghiệp (IIP) so với tháng trước",
        "%",
        "stock",
        "Nguồn thiếu tháng 2017-05.",
    ),
    "cpi_total_yoy_pct": (
        "vn_cpi_yoy",
        "Chỉ số giá tiêu dùng (CPI) so với cùng kỳ năm trước",
        "%",
        "stock",
        None,
    ),
    "cpi_total_mom_pct": ("vn_cpi_mom", "Chỉ số giá tiêu dùng (CPI) so với tháng trước", "%", "stock", None),
}


_PROVINCES = {
    # source name: (code prefix, Vietnamese name)
    "Lam Dong": ("lamdong", "Lâm Đồng"),
    "Dak Nong": ("daknong", "Đắk Nông"),
    "Binh Thuan": ("binhthuan", "Bình Thuận"),
    "Khanh Hoa": ("khanhhoa", "Khánh Hòa"),
    "Ninh Thuan": ("ninhthuan", "Ninh Thuận"),
    "Dak Lak": ("daklak", "Đắk Lắk"),
}

#: The shipped files (``forecasting/data``) and, second, the layout of ``shared/data/indicators``.
_HEADLINE_FILES = ("vn_headline_monthly.csv",)
_ARRIVALS_FILES = ("vn_intl_arrivals.csv", "vn_international_arrivals/monthly_vietnam_tourists.csv")
_BUDGET_FILES = ("province_budget.csv", "vn_province_budget_mof/Vietnam_National_Budget_Final.csv")


def _budget(path: Path) -> tuple[list[IndicatorDef], dict[str, pd.DataFrame]]:
    df = pd.read_csv(path)
    df = df.rename(columns={"total.rev": "total_rev", "total.exp": "total_exp"})
    defs: list[IndicatorDef] = []
    obs: dict[str, pd.DataFrame] = {}
    for prov, (prefix, name) in _PROVINCES.items():
        g = df[df["prov"] == prov].sort_values("year")
        if g.empty:
            continue
        for column, what, title in (
            ("total_rev", "revenue", f"Tổng thu ngân sách nhà nước trên địa bàn tỉnh {name}"),
            ("total_exp", "expenditure", f"Tổng chi ngân sách địa phương tỉnh {name}"),
        ):
            code = f"{prefix}_budget_{what}"
            defs.append(IndicatorDef(code, title, "triệu đồng", "Y", MOF, "flow"))
            obs[code] = pd.DataFrame(
                {"period": g["year"].astype(str).to_numpy(), "value": g[column].astype(float).to_numpy()}
            )
    return defs, obs


def _headline(path: Path) -> tuple[list[IndicatorDef], dict[str, pd.DataFrame]]:
    d = pd.read_csv(path, dtype={"month": str})
    defs: list[IndicatorDef] = []
    obs: dict[str, pd.DataFrame] = {}
    for key, (code, name, unit, kind, note) in _HEADLINE.items():
        g = d[d["series"] == key].sort_values("month")
        if g.empty:
            continue
        defs.append(IndicatorDef(code, name, unit, "M", GSO, kind, None, note))
        obs[code] = pd.DataFrame({"period": g["month"].to_numpy(), "value": g["value"].astype(float).to_numpy()})
    return defs, obs


def _arrivals(path: Path) -> tuple[IndicatorDef, pd.DataFrame, pd.DataFrame]:
    a = pd.read_csv(path)
    a.columns = [c.strip() for c in a.columns]
    if "Date" in a.columns:  # the source's own layout
        period = pd.to_datetime(a["Date"], format="%m/%d/%Y").dt.strftime("%Y-%m")
        value, status = a["All"], a["Data Status"]
    else:  # the shipped tidy copy: month, value (empty where not official), status
        period, value, status = a["month"].astype(str), a["value"], a["status"]
    hypo = (status.astype(str).str.strip().str.lower() == "hypothetical").to_numpy()
    code = "vn_intl_arrivals"
    definition = IndicatorDef(
        code,
        "Khách quốc tế đến Việt Nam",
        "lượt khách",
        "M",
        VNAT,
        "flow",
        "2022-01",
        "Không có số liệu chính thức 2020-04..2021-12 (COVID); dự báo từ 2022-01.",
    )
    obs = pd.DataFrame({"period": period[~hypo].to_numpy(), "value": value[~hypo].astype(float).to_numpy()})
    excluded = pd.DataFrame(
        {
            "code": code,
            "period": period[hypo].to_numpy(),
            "value": value[hypo].astype(float).to_numpy(),
            "reason": "marked 'Hypothetical' (imputed, not official) in the source",
        }
    )
    return definition, obs, excluded


def _first(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_file()), None)


def shipped_data_dir() -> Path:
    """The directory of the demo files carried in the package (``forecasting/data``)."""
    return Path(str(resources.files("forecasting").joinpath("data")))


def load_demo(data_dir: str | Path | None = None) -> DemoData:
    """Load the demonstration indicators.

    Args:
        data_dir: None for the files shipped in the package (national headline series, international
            arrivals, budget of Lâm Đồng and five neighbouring provinces; see ``forecasting/data/SOURCE.md``),
            or a directory with the same files or laid out like ``shared/data/indicators``. A part whose
            file is missing there is skipped and named in :attr:`DemoData.skipped`.

    Returns:
        :class:`DemoData` with definitions, observations (``period`` 'YYYY-MM' or 'YYYY', ``value`` float)
        and the excluded rows (``code, period, value, reason``; ``value`` NaN where the shipped copy left
        the imputed number out).

    Raises:
        ForecastingError: ``data_dir`` is not a directory, or holds none of the demo files.
    """
    root = shipped_data_dir() if data_dir is None else Path(data_dir)
    if not root.is_dir():
        raise ForecastingError(
            f"demo data directory not found. Got: {str(root)!r}; expected a directory with "
            f"{_HEADLINE_FILES[0]}, {_ARRIVALS_FILES[0]} or {_BUDGET_FILES[0]}"
        )
    defs: list[IndicatorDef] = []
    obs: dict[str, pd.DataFrame] = {}
    excluded = pd.DataFrame(columns=["code", "period", "value", "reason"])
    skipped: list[str] = []
    head = _first(root, _HEADLINE_FILES)
    if head is not None:
        d, o = _headline(head)
        defs += d
        obs |= o
    else:
        skipped.append(f"national headline series: no {_HEADLINE_FILES[0]} in {root}")
    arr = _first(root, _ARRIVALS_FILES)
    if arr is not None:
        definition, o_arr, excluded = _arrivals(arr)
        defs.append(definition)
        obs[definition.code] = o_arr
    else:
        skipped.append(f"international arrivals: none of {', '.join(_ARRIVALS_FILES)} in {root}")
    budget = _first(root, _BUDGET_FILES)
    if budget is not None:
        d, o = _budget(budget)
        defs += d
        obs |= o
    else:
        skipped.append(f"provincial budgets: none of {', '.join(_BUDGET_FILES)} in {root}")
    for line in skipped:
        logger.warning("demo: %s; skipped", line)
    if not defs:
        raise ForecastingError(
            f"no demo files in {str(root)!r}; expected {_HEADLINE_FILES[0]}, {_ARRIVALS_FILES[0]} or "
            f"{_BUDGET_FILES[0]} (the layout of forecasting/data or shared/data/indicators)"
        )
    return DemoData(tuple(_nfc_def(d) for d in defs), obs, excluded, tuple(skipped))


def _nfc_def(d: IndicatorDef) -> IndicatorDef:
    return IndicatorDef(
        d.code,
        _nfc(d.name),
        _nfc(d.unit),
        d.frequency,
        _nfc(d.source),
        d.kind,
        d.forecast_from,
        _nfc(d.note) if d.note else None,
    )
