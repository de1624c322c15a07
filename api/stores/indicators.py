"""Indicators in the database: series loading, all-or-nothing upserts with revisions, anomaly flags, the
catalogue's hierarchy (components), and cached forecasts (coherent across a hierarchy). Routes, the trainer,
the startup step and the CLI share this module."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session

from api.auth import Principal
from api.services import Services
from api.storage.tables import Anomaly, ForecastCache, Indicator, Observation, utcnow
from forecasting import PipelineConfig, Series, SeriesError, forecast_series, parse_observations
from forecasting.anomaly import check_values
from forecasting.reconcile import CoherentForecast, HierarchyError, ReconcileOptions, forecast_hierarchy
from forecasting.reconcile import hierarchy_from_components as _hierarchy

logger = logging.getLogger(__name__)

#: Fewest observations before new values are checked against a forecast.
MIN_HISTORY_FOR_ANOMALY = 8


#: Periods as the store keeps them, per frequency.
PERIOD_RE = {
    "M": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "Q": re.compile(r"^\d{4}-Q[1-4]$"),
    "Y": re.compile(r"^\d{4}$"),
}
PERIOD_SHAPE = {"M": "YYYY-MM", "Q": "YYYY-Qn", "Y": "YYYY"}


#: Units of quantities that cannot be negative (money, counts, weights, areas, volumes), folded to ASCII
#: lower case: a new indicator measured in one of them is ``nonnegative`` unless its definition says not.
NONNEGATIVE_UNITS = (
    "dong", "vnd", "usd", "ty", "trieu", "nghin", "luot", "nguoi", "khach", "tan", "kg", "ha", "m2", "m3",
    "lit", "kwh", "cai", "chiec", "con", "ho", "doanh nghiep", "du an", "phong",
)  # fmt: skip


def default_nonnegative(unit: str, kind: str) -> bool:
    """Whether an indicator of this unit cannot be negative by default: flows and levels counted in money,
    people, goods or areas (``"tỷ đồng"``, ``"lượt"``, ``"tấn"``); not percentages, indices or growth rates."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", unit.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    if not folded or "%" in folded or "chi so" in folded or "index" in folded:
        return False
    words = set(re.findall(r"[a-z0-9]+", folded))
    return any((u in words) if " " not in u else (u in folded) for u in NONNEGATIVE_UNITS)


@dataclass(frozen=True)
class IndicatorExtra:
    """An indicator's responsible department, whether its values are never negative, and its components
    (the codes whose sum it is; empty for a leaf)."""

    department: str = ""
    nonnegative: bool = False
    components: tuple[str, ...] = ()


def extras(session: Session, codes: Iterable[str] | None = None) -> dict[str, IndicatorExtra]:
    """``{code: IndicatorExtra}`` for ``codes`` (default: the whole catalogue)."""
    stmt = select(Indicator.code, Indicator.department, Indicator.nonnegative, Indicator.components)
    if codes is not None:
        stmt = stmt.where(Indicator.code.in_(list(codes)))
    return {
        code: IndicatorExtra(dept or "", bool(nonneg), tuple(comp or ()))
        for code, dept, nonneg, comp in session.execute(stmt)
    }


def set_extra(
    session: Session,
    code: str,
    *,
    department: str | None = None,
    nonnegative: bool | None = None,
    components: Sequence[str] | None = None,
) -> None:
    """Change the given fields of one indicator (None: unchanged; ``components=[]`` makes it a leaf)."""
    values: dict[str, Any] = {}
    if department is not None:
        values["department"] = department
    if nonnegative is not None:
        values["nonnegative"] = nonnegative
    if components is not None:
        values["components"] = list(components) or None
    if values:
        session.flush()
        session.execute(update(Indicator).where(Indicator.code == code).values(**values))


def components_map(session: Session) -> dict[str, list[str]]:
    """``{parent: [components]}`` of the whole catalogue (leaves left out)."""
    return {code: list(e.components) for code, e in extras(session).items() if e.components}


