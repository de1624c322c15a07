"""Real demonstration indicators: national GSO headline series, international arrivals, Lâm Đồng budget.

Only the Lâm Đồng budget figures (CC0) are carried in the package (``forecasting/data/lam_dong_budget.csv``,
with attribution in its header). The national series are read by path from a directory laid out like
``shared/data/indicators``: ``vn_headline_monthly.csv`` (``series, month, value``) and
``vn_international_arrivals/monthly_vietnam_tourists.csv``. The 21 COVID-period arrival months that the
source marks "Hypothetical" (imputed by the repository author, not official) are left out of the observations
and listed in :attr:`DemoData.excluded`; the arrivals indicator says to forecast from 2022-01 (the post-COVID
regime). The IIP series miss 2017-05 in the source: that gap is kept (no value is invented).
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


def _lam_dong() -> tuple[list[IndicatorDef], dict[str, pd.DataFrame]]:
    with resources.files("forecasting").joinpath("data/lam_dong_budget.csv").open("r", encoding="utf-8") as f:
        df = pd.read_csv(f, comment="#")
    defs = [
        IndicatorDef(
            "lamdong_budget_revenue",
            "Tổng thu ngân sách nhà nước trên địa bàn tỉnh Lâm Đồng",
            "triệu đồng",
            "Y",
            MOF,
            "flow",
        ),
        IndicatorDef(
            "lamdong_budget_expenditure",
            "Tổng chi ngân sách địa phương tỉnh Lâm Đồng",
            "triệu đồng",
            "Y",
            MOF,
            "flow",
        ),
    ]
    obs = {
        "lamdong_budget_revenue": pd.DataFrame(
            {"period": df["year"].astype(str), "value": df["total_rev"].astype(float)}
        ),
        "lamdong_budget_expenditure": pd.DataFrame(
            {"period": df["year"].astype(str), "value": df["total_exp"].astype(float)}
        ),
    }
    return defs, obs


def load_demo(data_dir: str | Path | None = None) -> DemoData:
    """Load the demonstration indicators.

    Args:
        data_dir: a directory laid out like ``shared/data/indicators``; None loads only the shipped Lâm Đồng
            budget series. Missing files are skipped with a warning in the log.

    Returns:
        :class:`DemoData` with definitions, observations (``period`` 'YYYY-MM' or 'YYYY', ``value`` float) and
        the
        excluded rows (``code, period, value, reason``).
    """
    defs, obs = _lam_dong()
    excluded = pd.DataFrame(columns=["code", "period", "value", "reason"])
    if data_dir is None:
        return DemoData(tuple(_nfc_def(d) for d in defs), obs, excluded)
    root = Path(data_dir)
    if not root.is_dir():
        raise ForecastingError(f"demo data directory not found. Got: {str(root)!r}")
    head = root / "vn_headline_monthly.csv"
    if head.is_file():
        d = pd.read_csv(head, dtype={"month": str})
        for key, (code, name, unit, kind, note) in _HEADLINE.items():
            g = d[d["series"] == key].sort_values("month")
            if g.empty:
                continue
            defs.append(IndicatorDef(code, name, unit, "M", GSO, kind, None, note))
            obs[code] = pd.DataFrame({"period": g["month"].to_numpy(), "value": g["value"].astype(float).to_numpy()})
    else:
        logger.warning("demo: %s not found; national headline series skipped", head)
    arr = root / "vn_international_arrivals" / "monthly_vietnam_tourists.csv"
    if arr.is_file():
        a = pd.read_csv(arr)
        a.columns = [c.strip() for c in a.columns]
        dates = pd.to_datetime(a["Date"], format="%m/%d/%Y")
        period = dates.dt.strftime("%Y-%m")
        hypo = a["Data Status"].astype(str).str.strip().str.lower() == "hypothetical"
        code = "vn_intl_arrivals"
        defs.append(
            IndicatorDef(
                code,
                "Khách quốc tế đến Việt Nam",
                "lượt khách",
                "M",
                VNAT,
                "flow",
                "2022-01",
                "Không có số liệu chính thức 2020-04..2021-12 (COVID); dự báo từ 2022-01.",
            )
        )
        obs[code] = pd.DataFrame(
            {"period": period[~hypo].to_numpy(), "value": a.loc[~hypo, "All"].astype(float).to_numpy()}
        )
        excluded = pd.DataFrame(
            {
                "code": code,
                "period": period[hypo].to_numpy(),
                "value": a.loc[hypo, "All"].astype(float).to_numpy(),
                "reason": "marked 'Hypothetical' (imputed, not official) in the source",
            }
        )
    else:
        logger.warning("demo: %s not found; arrivals skipped", arr)
    return DemoData(tuple(_nfc_def(d) for d in defs), obs, excluded)


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
