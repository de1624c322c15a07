"""What the overview page (and the display wall) shows: one summary per indicator, open anomalies and active
social alerts.

An indicator's summary (latest value, change on a year earlier, forecast to the end of the year, target
probabilities) costs a forecast and sampled paths per target. It is computed once and kept in the forecast
cache, keyed by the indicator's data version, targets and flags, the data versions of its hierarchy (a
reconciled forecast depends on them) and the champion model's version, so a page load only reads it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.services import Services
from api.storage.tables import ForecastCache, Indicator, Observation
from api.stores import anomalies as anomalies_store
from api.stores import posts as posts_store
from api.stores.indicators import components_map, extras, forecast_body, target_probabilities, tree_of
from models.serving import ModelUnavailable

__all__ = ["indicator_summaries", "open_anomalies", "active_alerts", "target_status"]

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
#: Bump when the shape of a summary changes (old cache entries are then ignored).
SUMMARY_VERSION = 1
#: The forecast the summary reads: the API's default (``GET /v1/indicators/{code}/forecast``), same cache.
HORIZON = 12
LEVELS = [80.0, 95.0]
PER_YEAR = {"M": 12, "Q": 4, "Y": 1}


def target_status(entry: dict[str, Any]) -> tuple[str, str]:
    """A target's chance in plain words and a tone (``ok``, ``warn``, ``bad``, ``none``) for its colour."""
    p = entry.get("probability")
    if p is None:
        return "chưa tính được", "none"
    if entry.get("periods_forecast") == 0:
        return ("đã đạt", "ok") if p >= 0.5 else ("không đạt", "bad")
    if p >= 0.7:
        return "nhiều khả năng đạt", "ok"
    if p >= 0.4:
        return "chưa chắc đạt", "warn"
    return "có nguy cơ không đạt", "bad"


def _year_ago(period: str, freq: str) -> str:
    if freq == "Y":
        return str(int(period) - 1)
    return f"{int(period[:4]) - 1}{period[4:]}"


def _period_label(period: str, freq: str) -> str:
    """``2025-03`` -> ``tháng 3/2025``, ``2025-Q2`` -> ``quý 2/2025``, ``2025`` -> ``năm 2025``."""
    if freq == "M":
        return f"tháng {int(period[5:7])}/{period[:4]}"
    if freq == "Q":
        return f"quý {period[-1]}/{period[:4]}"
    return f"năm {period}"


def _change(value: float, before: float | None, unit: str) -> dict[str, Any] | None:
    """Change on the same period a year earlier: percentage points for a rate or index in percent, else the
    relative change in percent (None when the earlier value is missing or zero)."""
    if before is None:
        return None
    if "%" in unit:
        return {"kind": "points", "value": value - before}
    if before == 0:
        return None
    return {"kind": "percent", "value": (value - before) / abs(before) * 100.0}


def _year_end(ind: Indicator, values: dict[str, float], body: dict[str, Any]) -> dict[str, Any] | None:
    """The forecast to the end of the year of the first forecast period: the year's total for a flow indicator
    reported monthly or quarterly (observed months plus forecast ones), else the value of the year's last
    period, with its 80% range."""
    points = body.get("points") or []
    if not points:
        return None
    freq = ind.frequency
    if freq == "Y":
        p = points[0]
        return {
            "period": p["period"],
            "label": f"Dự báo năm {p['period']}",
            "value": p["mean"],
            "lower_80": p.get("lower_80"),
            "upper_80": p.get("upper_80"),
        }
    year = str(points[0]["period"])[:4]
    ahead = [p for p in points if str(p["period"]).startswith(year)]
    if ind.kind == "flow":
        observed = sum(v for k, v in values.items() if k.startswith(year))
        return {
            "period": year,
            "label": f"Dự báo cả năm {year}",
            "value": observed + sum(p["mean"] for p in ahead),
            "lower_80": None,
            "upper_80": None,
        }
    last = ahead[-1]
    return {
        "period": last["period"],
        "label": f"Dự báo {_period_label(str(last['period']), freq)}",
        "value": last["mean"],
        "lower_80": last.get("lower_80"),
        "upper_80": last.get("upper_80"),
    }


def _summary(
    services: Services, session: Session, ind: Indicator, values: dict[str, float], with_model: bool = True
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": ind.code,
        "name": ind.name,
        "unit": ind.unit,
        "frequency": ind.frequency,
        "kind": ind.kind,
        "data_version": ind.data_version,
        "last_period": None,
        "last_label": None,
        "last_value": None,
        "year_ago_period": None,
        "change": None,
        "year_end": None,
        "forecast_error": None,
        "targets": [],
    }
    if not values:
        return out
    last = max(values)
    before = _year_ago(last, ind.frequency)
    out |= {
        "last_period": last,
        "last_label": _period_label(last, ind.frequency),
        "last_value": values[last],
        "year_ago_period": before,
        "change": _change(values[last], values.get(before), ind.unit),
    }
    year = int(last[:4])
    if not with_model:
        out["forecast_error"] = "Chưa có mô hình dự báo đang phục vụ."
        out["targets"] = [dict(t) for t in ind.targets or [] if int(str(t["period"])[:4]) >= year]
        return out
    try:
        body = forecast_body(services, session, ind, HORIZON, list(LEVELS))
        out["year_end"] = _year_end(ind, values, body)
    except ValueError as e:  # SeriesError, HierarchyError: the card says the forecast is unavailable
        logger.warning("overview: no forecast for %s: %s", ind.code, e)
        out["forecast_error"] = "Chưa dự báo được chỉ tiêu này."
    _, targets = target_probabilities(services, session, ind)
    shown = [t for t in targets if int(str(t["period"])[:4]) >= year]
    out["targets"] = sorted(shown, key=lambda t: str(t["period"]))
    return out