def check_hierarchy(session: Session, changes: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Validate the catalogue's components with ``changes`` applied (``[]`` removes a parent's components).

    Returns the resulting ``{parent: [components]}``.

    Raises:
        HierarchyError: a cycle, an unknown code, a component of two parents, a listed twice component, or a
            parent whose components have another frequency (reconciliation needs one frequency per tree).
    """
    comp = components_map(session) | {k: list(v) for k, v in changes.items()}
    comp = {k: v for k, v in comp.items() if v}
    if not comp:
        return {}
    freq = dict(session.execute(select(Indicator.code, Indicator.frequency)).tuples().all())
    _hierarchy(comp, freq)
    wrong = [
        f"{c!r} is {freq[c]} but its parent {p!r} is {freq[p]}"
        for p, parts in comp.items()
        for c in parts
        if freq[c] != freq[p]
    ]
    if wrong:
        raise HierarchyError("invalid hierarchy: components must have their parent's frequency: " + "; ".join(wrong))
    return comp


def tree_of(comp: Mapping[str, Sequence[str]], code: str) -> dict[str, list[str]] | None:
    """The ``{parent: [components]}`` of the whole tree holding ``code`` (from its root down), None when
    ``code`` is in no tree."""
    parent = {c: p for p, parts in comp.items() for c in parts}
    if code not in parent and code not in comp:
        return None
    root = code
    while root in parent:
        root = parent[root]
    out: dict[str, list[str]] = {}
    todo = [root]
    while todo:
        node = todo.pop()
        if node in comp:
            out[node] = list(comp[node])
            todo.extend(comp[node])
    return out


def load_series(
    session: Session, indicator: Indicator, *, for_forecast: bool = False, until: str | None = None
) -> Series | None:
    """The indicator's current values as a validated series (None when it has none); gaps between stored
    periods are interpolated.

    With ``for_forecast`` the values before ``forecast_from`` (a regime change) are left out; ``until`` leaves
    out the periods after it.
    """
    rows = session.execute(
        select(Observation.period, Observation.value)
        .where(Observation.indicator_code == indicator.code, Observation.is_current.is_(True))
        .order_by(Observation.period)
    ).all()
    if not rows:
        return None
    df = pd.DataFrame(rows, columns=["period", "value"])
    if for_forecast and indicator.forecast_from:
        df = df[df["period"] >= indicator.forecast_from]
    if until is not None:
        df = df[df["period"] <= until]
    if df.empty:
        return None
    return parse_observations(
        df,
        freq=indicator.frequency,
        unique_id=indicator.code,
        on_gap="interpolate",
        nonnegative=bool(indicator.nonnegative),
    )


def current_values(session: Session, code: str) -> list[tuple[str, float]]:
    """``[(period, value)]`` of the indicator's current observations, oldest first (nothing interpolated)."""
    rows = session.execute(
        select(Observation.period, Observation.value)
        .where(Observation.indicator_code == code, Observation.is_current.is_(True))
        .order_by(Observation.period)
    )
    return [(p, float(v)) for p, v in rows.tuples()]


def latest_values(session: Session) -> dict[str, tuple[str, float, int]]:
    """``{code: (last period, its current value, number of current observations)}`` of every indicator that
    has observations, in two queries whatever the size of the catalogue (the catalogue page lists them)."""
    current = Observation.is_current.is_(True)
    last = (
        select(
            Observation.indicator_code.label("code"),
            func.max(Observation.period).label("period"),
            func.count().label("n"),
        )
        .where(current)
        .group_by(Observation.indicator_code)
        .subquery()
    )
    rows = session.execute(
        select(last.c.code, last.c.period, Observation.value, last.c.n).join(
            Observation,
            and_(Observation.indicator_code == last.c.code, Observation.period == last.c.period, current),
        )
    )
    return {code: (period, float(value), int(n)) for code, period, value, n in rows.tuples()}


@dataclass
class UpsertResult:
    inserted: int = 0
    revised: int = 0
    unchanged: int = 0
    anomalies: list[dict[str, Any]] = field(default_factory=list)


