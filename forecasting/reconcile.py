"""Coherent forecasts across levels: an indicator and its components (sectors, provinces, communes) add up.

A hierarchy is given as ``{parent: [components]}`` of any depth (:func:`hierarchy_from_components`); for
example the new Lâm Đồng (from 1 July 2025) is ``{"LD": ["LD_cu", "DNO_cu", "BTH_cu"]}``. Every node is
forecast by the ordinary pipeline (:func:`forecasting.forecast_series`); the base forecasts are then
reconciled by a projection ``y~ = S P y^`` (``S`` the summing matrix, shape (n_nodes, n_bottom)), so that each
parent's mean equals the sum of its components' means.

``P`` is the generalised least-squares projection ``(S' W^-1 S)^-1 S' W^-1`` of trace minimisation (MinT,
Wickramasuriya, Athanasopoulos and Hyndman 2019) for one of these ``W`` (the base error covariance):

* ``mint_shrink``: ``diag(s) R diag(s)``: ``s`` the pipeline's one-step error scale of each node (from its
  whole history and backtest), ``R`` the correlation of the nodes' standardised forecast errors shrunk
  towards the identity by the Schäfer-Strimmer estimator (the target of MinT's shrinkage estimator);
* ``mint_struct``: the same, ``R`` shrunk towards the correlation that independent bottom errors would give
  the aggregates (:func:`structural_correlation`: an aggregate's error moves with its components');
* ``wls_var``: ``diag(s^2)`` (variance scaling);
* ``wls_struct``: ``diag(S 1)``, the number of bottom series under each node;
* ``ols``: the identity; ``bottom_up``: the bottom forecasts summed.

The forecast errors behind ``R`` are the pipeline's own rolling-origin backtest errors of every node (no extra
forecasts), or, when a history is too short for two backtest windows (yearly series of ten years), one-step
errors of the pipeline from the last ``rolling_origins`` origins of the history. One projection serves every
step (``W_h`` proportional to ``W_1``, as in MinT). With ``method="auto"`` the
projection is chosen on those same past errors (the training part only: leave one window out for ``R``): the
candidate whose reconciled errors, relative to the base errors, are lowest averaged over the levels, among
those not worse than base at any level when there is one. With fewer than two windows, ``wls_var``.

Reconciled distribution: the base errors at step ``j`` are taken with covariance ``diag(s_j) R diag(s_j)``
(``R`` of ``mint_struct``), across steps with the random-walk correlation of :func:`forecasting.sample_paths`;
the reconciled covariance is ``kappa^2 S P Sigma P' S'``, ``kappa`` one factor (bounded to [0.5, 2]) that gives
the reconciled past errors the spread of the base past errors, whose intervals the pipeline calibrates.
Intervals are ``mean +- k_L * sd`` with the pipeline's calibrated multipliers
``k_L`` (:mod:`forecasting.intervals`), and target probabilities use the same standardised distribution, so
``P(value >= upper_80) = 0.10`` exactly: intervals and probabilities never disagree. Means are coherent;
interval bounds of a parent are not the sums of its components' bounds (uncertainties do not add).

    >>> h = hierarchy_from_components({"VN": ["North", "South"], "South": ["LD", "HCM"]})
    >>> h.nodes, h.bottom
    (('VN', 'South', 'North', 'LD', 'HCM'), ('North', 'LD', 'HCM'))
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from ._engine import FloatArray
from .auto import Forecast
from .config import PipelineConfig
from .errors import ForecastingError
from .frame import check_horizon, forecast_series
from .intervals import check_levels, level_key, multiplier
from .series import Series

__all__ = [
    "CoherentForecast",
    "ErrorSamples",
    "Hierarchy",
    "HierarchyError",
    "METHODS",
    "ReconcileOptions",
    "base_forecasts",
    "error_samples",
    "forecast_hierarchy",
    "hierarchy_from_components",
    "reconcile",
]

logger = logging.getLogger(__name__)

#: Projections understood by :func:`reconcile` (``auto`` chooses among ``ReconcileOptions.candidates``).
METHODS = ("mint_struct", "mint_shrink", "wls_var", "wls_struct", "ols", "bottom_up")
_ND = NormalDist()


class HierarchyError(ForecastingError):
    """Invalid hierarchy or histories that do not fit it (a ``ValueError``)."""

    code = "invalid_hierarchy"


def _nfc(code: object) -> str:
    if not isinstance(code, str):
        raise HierarchyError(f"indicator codes must be text. Got: {code!r}")
    out = unicodedata.normalize("NFC", code).strip()
    if not out:
        raise HierarchyError("indicator codes must not be empty. Got: an empty code")
    return out


# -- the hierarchy ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hierarchy:
    """A forest of indicators, each parent the sum of its components.

    Attributes:
        nodes: every code, aggregates first (breadth-first from the roots), then the bottom codes.
        bottom: the leaves (codes without components), in depth-first order, shape (n_bottom,).
        parent: component code -> its parent code (roots are absent).
        components: parent code -> its components, as given.
        depth: code -> 0 for a root, 1 for its components, ...
        S: summing matrix, shape (n_nodes, n_bottom), ``S[i, b] = 1`` when bottom ``b`` is under node ``i``
            (a bottom node has its own unit row); rows in ``nodes`` order.
    """

    nodes: tuple[str, ...]
    bottom: tuple[str, ...]
    parent: Mapping[str, str]
    components: Mapping[str, tuple[str, ...]]
    depth: Mapping[str, int]
    S: FloatArray = field(repr=False)

    @property
    def n_levels(self) -> int:
        """Number of depths (1 for a single node)."""
        return max(self.depth.values()) + 1

    def index(self, code: str) -> int:
        """Row of ``code`` in ``nodes``/``S``; raises :class:`HierarchyError` for an unknown code."""
        try:
            return self._pos[_nfc(code)]
        except KeyError as e:
            raise HierarchyError(f"unknown indicator {code!r}; expected one of {list(self.nodes)[:20]}") from e

    @functools.cached_property
    def _pos(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.nodes)}

    def level_of(self) -> np.ndarray:
        """Depth of each node in ``nodes`` order, shape (n_nodes,)."""
        return np.array([self.depth[c] for c in self.nodes], dtype=np.int64)


def hierarchy_from_components(components: Mapping[str, Sequence[str]], codes: Iterable[str] | None = None) -> Hierarchy:
    """Build and validate a :class:`Hierarchy` from ``{parent: [component, ...]}`` (any depth).

    Args:
        components: each aggregate indicator and the codes whose sum it is.
        codes: the known indicator codes (the catalogue); when given, every code of ``components`` must be
            among them. Known codes outside ``components`` are not added.

    Raises:
        HierarchyError: an empty or non-text code, a parent without components, a component listed twice,
            a component of two parents, a cycle, or a code unknown to ``codes``. The message names them.
    """
    if not isinstance(components, Mapping) or not components:
        raise HierarchyError(f"components must be a non-empty mapping {{parent: [components]}}. Got: {components!r}")
    comp: dict[str, tuple[str, ...]] = {}
    parent: dict[str, str] = {}
    problems: list[str] = []
    for p_raw, parts_raw in components.items():
        p = _nfc(p_raw)
        if isinstance(parts_raw, str) or not isinstance(parts_raw, Sequence):
            raise HierarchyError(f"components of {p!r} must be a list of codes. Got: {parts_raw!r}")
        parts = tuple(_nfc(c) for c in parts_raw)
        if not parts:
            problems.append(f"{p!r} has no components (leave it out, or list the codes it sums)")
        if p in comp:
            problems.append(f"{p!r} is listed twice as a parent")
        dup = sorted({c for c in parts if parts.count(c) > 1})
        if dup:
            problems.append(f"{p!r} lists {dup} more than once")
        comp[p] = parts
        for c in dict.fromkeys(parts):
            if c in parent and parent[c] != p:
                problems.append(f"{c!r} is a component of both {parent[c]!r} and {p!r} (a part has one parent)")
            else:
                parent[c] = p
    if problems:
        raise HierarchyError("invalid hierarchy: " + "; ".join(problems))
    # cycles: follow parents upwards from every code
    for start in list(parent):
        seen = [start]
        node = start
        while node in parent:
            node = parent[node]
            if node in seen:
                cycle = seen[seen.index(node) :] + [node]
                raise HierarchyError(f"invalid hierarchy: cycle {' -> '.join(reversed(cycle))} (a code sums itself)")
            seen.append(node)
    every = set(comp) | set(parent)
    if codes is not None:
        known = {_nfc(c) for c in codes}
        unknown = sorted(every - known)
        if unknown:
            raise HierarchyError(
                f"invalid hierarchy: unknown indicator codes {unknown}; define them first or fix the codes"
            )
    roots = [p for p in comp if p not in parent]
    depth: dict[str, int] = {}
    aggregates: list[str] = []
    queue = list(roots)
    for r in roots:
        depth[r] = 0
    while queue:
        nxt: list[str] = []
        for node in queue:
            if node in comp:
                aggregates.append(node)
                for c in comp[node]:
                    depth[c] = depth[node] + 1
                    nxt.append(c)
        queue = nxt
    bottom: list[str] = []

    def leaves(node: str) -> list[str]:
        if node not in comp:
            return [node]
        return [leaf for c in comp[node] for leaf in leaves(c)]

    for r in roots:
        bottom.extend(leaves(r))
    nodes = tuple(aggregates) + tuple(bottom)
    col = {b: j for j, b in enumerate(bottom)}
    S = np.zeros((len(nodes), len(bottom)))
    for i, node in enumerate(nodes):
        for leaf in leaves(node):
            S[i, col[leaf]] = 1.0
    S.setflags(write=False)
    return Hierarchy(nodes, tuple(bottom), dict(parent), comp, depth, S)


# -- histories and base forecasts -----------------------------------------------------------------------
def _check_histories(hierarchy: Hierarchy, histories: Mapping[str, Series]) -> dict[str, Series]:
    hist = {_nfc(k): v for k, v in histories.items()}
    missing = [c for c in hierarchy.nodes if c not in hist]
    if missing:
        raise HierarchyError(
            f"every indicator of the hierarchy needs its history; missing: {missing[:20]}"
            " (send them, or build a parent's history as the sum of its components')"
        )
    first = hist[hierarchy.nodes[0]]
    end = first.start + len(first)
    bad = [
        f"{c} ({s.freq}, last {s.label(s.start + len(s) - 1)})"
        for c in hierarchy.nodes
        if (s := hist[c]).freq != first.freq or s.calendar != first.calendar or s.start + len(s) != end
    ]
    if bad:
        raise HierarchyError(
            f"the histories must share frequency and last period ({first.freq}, last"
            f" {first.label(end - 1)} for {hierarchy.nodes[0]!r}). Got: {bad[:20]}; cut them to the common last"
            " period, or drop components that stopped being reported (e.g. former provinces after a merger)"
        )
    return hist


def base_forecasts(
    hierarchy: Hierarchy,
    histories: Mapping[str, Series],
    horizon: int,
    levels: Sequence[float] = (80, 95),
    config: PipelineConfig | None = None,
) -> dict[str, Forecast]:
    """Base (incoherent) forecast of every node by :func:`forecasting.forecast_series`, keyed by code."""
    hist = _check_histories(hierarchy, histories)
    h = check_horizon(horizon)
    return {c: forecast_series(hist[c], h, levels, config) for c in hierarchy.nodes}


@dataclass(frozen=True)
class ErrorSamples:
    """Past forecast errors of every node, aligned in time, for the error correlation and the validation.

    Attributes:
        z: standardised errors (``raw`` / the current base forecast's error scale at that step), shape
            (k, n_nodes), columns in ``Hierarchy.nodes`` order.
        raw: the errors in series units, brought to the level of the last observation for positive series
            (as the pipeline's backtest does), shape (k, n_nodes).
        window: the origin each row comes from (0 = most recent), shape (k,).
        step: the forecast step of each row (1 = one period ahead), shape (k,).
        source: ``backtest`` (the pipeline's backtest errors), ``rolling`` (one-step errors from extra
            origins) or ``none``.
    """

    z: FloatArray
    raw: FloatArray
    window: np.ndarray
    step: np.ndarray
    source: str

    @property
    def n_windows(self) -> int:
        return int(np.unique(self.window).shape[0])


def _truncate(s: Series, n: int) -> Series:
    return dataclasses.replace(s, values=s.values[:n], imputed=s.imputed[:n])


def error_samples(
    hierarchy: Hierarchy,
    histories: Mapping[str, Series],
    forecasts: Mapping[str, Forecast],
    config: PipelineConfig | None = None,
    options: ReconcileOptions | None = None,
) -> ErrorSamples:
    """Aligned past errors of the base pipeline (see the module docstring for the two sources).

    The backtest errors of each :class:`Forecast` are used when every node has at least
    ``options.min_windows`` backtest windows; otherwise each node is forecast one step ahead from each of the
    last ``options.rolling_origins`` origins of its history (origins that leave every node at least
    ``config.min_length`` observations), ``rolling_origins * n_nodes`` extra pipeline runs.
    """
    cfg = config or PipelineConfig()
    opt = options or ReconcileOptions()
    hist = _check_histories(hierarchy, histories)
    nodes = hierarchy.nodes
    wins = min(forecasts[c].n_windows for c in nodes)
    if wins >= opt.min_windows:
        h = forecasts[nodes[0]].mean.shape[0]
        raw = np.stack([forecasts[c].backtest_errors[:wins, :h] for c in nodes], axis=-1)  # (w, h, n)
        scale = np.stack([np.maximum(forecasts[c].scale[:h], 1e-300) for c in nodes], axis=-1)  # (h, n)
        z = raw / scale[None, :, :]
        w_idx, s_idx = np.meshgrid(np.arange(wins), np.arange(1, h + 1), indexing="ij")
        return ErrorSamples(
            z.reshape(-1, len(nodes)), raw.reshape(-1, len(nodes)), w_idx.ravel(), s_idx.ravel(), "backtest"
        )
    n_min = min(len(hist[c]) for c in nodes)
    offsets = [k for k in range(1, opt.rolling_origins + 1) if n_min - k >= max(cfg.min_length, 2)]
    if not offsets:
        empty = np.zeros((0, len(nodes)))
        return ErrorSamples(empty, empty.copy(), np.zeros(0, np.int64), np.zeros(0, np.int64), "none")
    raw = np.zeros((len(offsets), len(nodes)))
    for j, c in enumerate(nodes):
        s = hist[c]
        y = s.values
        span = max(s.season_length, 1)
        for i, k in enumerate(offsets):
            o = len(s) - k
            fc = forecast_series(_truncate(s, o), 1, (80,), cfg)
            raw[i, j] = float(fc.mean[0]) - float(y[o])
            then = float(np.mean(y[max(0, o - span) : o]))
            now = float(np.mean(y[len(s) - span :]))
            if opt.rescale_errors and float(np.min(y)) > 0 and then > 0:
                # errors scale with the level: bring them to the level at the last origin, as the backtest does
                raw[i, j] *= now / then
    scale = np.stack([np.maximum(forecasts[c].scale[0], 1e-300) for c in nodes])
    z = raw / scale[None, :]
    return ErrorSamples(z, raw, np.arange(len(offsets)), np.ones(len(offsets), np.int64), "rolling")


# -- estimators --------------------------------------------------------------------------------------------
def shrunk_correlation(z: FloatArray, target: FloatArray | None = None) -> tuple[FloatArray, float]:
    """Schäfer-Strimmer shrinkage of the (uncentred) correlation of ``z`` (shape (k, n)) towards ``target``.

    ``target``: a correlation matrix, shape (n, n); None is the identity (MinT's shrinkage estimator).
    Returns (correlation, shape (n, n); intensity lambda in [0, 1], 1 = the target alone). Errors are taken
    as mean zero (a bias is part of the error). Fewer than 2 rows give the target and lambda 1.
    """
    k, n = z.shape
    t = np.eye(n) if target is None else target
    if k < 2 or n < 2:
        return t.copy(), 1.0
    sd = np.sqrt(np.mean(z**2, axis=0))
    sd = np.where(sd > 0, sd, 1.0)
    x = z / sd
    r = x.T @ x / k
    x2 = x**2
    var_r = (x2.T @ x2 - k * r**2) / (k * (k - 1))  # variance of the mean of the products x_i x_j
    off = ~np.eye(n, dtype=bool)
    den = float(np.sum((r[off] - t[off]) ** 2))
    lam = 1.0 if den <= 0 else float(np.clip(np.sum(var_r[off]) / den, 0.0, 1.0))
    out = lam * t + (1.0 - lam) * r
    np.fill_diagonal(out, 1.0)
    return out, lam


def structural_correlation(S: FloatArray, scale: FloatArray) -> FloatArray:
    """Correlation of the nodes' errors if the bottom errors were independent with scales ``scale[bottom]``
    and every aggregate's error the sum of its bottom errors: ``corr(S diag(s_b^2) S')``, shape (n, n).

    The shrinkage target of ``mint_struct``: an aggregate's error moves with its components' errors.
    """
    b = S.shape[1]
    sb2 = np.maximum(scale[-b:], 1e-300) ** 2
    cov = (S * sb2[None, :]) @ S.T
    d = np.sqrt(np.diag(cov))
    return np.asarray(cov / np.outer(d, d))


def _projection(S: FloatArray, w: FloatArray | None, w_diag: FloatArray | None) -> FloatArray:
    """``(S' W^-1 S)^-1 S' W^-1``, shape (n_bottom, n_nodes), for a full ``w`` or a diagonal ``w_diag``."""
    wi_s: np.ndarray
    if w_diag is not None:
        wi_s = S / w_diag[:, None]
    else:
        assert w is not None
        try:
            wi_s = np.linalg.solve(w, S)
        except np.linalg.LinAlgError:
            wi_s = np.linalg.lstsq(w, S, rcond=None)[0]
    return np.asarray(np.linalg.solve(S.T @ wi_s, wi_s.T))


def _projections(method: str, S: FloatArray, scale: FloatArray, corr: FloatArray) -> FloatArray:
    """Projection of ``method``, shape (h, n_bottom, n_nodes), the same for every step (``W`` from the
    one-step scales ``scale[:, 0]``, as MinT assumes ``W_h`` proportional to ``W_1``); ``scale`` (n_nodes, h)."""
    n, b = S.shape
    h = scale.shape[1]
    s1 = scale[:, 0]
    if method == "bottom_up":
        p = np.zeros((b, n))
        p[:, n - b :] = np.eye(b)
    elif method == "ols":
        p = _projection(S, None, np.ones(n))
    elif method == "wls_struct":
        p = _projection(S, None, S.sum(axis=1))
    elif method == "wls_var":
        p = _projection(S, None, s1**2)
    elif method in ("mint_shrink", "mint_struct"):
        p = _projection(S, s1[:, None] * (corr + 1e-8 * np.eye(n)) * s1[None, :], None)
    else:
        raise ForecastingError(f"method must be one of {METHODS} or 'auto'. Got: {method!r}")
    return np.repeat(p[None], h, axis=0)


@functools.lru_cache(maxsize=32)
def _std_quantiles(table: tuple[tuple[str, float], ...]) -> tuple[FloatArray, FloatArray]:
    """Grid (x, z) of the calibrated standardised distribution: P(X <= x) = Phi(z), x >= 0."""
    tab = dict(table)
    zs = np.linspace(0.0, 8.0, 4001)
    knots = np.array([_ND.inv_cdf(0.5 + float(k) / 200.0) for k in tab])
    zs = np.unique(np.r_[zs, knots])
    levels = np.clip(100.0 * (2.0 * np.array([_ND.cdf(float(v)) for v in zs]) - 1.0), 1e-12, 100.0 - 1e-12)
    xs = np.array([multiplier(float(lv), tab) for lv in levels])
    xs[0] = 0.0
    return np.maximum.accumulate(xs), zs


def _std_sf(x: FloatArray, table: dict[str, float]) -> FloatArray:
    """P(X >= x) of the calibrated standardised distribution (symmetric), elementwise."""
    xs, zs = _std_quantiles(tuple(sorted(table.items())))
    z = np.sign(x) * np.interp(np.abs(x), xs, zs)
    return np.array([1.0 - _ND.cdf(float(v)) for v in np.ravel(z)]).reshape(np.shape(x))


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


# -- options and result ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReconcileOptions:
    """How base forecasts are reconciled.

    Attributes:
        method: ``auto`` (chosen on past errors, see the module docstring) or one of :data:`METHODS`.
        candidates: the methods ``auto`` chooses among.
        fallback: the method when there are fewer than 2 windows of past errors to choose on.
        min_windows: backtest windows every node needs for its backtest errors to be used; fewer switch to
            one-step errors from extra origins.
        rolling_origins: extra origins (one-step forecasts per node) in that case; 0 for none.
        rescale_errors: bring the one-step errors of extra origins to the current level (positive series).
            Off: on the training part of the budget data, rescaled errors of very short early histories
            misled the choice.
        interval_target: shrinkage target of the correlation behind the intervals: ``struct`` (see
            :func:`structural_correlation`) or ``identity``.
        calibrate: scale the reconciled error scales by ``kappa`` (module docstring).
        nonnegative: when every history is >= 0, negative reconciled bottom means are set to 0 and the
            parents re-summed (still coherent).
    """

    method: str = "auto"
    candidates: tuple[str, ...] = METHODS
    fallback: str = "wls_var"
    min_windows: int = 2
    rolling_origins: int = 6
    rescale_errors: bool = False
    interval_target: str = "struct"
    calibrate: bool = True
    nonnegative: bool = True

    def __post_init__(self) -> None:
        if self.method != "auto" and self.method not in METHODS:
            raise ForecastingError(f"method must be 'auto' or one of {METHODS}. Got: {self.method!r}")
        bad = [m for m in (*self.candidates, self.fallback) if m not in METHODS]
        if bad or not self.candidates:
            raise ForecastingError(
                f"candidates and fallback must be among {METHODS}. Got: {list(self.candidates)}, {self.fallback!r}"
            )
        if self.interval_target not in ("struct", "identity"):
            raise ForecastingError(f"interval_target must be 'struct' or 'identity'. Got: {self.interval_target!r}")
        if self.min_windows < 1 or self.rolling_origins < 0:
            raise ForecastingError(
                f"min_windows must be >= 1 and rolling_origins >= 0. Got: {self.min_windows}, {self.rolling_origins}"
            )
        object.__setattr__(self, "candidates", tuple(self.candidates))


@dataclass(frozen=True)
class CoherentForecast:
    """Reconciled forecasts of every node of a hierarchy.

    Attributes:
        hierarchy: the hierarchy (rows of the arrays follow ``hierarchy.nodes``).
        periods: labels of the forecast periods, shape (h,).
        levels: interval levels (percent).
        mean: reconciled means, shape (n_nodes, h); each parent's row is the sum of its components' rows.
        sd: reconciled error scale (series units), shape (n_nodes, h); bounds are ``mean -+ k_L * sd``.
        lower, upper: per level key (``"80"``) bounds, each shape (n_nodes, h).
        method: the projection used.
        validation: per candidate, the mean over levels of reconciled / base error on past errors (lower is
            better; empty when not chosen by validation), and ``<method>_max`` the worst level's ratio.
        shrinkage: Schäfer-Strimmer intensity of the error correlation (1 = no correlation estimated).
        error_source: where the past errors came from (see :class:`ErrorSamples`).
        notes: fallbacks applied.
        base: the base forecasts by code.
    """

    hierarchy: Hierarchy
    periods: tuple[str, ...]
    levels: tuple[float, ...]
    mean: FloatArray
    sd: FloatArray
    lower: dict[str, FloatArray]
    upper: dict[str, FloatArray]
    method: str
    validation: dict[str, float]
    shrinkage: float
    error_source: str
    notes: tuple[str, ...]
    base: Mapping[str, Forecast] = field(repr=False)
    _projection: FloatArray = field(repr=False)  # (h, n_bottom, n_nodes)
    _base_scale: FloatArray = field(repr=False)  # (n_nodes, h)
    _corr: FloatArray = field(repr=False)  # (n_nodes, n_nodes)
    _calibration: dict[str, float] = field(repr=False)

    def _steps(self, periods: Sequence[str] | None) -> np.ndarray:
        if periods is None:
            return np.arange(len(self.periods))
        pos = {p: i for i, p in enumerate(self.periods)}
        bad = [p for p in periods if p not in pos]
        if bad or not periods:
            raise ForecastingError(f"periods must be among the forecast periods {list(self.periods)}. Got: {bad}")
        return np.array([pos[p] for p in periods])

    def distribution(self, code: str, periods: Sequence[str] | None = None) -> tuple[float, float]:
        """(mean, sd) of the sum of ``code``'s values over ``periods`` (default: all forecast periods)."""
        i = self.hierarchy.index(code)
        st = self._steps(periods)
        a = np.stack([(self.hierarchy.S[i] @ self._projection[j]) * self._base_scale[:, j] for j in st])
        t = st.astype(float) + 1.0
        rho = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
        var = float(np.sum(rho * (a @ self._corr @ a.T)))
        return float(np.sum(self.mean[i, st])), float(np.sqrt(max(var, 0.0)))

    def probability(
        self,
        code: str,
        threshold: float,
        periods: Sequence[str] | None = None,
        direction: str = "at_least",
        known: float = 0.0,
    ) -> float:
        """Probability (0-1) that ``known`` + the sum of ``code`` over ``periods`` is >= ``threshold``.

        ``direction="at_most"`` gives P(... <= threshold). ``known`` is an already observed part (e.g. the
        months of the year so far). For one period, ``P(value >= upper_80) = 0.10`` and
        ``P(value >= lower_80) = 0.90``: probabilities agree with the intervals.
        """
        if direction not in ("at_least", "at_most"):
            raise ForecastingError(f"direction must be 'at_least' or 'at_most'. Got: {direction!r}")
        if not np.isfinite(threshold) or not np.isfinite(known):
            raise ForecastingError(f"threshold and known must be finite. Got: {threshold!r}, {known!r}")
        mu, sd = self.distribution(code, periods)
        mu += known
        if sd <= 0:
            p = float(mu >= threshold)
        else:
            p = float(_std_sf(np.array([(threshold - mu) / sd]), self._calibration)[0])
        if direction == "at_most":
            p = 1.0 - p
        return p

    def to_frame(self) -> pd.DataFrame:
        """Long table ``unique_id, ds, mean, lower_<L>, upper_<L>...`` in ``hierarchy.nodes`` order."""
        n, h = self.mean.shape
        data: dict[str, object] = {
            "unique_id": np.repeat(np.array(self.hierarchy.nodes, dtype=object), h),
            "ds": np.tile(np.array(self.periods, dtype=object), n),
            "mean": self.mean.ravel(),
        }
        for lv in self.levels:
            k = level_key(lv)
            data[f"lower_{k}"] = self.lower[k].ravel()
            data[f"upper_{k}"] = self.upper[k].ravel()
        return pd.DataFrame(data)


# -- reconciliation ------------------------------------------------------------------------------------------
def _validate(
    hierarchy: Hierarchy, samples: ErrorSamples, scale: FloatArray, candidates: tuple[str, ...]
) -> dict[str, float]:
    """Mean over levels of (reconciled / base) mean scaled absolute error on the past errors, per candidate.

    Leave one window out for the error correlation. ``scale`` (n_nodes, h) standardises the errors.
    """
    S = hierarchy.S
    lvl = hierarchy.level_of()
    depths = np.unique(lvl)
    windows = np.unique(samples.window)
    base_abs = np.abs(samples.z)  # (k, n)
    rec_abs = {c: np.zeros_like(base_abs) for c in candidates}
    mint = ("mint_shrink", "mint_struct")
    fixed = {c: _projections(c, S, scale, np.eye(S.shape[0])) for c in candidates if c not in mint}
    target = structural_correlation(S, scale[:, 0])
    for w in windows:
        rows = np.flatnonzero(samples.window == w)
        rest = samples.z[samples.window != w]
        for c in candidates:
            if c in fixed:
                proj = fixed[c]
            else:
                corr, _ = shrunk_correlation(rest, target if c == "mint_struct" else None)
                proj = _projections(c, S, scale, corr)
            j = 0  # one projection for every step (see _projections)
            e = samples.z[rows] * scale[None, :, 0]
            rec_abs[c][rows] = np.abs(e @ (S @ proj[j]).T) / scale[None, :, 0]
    out: dict[str, float] = {}
    base_lvl = np.array([base_abs[:, lvl == d].mean() for d in depths])
    for c in candidates:
        ratios = np.array([rec_abs[c][:, lvl == d].mean() for d in depths]) / np.maximum(base_lvl, 1e-300)
        out[c] = float(np.mean(ratios))
        out[f"{c}_max"] = float(np.max(ratios))
    return out


def _spread_ratio(
    hierarchy: Hierarchy, samples: ErrorSamples, scale: FloatArray, proj: FloatArray, corr: FloatArray
) -> float:
    """One factor for the reconciled scales (keeps the joint distribution coherent), from the past errors.

    The reconciled past errors standardised by their modelled scale should spread as the base past errors
    standardised by the base scale (whose intervals the pipeline calibrates): the ratio of their mean squares,
    each averaged over levels, square-rooted and bounded to [0.5, 2]. 1 with fewer than 2 rows.
    """
    if samples.z.shape[0] < 2:
        return 1.0
    S = hierarchy.S
    lvl = hierarchy.level_of()
    rec = np.zeros_like(samples.z)
    steps = np.minimum(samples.step, scale.shape[1]) - 1
    for j in np.unique(steps):
        a = (S @ proj[j]) * scale[None, :, j]
        sd = np.sqrt(np.maximum(np.sum((a @ corr) * a, axis=1), 1e-300))
        rows = steps == j
        rec[rows] = (samples.z[rows] @ a.T) / sd[None, :]
    depths = np.unique(lvl)
    num = np.mean([np.mean(rec[:, lvl == d] ** 2) for d in depths])
    den = np.mean([np.mean(samples.z[:, lvl == d] ** 2) for d in depths])
    if not np.isfinite(num) or not den > 0:
        return 1.0
    return float(np.clip(np.sqrt(num / den), 0.5, 2.0))


def _choose(validation: dict[str, float], candidates: tuple[str, ...]) -> str:
    fine = [c for c in candidates if validation[f"{c}_max"] <= 1.0]
    pool = fine or list(candidates)
    return min(pool, key=lambda c: (validation[c], candidates.index(c)))


def reconcile(
    hierarchy: Hierarchy,
    histories: Mapping[str, Series],
    forecasts: Mapping[str, Forecast],
    levels: Sequence[float] = (80, 95),
    options: ReconcileOptions | None = None,
    config: PipelineConfig | None = None,
    samples: ErrorSamples | None = None,
) -> CoherentForecast:
    """Reconcile base forecasts (one :class:`Forecast` per node, same horizon) into a :class:`CoherentForecast`.

    Args:
        hierarchy: from :func:`hierarchy_from_components`.
        histories: each node's history (same frequency and last period for all).
        forecasts: each node's base forecast from :func:`base_forecasts` (or ``forecast_series``).
        levels: interval levels in percent.
        options: method and its fallbacks.
        config: the pipeline configuration of the base forecasts (its calibration gives the interval
            multipliers; its ``min_length`` bounds the extra origins).
        samples: past errors from :func:`error_samples`; computed when None.

    Raises:
        HierarchyError: missing or misaligned histories or forecasts.
    """
    # matrices of a few hundred rows: BLAS threads only add synchronisation (10-100x slower on a busy machine)
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _reconcile(hierarchy, histories, forecasts, levels, options, config, samples)


def _reconcile(
    hierarchy: Hierarchy,
    histories: Mapping[str, Series],
    forecasts: Mapping[str, Forecast],
    levels: Sequence[float],
    options: ReconcileOptions | None,
    config: PipelineConfig | None,
    samples: ErrorSamples | None,
) -> CoherentForecast:
    """:func:`reconcile`'s work, with BLAS limited to one thread by its caller."""
    cfg = config or PipelineConfig()
    opt = options or ReconcileOptions()
    lv = check_levels(list(levels))
    hist = _check_histories(hierarchy, histories)
    fc = {_nfc(k): v for k, v in forecasts.items()}
    nodes = hierarchy.nodes
    missing = [c for c in nodes if c not in fc]
    if missing:
        raise HierarchyError(f"a base forecast is needed for every node; missing: {missing[:20]}")
    hs = {fc[c].mean.shape[0] for c in nodes}
    if len(hs) != 1:
        raise HierarchyError(f"base forecasts must share the horizon. Got horizons {sorted(hs)}")
    h = hs.pop()
    base_mean = np.stack([fc[c].mean for c in nodes])  # (n, h)
    scale = np.stack([fc[c].scale for c in nodes])
    floor = 1e-9 * max(float(np.max(scale)), 1e-300)
    scale = np.maximum(scale, floor)
    smp = samples if samples is not None else error_samples(hierarchy, hist, fc, cfg, opt)
    notes: list[str] = []
    corr_struct, lam_struct = shrunk_correlation(smp.z, structural_correlation(hierarchy.S, scale[:, 0]))
    corr_id, lam_id = shrunk_correlation(smp.z)
    corr, lam = (corr_struct, lam_struct) if opt.interval_target == "struct" else (corr_id, lam_id)
    if smp.z.shape[0] < 2:
        notes.append("fewer than 2 past errors per node: the structural correlation alone")
    validation: dict[str, float] = {}
    if opt.method != "auto":
        method = opt.method
    elif smp.n_windows >= 2:
        validation = _validate(hierarchy, smp, scale, opt.candidates)
        method = _choose(validation, opt.candidates)
    else:
        method = opt.fallback
        notes.append(f"fewer than 2 windows of past errors: {method} without validation")
    proj = _projections(method, hierarchy.S, scale, corr_id if method == "mint_shrink" else corr_struct)
    S = hierarchy.S
    bottom = np.stack([proj[j] @ base_mean[:, j] for j in range(h)], axis=1)  # (b, h)
    if opt.nonnegative and all(float(np.min(hist[c].values)) >= 0 for c in nodes) and np.any(bottom < 0):
        notes.append(f"{int(np.sum(bottom < 0))} negative bottom means set to 0")
        bottom = np.maximum(bottom, 0.0)
    mean = S @ bottom
    sd = np.zeros_like(mean)
    for j in range(h):
        a = (S @ proj[j]) * scale[None, :, j]  # (n, n): reconciled error = a @ standardised base error
        sd[:, j] = np.sqrt(np.maximum(np.sum((a @ corr) * a, axis=1), 0.0))
    kappa = _spread_ratio(hierarchy, smp, scale, proj, corr) if opt.calibrate else 1.0
    if kappa != 1.0:
        notes.append(f"reconciled scales x {kappa:.3f} (spread of the past errors)")
        sd = sd * kappa
        scale = scale * kappa
    table = cfg.calibration.get(hist[nodes[0]].freq) or cfg.calibration.get("I") or {}
    lower, upper = {}, {}
    for level in lv:
        k = multiplier(level, table)
        lower[level_key(level)] = mean - k * sd
        upper[level_key(level)] = mean + k * sd
    first = hist[nodes[0]]
    end = first.start + len(first)
    periods = tuple(first.future_periods(h)) if first.calendar else tuple(str(o) for o in range(end, end + h))
    return CoherentForecast(
        hierarchy,
        periods,
        lv,
        mean,
        sd,
        lower,
        upper,
        method,
        validation,
        float(lam),
        smp.source,
        tuple(notes),
        fc,
        proj,
        scale,
        corr,
        dict(table),
    )


def forecast_hierarchy(
    components: Mapping[str, Sequence[str]] | Hierarchy,
    histories: Mapping[str, Series],
    horizon: int,
    levels: Sequence[float] = (80, 95),
    config: PipelineConfig | None = None,
    options: ReconcileOptions | None = None,
) -> CoherentForecast:
    """Coherent forecasts of an indicator tree: base forecasts of every node, then :func:`reconcile`.

    Args:
        components: ``{parent: [components]}`` or a :class:`Hierarchy`.
        histories: every node's history (:class:`forecasting.Series`, same frequency and last period).
        horizon: periods ahead.
        levels: interval levels in percent.

    Example (a parent of two components; means add up)::

        fc = forecast_hierarchy({"LD": ["LD_cu", "DNO_cu", "BTH_cu"]}, histories, horizon=2)
        fc.mean[fc.hierarchy.index("LD")]          # == the sum of the three former provinces' rows
        fc.probability("LD", 30_000.0, ["2026"])   # P(revenue 2026 >= 30,000)
    """
    hier = components if isinstance(components, Hierarchy) else hierarchy_from_components(components)
    cfg = config or PipelineConfig()
    fc = base_forecasts(hier, histories, horizon, levels, cfg)
    return reconcile(hier, histories, fc, levels, options, cfg)