def _current_values(session: Session) -> dict[str, dict[str, float]]:
    rows = session.execute(
        select(Observation.indicator_code, Observation.period, Observation.value).where(
            Observation.is_current.is_(True)
        )
    )
    out: dict[str, dict[str, float]] = {}
    for code, period, value in rows:
        out.setdefault(code, {})[period] = float(value)
    return out


def indicator_summaries(services: Services) -> list[dict[str, Any]]:
    """One summary per indicator of the catalogue, by code: ``code, name, unit, frequency, kind,
    last_period, last_label, last_value, year_ago_period, change ({"kind": "percent"|"points", "value"}),
    year_end ({"period", "label", "value", "lower_80", "upper_80"}), forecast_error, targets`` (each as
    ``GET /v1/indicators/{code}/targets`` gives it, for the year of the latest value and later).

    Cached (see the module's docstring): a load with nothing changed reads one row per indicator.
    """
    try:
        served_version: str | None = services.champions.get("forecasting").version
    except ModelUnavailable:  # no forecasting model serving yet: the figures without forecasts, not cached
        served_version = None
    fresh: list[ForecastCache] = []
    # a read session: the forecasts a summary needs store themselves in their own transactions, which an
    # open write transaction here would block (SQLite has one writer); new summaries are stored afterwards
    with services.db.session() as s:
        inds = list(s.scalars(select(Indicator).order_by(Indicator.code)))
        versions = {i.code: i.data_version for i in inds}
        flags = extras(s)
        comp = components_map(s)

        def key_of(ind: Indicator) -> str:
            tree = tree_of(comp, ind.code)
            nodes = sorted({p for p in tree} | {c for v in tree.values() for c in v}) if tree else []
            src = json.dumps(
                [
                    "summary",
                    SUMMARY_VERSION,
                    ind.code,
                    ind.data_version,
                    ind.targets or [],
                    ind.kind,
                    ind.unit,
                    ind.name,
                    ind.forecast_from,
                    bool(flags.get(ind.code) and flags[ind.code].nonnegative),
                    sorted((p, list(v)) for p, v in (tree or {}).items()),
                    [(c, versions.get(c)) for c in nodes],
                    served_version,
                ],
                default=str,
            )
            return hashlib.sha256(src.encode()).hexdigest()[:40]

        keys = {i.code: key_of(i) for i in inds}
        cached = {
            row.key: row.body
            for row in s.scalars(select(ForecastCache).where(ForecastCache.key.in_(list(keys.values()))))
        }
        missing = [i for i in inds if keys[i.code] not in cached]
        values = _current_values(s) if missing else {}
        out = []
        for ind in inds:
            body = cached.get(keys[ind.code])
            if body is None:
                body = _summary(services, s, ind, values.get(ind.code, {}), with_model=served_version is not None)
                if served_version is not None:
                    fresh.append(ForecastCache(key=keys[ind.code], indicator_code=ind.code, body=body))
            out.append(dict(body))
    if fresh:
        try:
            with services.db.transaction() as w:
                for row in fresh:
                    w.merge(row)
        except IntegrityError:  # another request stored the same summaries first: theirs are as good
            logger.info("indicator summaries were cached by a concurrent request")
    # the freshest figures first (monthly before yearly ones ending years ago), then by name
    out.sort(key=lambda x: x["name"])
    out.sort(key=lambda x: str(x["last_period"] or "")[:4], reverse=True)
    return out


def open_anomalies(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    """Open anomalies, newest first, with their indicator's name and unit (``GET /v1/anomalies?status=open``)."""
    rows = anomalies_store.list_anomalies(session, None, "open", limit)
    codes = {a.indicator_code for a in rows}
    meta = {
        code: (name, unit)
        for code, name, unit in session.execute(
            select(Indicator.code, Indicator.name, Indicator.unit).where(Indicator.code.in_(codes))
        )
    }
    return [
        {
            "id": a.id,
            "indicator": a.indicator_code,
            "name": meta.get(a.indicator_code, (a.indicator_code, ""))[0],
            "unit": meta.get(a.indicator_code, ("", ""))[1],
            "period": a.period,
            "value": a.value,
            "expected": a.expected,
            "lower_95": a.lower_95,
            "upper_95": a.upper_95,
            "detected_at": a.detected_at,
            "direction": "cao hơn" if a.value > a.upper_95 else "thấp hơn",
        }
        for a in rows
    ]


def active_alerts(session: Session, days: int = 30, evidence: int = 5) -> list[dict[str, Any]]:
    """Spikes of negative talk in the last ``days`` days (the window of ``GET /v1/social/alerts``), newest
    first, each with its topic and the first ``evidence`` posts that explain it."""
    today = datetime.now(LOCAL_TZ).date()
    lo = datetime.combine(today - timedelta(days=days - 1), time.min, LOCAL_TZ)
    hi = datetime.combine(today + timedelta(days=1), time.min, LOCAL_TZ)
    found = posts_store.alerts(session, lo, hi, interval="day", group_by="topic", evidence=evidence)
    return list(reversed(found))