def upsert_observations(
    session: Session,
    indicator: Indicator,
    incoming: Series,
    who: Principal,
    config: PipelineConfig | None,
    model_version: str = "",
    note: str = "",
) -> UpsertResult:
    """:func:`upsert_pairs` for a validated series (every period of it is stored)."""
    if not incoming.calendar or incoming.freq != indicator.frequency:
        raise SeriesError(
            f"indicator {indicator.code!r} is {indicator.frequency}-frequency: periods must look like "
            f"{PERIOD_SHAPE[indicator.frequency]}. Got: {incoming.periods[0]!r}"
        )
    pairs = [(p, float(v)) for p, v in zip(incoming.periods, incoming.values, strict=True)]
    return upsert_pairs(session, indicator, pairs, who, config, model_version, note)


def _check_pairs(indicator: Indicator, pairs: Sequence[tuple[str, float]]) -> None:
    pattern = PERIOD_RE[indicator.frequency]
    bad = [p for p, _ in pairs if not pattern.match(p)]
    if bad:
        raise SeriesError(
            f"indicator {indicator.code!r} is {indicator.frequency}-frequency: periods must look like "
            f"{PERIOD_SHAPE[indicator.frequency]}. Got: {bad[:5]}"
        )
    dup = sorted(p for p, n in Counter(p for p, _ in pairs).items() if n > 1)
    if dup:
        raise SeriesError(f"indicator {indicator.code!r}: periods given more than once: {dup[:5]}")
    nonfinite = [p for p, v in pairs if not np.isfinite(v)]
    if nonfinite:
        raise SeriesError(f"indicator {indicator.code!r}: values must be finite numbers. Got none at {nonfinite[:5]}")
    negative = [p for p, v in pairs if v < 0]
    if indicator.nonnegative and negative:
        raise SeriesError(
            f"indicator {indicator.code!r} cannot be negative (its catalogue entry says nonnegative); "
            f"got negative values at {negative[:5]}: correct them, or PATCH the indicator with "
            '{"nonnegative": false} if the quantity can really fall below zero'
        )


def plan_upsert(session: Session, indicator: Indicator, pairs: Sequence[tuple[str, float]]) -> UpsertResult:
    """What :func:`upsert_pairs` would do (inserted, revised, unchanged counts; no anomaly check), writing
    nothing: the dry run's answer."""
    _check_pairs(indicator, pairs)
    current = dict(
        session.execute(
            select(Observation.period, Observation.value).where(
                Observation.indicator_code == indicator.code, Observation.is_current.is_(True)
            )
        )
        .tuples()
        .all()
    )
    result = UpsertResult()
    for period, value in pairs:
        old = current.get(period)
        if old is not None and np.isclose(old, value, rtol=1e-12, atol=0.0):
            result.unchanged += 1
        elif old is not None:
            result.revised += 1
        else:
            result.inserted += 1
    return result


def upsert_pairs(
    session: Session,
    indicator: Indicator,
    pairs: Sequence[tuple[str, float]],
    who: Principal,
    config: PipelineConfig | None,
    model_version: str = "",
    note: str = "",
) -> UpsertResult:
    """Insert new periods and new revisions of changed ones in the caller's transaction.

    ``pairs`` are the real ``(period, value)`` observations in the indicator's period shape (a file's missing
    cells are simply absent: nothing is interpolated into the store). New periods after the last stored one
    are checked against the 95% interval of the forecast made from the history before them; values outside
    are flagged as anomalies (stored and returned).
    """
    _check_pairs(indicator, pairs)
    current = {
        o.period: o
        for o in session.scalars(
            select(Observation).where(Observation.indicator_code == indicator.code, Observation.is_current.is_(True))
        )
    }
    before = load_series(session, indicator, for_forecast=True) if config is not None else None
    result = UpsertResult()
    new_points: list[tuple[str, float]] = []
    last_period = max(current) if current else None
    for period, raw in pairs:
        value = float(raw)
        old = current.get(period)
        if old is not None and np.isclose(old.value, value, rtol=1e-12, atol=0.0):
            result.unchanged += 1
            continue
        revision = 1
        if old is not None:
            old.is_current = False
            revision = old.revision + 1
            result.revised += 1
        else:
            result.inserted += 1
            if last_period is None or period > last_period:
                new_points.append((period, value))
        session.add(
            Observation(
                indicator_code=indicator.code,
                period=period,
                value=value,
                revision=revision,
                is_current=True,
                recorded_by=who.name,
                note=note[:300],
            )
        )
    session.flush()
    if before is not None and new_points and len(before) >= MIN_HISTORY_FOR_ANOMALY:
        result.anomalies = _flag_anomalies(session, indicator, before, sorted(new_points), config, model_version)
    if result.inserted or result.revised:
        indicator.data_version += 1
        indicator.updated_at = utcnow()
        session.execute(delete(ForecastCache).where(ForecastCache.indicator_code == indicator.code))
    return result


