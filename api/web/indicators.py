"""Chỉ tiêu: the catalogue of indicators and one page per indicator, with its data as CSV/XLSX.

The server renders what a reader needs first and what works without JavaScript: the catalogue with each
indicator's latest value, an indicator's description and its data table. The charts (history, forecast and
bands, plan targets, anomalies; the X-13 seasonal adjustment), the accuracy in plain words, the target
probabilities and the analysts' tools (upload with a preview, targets and details edited in place) are drawn
by ``api/static/web/indicator.js`` from the ``/v1`` API, whose forecasts are cached per data and model version.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.auth import ANALYST
from api.deps import ServicesDep, SessionDep
from api.spreadsheet import safe_cell
from api.storage.tables import Indicator
from api.stores import anomalies as anomalies_store
from api.stores.indicators import current_values, extras, latest_values
from api.web.layout import PageUser, render, templates

__all__ = ["period_label", "router", "vi_number"]

router = APIRouter(include_in_schema=False)

CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
FREQUENCY_LABELS = {"M": "Tháng", "Q": "Quý", "Y": "Năm"}
ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def vi_number(value: float | None) -> str:
    """A number as vi-VN writes it, like ``format.js``'s ``formatValue``: ``1.234,5``, ``0,25``, ``-3``.

    At most 1 decimal from 1.000 up, 2 below; trailing zeros dropped.

    >>> vi_number(1234.5), vi_number(0.254), vi_number(-39372.38), vi_number(None)
    ('1.234,5', '0,25', '-39.372,4', '')
    """
    if value is None:
        return ""
    digits = 1 if abs(value) >= 1000 else 2
    text = f"{value:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def fold(text: str) -> str:
    """Lower case without diacritics (``"Đắk Nông"`` -> ``"dak nong"``), as ``indicators.js`` folds: a search
    typed without accents still finds the indicator."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def period_label(period: str | None) -> str:
    """A stored period in Vietnamese: ``2024-01`` -> ``Tháng 1/2024``, ``2024-Q3`` -> ``Quý III/2024``,
    ``2024`` -> ``Năm 2024``."""
    if not period:
        return ""
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        return f"Tháng {int(m.group(2))}/{m.group(1)}"
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        return f"Quý {ROMAN[m.group(2)]}/{m.group(1)}"
    if re.fullmatch(r"\d{4}", period):
        return f"Năm {period}"
    return period


templates.env.filters["vi_number"] = vi_number
templates.env.filters["period_label"] = period_label


def _not_found(request: Request, user: PageUser, code: str) -> HTMLResponse:
    return render(
        request,
        user,
        "message.html",
        "/chi-tieu",
        {
            "title": "Không tìm thấy chỉ tiêu",
            "message": f"Không có chỉ tiêu mã “{code[:64]}” trong danh mục. Hãy chọn từ Bộ chỉ tiêu.",
            "back": ("/chi-tieu", "Về Bộ chỉ tiêu"),
        },
        status=404,
    )


@router.get("/chi-tieu", response_class=HTMLResponse)
def catalogue(
    request: Request,
    user: PageUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    tan_suat: Annotated[str, Query(max_length=1)] = "",
) -> HTMLResponse:
    """Bộ chỉ tiêu: every indicator with its unit, frequency and latest value; searchable by name, code or
    department (on the server, and as one types), filterable by frequency."""
    latest = latest_values(session)
    ex = extras(session)
    rows = []
    for ind in session.scalars(select(Indicator).order_by(Indicator.name)):
        last = latest.get(ind.code)
        dept = ex[ind.code].department if ind.code in ex else ""
        rows.append(
            {
                "code": ind.code,
                "name": ind.name,
                "unit": ind.unit,
                "frequency": ind.frequency,
                "frequency_label": FREQUENCY_LABELS.get(ind.frequency, ind.frequency),
                "department": dept,
                "period": last[0] if last else None,
                "value": last[1] if last else None,
                "n": last[2] if last else 0,
                "search": fold(" ".join((ind.name, ind.code, dept, ind.unit))),
            }
        )
    words = fold(q).split()
    shown = [
        r for r in rows if all(w in str(r["search"]) for w in words) and (not tan_suat or r["frequency"] == tan_suat)
    ]
    return render(
        request,
        user,
        "indicators.html",
        "/chi-tieu",
        {"rows": shown, "total": len(rows), "q": q, "tan_suat": tan_suat, "frequencies": FREQUENCY_LABELS},
    )


@router.get("/chi-tieu/{code}", response_class=HTMLResponse)
def indicator(request: Request, user: PageUser, session: SessionDep, services: ServicesDep, code: str) -> HTMLResponse:
    """One indicator: its details, data table and downloads; the page's script adds the charts, accuracy,
    targets and (analysts) the upload and the editing."""
    ind = session.get(Indicator, code) if CODE.match(code) else None
    if ind is None:
        return _not_found(request, user, code)
    values = current_values(session, code)
    extra = extras(session, [code]).get(code)
    return render(
        request,
        user,
        "indicator.html",
        "/chi-tieu",
        {
            "ind": ind,
            "title": ind.name,
            "department": extra.department if extra else "",
            "nonnegative": bool(extra and extra.nonnegative),
            "components": list(extra.components) if extra else [],
            "frequency_label": FREQUENCY_LABELS.get(ind.frequency, ind.frequency),
            "rows": list(reversed(values)),
            "latest": values[-1] if values else None,
            "max_horizon": services.settings.forecasting.max_horizon,
            # what the script would otherwise ask /v1 for first: one request (the cached forecast) remains
            "page_data": {
                "observations": [{"period": p, "value": v} for p, v in values],
                "targets": list(ind.targets or []),
                "anomalies": [
                    {
                        k: getattr(a, k)
                        for k in ("period", "value", "expected", "lower_95", "upper_95", "status", "note")
                    }
                    for a in anomalies_store.list_anomalies(session, code, None, 200)
                ],
            },
            "can_edit": user.user.role in ANALYST,
        },
    )


def _data(session: SessionDep, code: str) -> tuple[Indicator, list[tuple[str, float]]] | None:
    ind = session.get(Indicator, code) if CODE.match(code) else None
    return None if ind is None else (ind, current_values(session, code))


@router.get("/chi-tieu/{code}/so-lieu.csv", response_model=None)
def data_csv(request: Request, user: PageUser, session: SessionDep, code: str) -> Response:
    """The indicator's current values as CSV (``period,value``, UTF-8 with BOM so that Excel reads the
    Vietnamese), the layout an upload reads back."""
    found = _data(session, code)
    if found is None:
        return _not_found(request, user, code)
    _, values = found
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["period", "value"])
    out.writerows([safe_cell(p), v] for p, v in values)
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{code}.csv"'},
    )


@router.get("/chi-tieu/{code}/so-lieu.xlsx", response_model=None)
def data_xlsx(request: Request, user: PageUser, session: SessionDep, code: str) -> Response:
    """The indicator's current values as an XLSX sheet (Kỳ, Giá trị) under a title row with name and unit."""
    import openpyxl

    found = _data(session, code)
    if found is None:
        return _not_found(request, user, code)
    ind, values = found
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Số liệu"
    ws.append([safe_cell(ind.name)])
    ws.append([safe_cell(f"Đơn vị tính: {ind.unit}")] if ind.unit else [])
    ws.append(["Kỳ", "Giá trị"])
    for period, value in values:
        ws.append([safe_cell(period), value])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 16
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{code}.xlsx"'}
    )