def _flag_anomalies(
    session: Session,
    indicator: Indicator,
    history: Series,
    new_points: list[tuple[str, float]],
    config: PipelineConfig | None,
    model_version: str,
) -> list[dict[str, Any]]:
    # The same forecast the dashboards published for those periods (a period's distribution does not depend
    # on the horizon asked for), from the history before the upload, with the serving configuration.
    future = set(history.future_periods(len(new_points) + 24))
    wanted = [(p, v) for p, v in new_points if p in future]
    if not wanted:
        return []
    try:
        checks = check_values(history, wanted, config, 95.0)
    except ValueError as e:  # a series the pipeline cannot forecast is not an anomaly source
        logger.info("no anomaly check for %s: %s", indicator.code, e)
        return []
    flagged = []
    for (period, value), check in zip(wanted, checks, strict=True):
        if check.flagged:
            row = Anomaly(
                indicator_code=indicator.code,
                period=period,
                value=value,
                expected=check.expected,
                lower_95=check.lower,
                upper_95=check.upper,
                model_version=model_version,
            )
            session.add(row)
            flagged.append(
                {
                    "period": period,
                    "value": value,
                    "expected": check.expected,
                    "lower_95": check.lower,
                    "upper_95": check.upper,
                    "direction": check.direction,
                }
            )
    return flagged


def forecast_points(
    periods: Sequence[str],
    mean: Any,
    lower: Mapping[str, Any],
    upper: Mapping[str, Any],
    levels: Sequence[float],
) -> list[dict[str, Any]]:
    """The API's forecast points: ``{"period", "mean", "lower_L", "upper_L"...}`` per period, for each level L
    (``lower``/``upper`` are keyed by ``f"{L:g}"``, arrays of shape (len(periods),))."""
    points = []
    for j, period in enumerate(periods):
        point: dict[str, Any] = {"period": period, "mean": float(mean[j])}
        for lv in levels:
            k = f"{lv:g}"
            point[f"lower_{k}"] = float(lower[k][j])
            point[f"upper_{k}"] = float(upper[k][j])
        points.append(point)
    return points


#: One lock per indicator (or hierarchy) whose forecast this process is computing: concurrent reads of an
#: uncached forecast wait for the one computation instead of each running it (a dashboard's 200 viewers
#: asking at once had every server thread backtest the same series, and the reads queued for seconds).
_computing: dict[tuple[str, ...], threading.Lock] = {}
_computing_guard = threading.Lock()


def forecast_body(
    services: Services,
    session: Session,
    indicator: Indicator,
    horizon: int,
    levels: list[float],
) -> dict[str, Any]:
    """The forecast response for an indicator, cached per (data version, model version, horizon, levels).

    An indicator in a hierarchy (with components, or a component) is forecast with its whole tree and
    reconciled (:func:`coherent_bodies`); the answer then carries ``"reconciled"``. A forecast that is not
    cached is computed once in this process however many ask for it at the same time, and stored in its own
    transaction before the others read it.
    """
    tree = tree_of(components_map(session), indicator.code)
    cached = _forecast_body(services, session, indicator, tree, horizon, levels, compute=False)
    if cached is not None:
        return cached
    flight = (
        tuple(sorted({p for p in tree} | {c for parts in tree.values() for c in parts})) if tree else (indicator.code,)
    )
    with _computing_guard:
        lock = _computing.setdefault(flight, threading.Lock())
    with lock, services.db.transaction() as fresh:
        current = fresh.get(Indicator, indicator.code)
        if current is None:
            raise SeriesError(f"indicator {indicator.code!r} was deleted")
        body = _forecast_body(services, fresh, current, tree, horizon, levels, compute=True)
    if body is None:  # compute=True always answers; this keeps the type honest without an assert
        raise SeriesError(f"indicator {indicator.code!r} has no forecast")
    return body


def _forecast_body(
    services: Services,
    session: Session,
    indicator: Indicator,
    tree: Mapping[str, Sequence[str]] | None,
    horizon: int,
    levels: list[float],
    *,
    compute: bool,
) -> dict[str, Any] | None:
    """:func:`forecast_body`'s answer from the cache, or computed and merged into ``session`` when ``compute``
    (None when it is not cached and ``compute`` is false)."""
    if tree is not None:
        return coherent_bodies(services, session, indicator.code, tree, horizon, levels, compute=compute).get(
            indicator.code
        )
    served = services.champions.get("forecasting")
    key_src = json.dumps([indicator.code, indicator.data_version, served.version, horizon, sorted(levels)])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:40]
    cached = session.get(ForecastCache, key)
    if cached is not None:
        return dict(cached.body)
    if not compute:
        return None
    series = load_series(session, indicator, for_forecast=True)
    if series is None:
        raise SeriesError(f"indicator {indicator.code!r} has no observations to forecast from")
    config: PipelineConfig = served.model.config
    fc = forecast_series(series, horizon, levels, config)
    points = forecast_points(series.future_periods(horizon), fc.mean, fc.lower, fc.upper, levels)
    body = {
        "indicator": indicator.code,
        "model": {"name": "forecasting", "version": served.version},
        "generated_at": datetime.now(UTC).isoformat(),
        "data_version": indicator.data_version,
        "last_period": series.periods[-1],
        "points": points,
        "methods": {k: round(float(v), 4) for k, v in fc.weights.items()},
        "notes": list(fc.notes),
        "backtest": _backtest_metrics(series, config, horizon),
    }
    session.merge(ForecastCache(key=key, indicator_code=indicator.code, body=body))
    return body


def _backtest_metrics(series: Series, config: PipelineConfig, horizon: int) -> dict[str, Any]:
    from forecasting.backtest import backtest

    h = min(horizon, max(1, len(series) // 4))
    try:
        bt = backtest([series], config, horizon=h, windows=3, n_jobs=1)
    except ValueError as e:
        return {"error": str(e)}
    keep = {"smape", "mase", "coverage_80", "coverage_95", "n_forecasts"}
    return {k: float(v) for k, v in bt.metrics.items() if k in keep} | {"horizon": h}


def _tree_rows(tree: Mapping[str, Sequence[str]], fc: CoherentForecast) -> list[dict[str, Any]]:
    h = fc.hierarchy
    return [
        {"code": c, "parent": h.parent.get(c), "depth": h.depth[c], "components": list(h.components.get(c, ()))}
        for c in h.nodes
    ]


def coherent_bodies(
    services: Services,
    session: Session,
    code: str,
    tree: Mapping[str, Sequence[str]],
    horizon: int,
    levels: list[float],
    *,
    compute: bool = True,
) -> dict[str, dict[str, Any]]:
    """Forecast responses of every node of ``tree`` (``{parent: [components]}``), reconciled so that each
    parent's means are the sums of its components' (:func:`forecasting.reconcile.forecast_hierarchy`), with
    bands and target probabilities from the reconciled distribution.

    Cached per node; the key holds the tree, every node's data version and non-negative flag, the model
    version, the horizon and the levels, so a new value of any node (or a changed tree) makes a new forecast.
    When ``code``'s answer is cached only it is returned (``{code: body}``); when it is not and ``compute`` is
    false, nothing (``{}``).

    Histories end at the last period every node has (a node reported later is cut back; the notes say so).
    """
    served = services.champions.get("forecasting")
    nodes = sorted({p for p in tree} | {c for parts in tree.values() for c in parts})
    inds = {c: session.get(Indicator, c) for c in nodes}
    missing = [c for c, i in inds.items() if i is None]
    if missing:
        raise HierarchyError(f"the hierarchy of {code!r} names unknown indicators {missing}; fix its components")
    ind = {c: i for c, i in inds.items() if i is not None}
    flags = extras(session, nodes)
    versions = [(c, ind[c].data_version, flags[c].nonnegative, ind[c].targets or []) for c in nodes]
    shape = sorted((p, list(parts)) for p, parts in tree.items())

    def key_of(node: str) -> str:
        src = json.dumps(["tree", node, shape, versions, served.version, horizon, sorted(levels)])
        return hashlib.sha256(src.encode()).hexdigest()[:40]

    cached = session.get(ForecastCache, key_of(code))
    if cached is not None:
        return {code: dict(cached.body)}
    if not compute:
        return {}
    series = {c: load_series(session, ind[c], for_forecast=True) for c in nodes}
    empty = [c for c, s in series.items() if s is None]
    if empty:
        raise SeriesError(
            f"indicator {code!r} is reconciled with its hierarchy, but {empty} have no observations to forecast "
            "from; load them or remove them from the components"
        )
    histories = {c: s for c, s in series.items() if s is not None}
    last = min(s.periods[-1] for s in histories.values())
    notes: list[str] = []
    cut = sorted(c for c, s in histories.items() if s.periods[-1] != last)
    if cut:
        notes.append(f"histories of {cut} cut back to {last}, the last period every indicator of the tree has")
        for c in cut:
            s_cut = load_series(session, ind[c], for_forecast=True, until=last)
            if s_cut is None:
                raise SeriesError(f"indicator {c!r} has no observations up to {last}")
            histories[c] = s_cut
    config: PipelineConfig = served.model.config
    bottom_flags = [flags[c].nonnegative for c in nodes if c not in tree]
    options = ReconcileOptions(nonnegative=bool(bottom_flags) and all(bottom_flags))
    fc = forecast_hierarchy(dict(tree), histories, horizon, levels, config, options)
    rows = _tree_rows(tree, fc)
    generated = datetime.now(UTC).isoformat()
    out: dict[str, dict[str, Any]] = {}
    for c in fc.hierarchy.nodes:
        i = fc.hierarchy.index(c)
        points = forecast_points(
            fc.periods,
            fc.mean[i],
            {k: v[i] for k, v in fc.lower.items()},
            {k: v[i] for k, v in fc.upper.items()},
            levels,
        )
        base = fc.base[c]
        body = {
            "indicator": c,
            "model": {"name": "forecasting", "version": served.version},
            "generated_at": generated,
            "data_version": ind[c].data_version,
            "last_period": histories[c].periods[-1],
            "points": points,
            "methods": {k: round(float(v), 4) for k, v in base.weights.items()},
            "notes": notes + list(fc.notes) + list(base.notes),
            "backtest": _backtest_metrics(histories[c], config, horizon),
            "reconciled": {
                "method": fc.method,
                "error_source": fc.error_source,
                "validation": {k: float(v) for k, v in fc.validation.items()},
                "tree": rows,
            },
            "targets": reconciled_targets(fc, c, histories[c], ind[c]),
        }
        session.merge(ForecastCache(key=key_of(c), indicator_code=c, body=body))
        out[c] = body
    return out


def _periods_of(period: str, freq: str) -> list[str]:
    """The stored periods making up a target period: a year expands to its months or quarters."""
    if re.fullmatch(r"\d{4}", period):
        y = int(period)
        if freq == "M":
            return [f"{y}-{m:02d}" for m in range(1, 13)]
        if freq == "Q":
            return [f"{y}-Q{q}" for q in range(1, 5)]
    return [period]


def reconciled_targets(fc: CoherentForecast, code: str, history: Series, indicator: Indicator) -> list[dict[str, Any]]:
    """Probability (0-1) that each plan target of ``indicator`` is met, from the reconciled distribution.

    A yearly target of a monthly or quarterly flow indicator is about the year's total (observed months
    known), of a stock indicator about the year's average; a growth target compares with the previous year,
    which must be observed. Targets beyond the forecast periods get an ``error``.
    """
    observed = dict(zip(history.periods, history.values.tolist(), strict=True))
    future = set(fc.periods)
    out: list[dict[str, Any]] = []
    for t in indicator.targets or []:
        entry: dict[str, Any] = dict(t)
        periods = _periods_of(str(t["period"]), indicator.frequency)
        k = 1 if indicator.kind == "flow" else len(periods)
        ahead = [p for p in periods if p not in observed]
        outside = [p for p in ahead if p not in future]
        if outside:
            entry["error"] = f"periods {outside[:3]} are neither observed nor within the forecast horizon"
            out.append(entry)
            continue
        if t.get("kind", "level") == "growth":
            prev = _periods_of(str(int(str(t["period"])[:4]) - 1) + str(t["period"])[4:], indicator.frequency)
            if any(p not in observed for p in prev):
                entry["error"] = "a growth target needs the previous period observed"
                out.append(entry)
                continue
            threshold = sum(observed[p] for p in prev) / k * (1.0 + float(t["value"]) / 100.0)
        else:
            threshold = float(t["value"])
        known = float(sum(observed[p] for p in periods if p in observed))
        direction = str(t.get("direction", "at_least"))
        if ahead:
            prob = fc.probability(code, threshold * k, ahead, direction, known)
            mu, sd = fc.distribution(code, ahead)
        else:
            met = known >= threshold * k if direction == "at_least" else known <= threshold * k
            prob, mu, sd = float(met), 0.0, 0.0
        entry |= {
            "probability": prob,
            "threshold": threshold,
            "expected": (known + mu) / k,
            "sd": sd / k,
            "observed_part": known,
            "periods_forecast": len(ahead),
        }
        out.append(entry)
    return out


def target_probabilities(
    services: Services, session: Session, indicator: Indicator
) -> tuple[str, list[dict[str, Any]]]:
    """The champion's version and, for each plan target of ``indicator``, the target with the probability
    (0-1) that it is met from the predictive distribution (year-to-date accumulation for flow indicators), the
    threshold, median, 80% range, observed part and periods forecast; or an ``error`` when it cannot be told."""
    from forecasting.target import Target, target_probability

    series = load_series(session, indicator, for_forecast=True)
    served = services.champions.get("forecasting")
    out = []
    for t in indicator.targets or []:
        target = Target(
            period=t["period"],
            value=float(t["value"]),
            kind=t.get("kind", "level"),
            direction=t.get("direction", "at_least"),
        )
        entry: dict[str, Any] = dict(t)
        if series is None:
            entry["error"] = "no observations"
        else:
            try:
                r = target_probability(series, target, flow=indicator.kind == "flow", config=served.model.config)
                entry |= {
                    "probability": r.probability,
                    "threshold": r.threshold,
                    "median": r.median,
                    "lower_80": r.lower_80,
                    "upper_80": r.upper_80,
                    "observed_part": r.observed_part,
                    "periods_forecast": r.periods_forecast,
                }
            except ValueError as e:
                entry["error"] = str(e)
        out.append(entry)
    return served.version, out


def etag_of(body: dict[str, Any]) -> str:
    src = json.dumps([body["indicator"], body["data_version"], body["model"], body["points"]], sort_keys=True)
    return '"' + hashlib.sha256(src.encode()).hexdigest()[:32] + '"'
