"""Vectorised numeric kernels behind the forecasting methods (private).

Every kernel takes a 1-d float64 array ``y`` of shape (n,) and returns plain arrays. Exponential smoothing
is fitted by an exhaustive grid over the smoothing parameters, evaluated for all grid points at once
(the recursion runs over time, the grid is the vector axis), with the initial states concentrated out in
closed form: for additive-error linear models the one-step errors are affine in the initial state, so the
best initial level and slope for each grid point come from a 2x2 least-squares solve. This makes one fit
of SES, Holt and damped Holt together cost about a millisecond for a 100-point series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Grid of the exponential-smoothing parameters. alpha: level; beta is a fraction of alpha (beta* <= alpha,
# the usual admissible region); phi: damping.
_ALPHAS = np.array([0.02, 0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.36, 0.43, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99])
_BETA_FRACTIONS = np.array([0.01, 0.04, 0.1, 0.2, 0.35, 0.55, 0.8, 1.0])
_PHIS = np.array([0.8, 0.88, 0.94, 0.98])

ETS_KINDS = ("ses", "holt", "damped")


@dataclass(frozen=True)
class _Grid:
    alpha: FloatArray
    beta: FloatArray
    phi: FloatArray
    kind: NDArray[np.int_]  # 0 ses, 1 holt, 2 damped


def _build_grid() -> _Grid:
    rows: list[tuple[float, float, float, int]] = [(float(a), 0.0, 0.0, 0) for a in _ALPHAS]  # SES
    rows += [(float(a), float(a * bf), 1.0, 1) for a in _ALPHAS for bf in _BETA_FRACTIONS]  # Holt
    rows += [(float(a), float(a * bf), float(p), 2) for a in _ALPHAS for bf in _BETA_FRACTIONS for p in _PHIS]
    cols = list(zip(*rows, strict=True))
    return _Grid(np.array(cols[0]), np.array(cols[1]), np.array(cols[2]), np.array(cols[3], dtype=int))


_GRID = _build_grid()


@dataclass(frozen=True)
class EtsFit:
    """Best parameters and final state of one non-seasonal additive ETS model."""

    kind: str
    alpha: float
    beta: float
    phi: float
    level: float
    slope: float
    sse: float
    n: int
    aicc: float

    def forecast(self, h: int) -> FloatArray:
        """Point forecasts, shape (h,)."""
        steps = np.arange(1, h + 1)
        if self.kind == "ses":
            return np.full(h, self.level)
        if self.kind == "holt":
            return np.asarray(self.level + steps * self.slope, dtype=np.float64)
        damp = np.cumsum(self.phi**steps)
        return np.asarray(self.level + damp * self.slope, dtype=np.float64)


def fit_ets_all(y: FloatArray, multiplicative_errors: bool = True) -> dict[str, EtsFit]:
    """Fit SES, Holt and damped Holt (additive errors) by grid search with concentrated initial states.

    Returns one :class:`EtsFit` per kind in :data:`ETS_KINDS` (additive errors) and, with
    ``multiplicative_errors`` and a positive series, one per kind with multiplicative errors under the key
    ``kind + "_m"`` (same point-forecast recursion, parameters chosen by the multiplicative likelihood);
    ``aicc`` values are comparable across all of them. ``y`` must hold at least 3 finite values.
    """
    n = y.shape[0]
    g = _GRID
    a, b, p = g.alpha, g.beta, g.phi
    k = a.shape[0]
    # zero-initialised state trajectories and the response of the one-step forecast to unit initial states
    lvl = np.zeros(k)
    slp = np.zeros(k)
    # v = w' D^(t-1): row vector (2 per grid point), w = (1, phi)
    v_l = np.ones(k)
    v_b = p.copy()
    d11, d12 = 1.0 - a, (1.0 - a) * p
    d21, d22 = -b, (1.0 - b) * p
    r = np.empty((n, k))
    u_l = np.empty((n, k))
    u_b = np.empty((n, k))
    for t in range(n):
        f = lvl + p * slp
        e = y[t] - f
        r[t] = e
        u_l[t] = v_l
        u_b[t] = v_b
        lvl = f + a * e
        slp = p * slp + b * e
        v_l, v_b = v_l * d11 + v_b * d21, v_l * d12 + v_b * d22
    # errors(x0) = r - u x0 ; minimise sum over t
    s_ll = np.einsum("tk,tk->k", u_l, u_l)
    s_lb = np.einsum("tk,tk->k", u_l, u_b)
    s_bb = np.einsum("tk,tk->k", u_b, u_b)
    s_rl = np.einsum("tk,tk->k", r, u_l)
    s_rb = np.einsum("tk,tk->k", r, u_b)
    s_rr = np.einsum("tk,tk->k", r, r)
    ridge = 1e-9 * (s_ll + s_bb + 1.0)
    s_ll_r = s_ll + ridge
    s_bb_r = s_bb + ridge
    det = s_ll_r * s_bb_r - s_lb * s_lb
    det = np.where(np.abs(det) < 1e-300, 1e-300, det)
    l0 = (s_rl * s_bb_r - s_rb * s_lb) / det
    b0 = (s_rb * s_ll_r - s_rl * s_lb) / det
    ses = g.kind == 0
    # SES has no slope: solve the 1-d problem exactly
    l0 = np.where(ses, s_rl / np.maximum(s_ll, 1e-300), l0)
    b0 = np.where(ses, 0.0, b0)
    sse = s_rr - 2 * (l0 * s_rl + b0 * s_rb) + l0 * l0 * s_ll + 2 * l0 * b0 * s_lb + b0 * b0 * s_bb
    scale = max(float(np.dot(y, y)), 1e-12)
    sse = np.maximum(sse, 1e-12 * scale)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    # Multiplicative errors (ETS M,N|A|Ad,N): the same state recursion (l_t = f_t + alpha e_t, ...), another
    # likelihood: -2 log L = n log(sum (e_t / f_t)^2 / n) + 2 sum log f_t. It weighs relative errors, which
    # suits positive series whose noise grows with their level. The one-step errors stay affine in the initial
    # state (e = r - u x0, f = y - e), so the initial state is refined by reweighted least squares
    # (weights 1 / f_t^2) from the additive one.
    crit_m = np.full(k, np.inf)
    l0_m, b0_m = l0, b0
    if multiplicative_errors and float(np.min(y)) > 0:
        with np.errstate(all="ignore"):
            for _ in range(2):
                f = y[:, None] - (r - u_l * l0_m - u_b * b0_m)
                w = 1.0 / np.where(f > 0, f, np.inf) ** 2
                w_ll = np.einsum("tk,tk,tk->k", w, u_l, u_l) + ridge * 1e-12
                w_lb = np.einsum("tk,tk,tk->k", w, u_l, u_b)
                w_bb = np.einsum("tk,tk,tk->k", w, u_b, u_b) + ridge * 1e-12
                w_rl = np.einsum("tk,tk,tk->k", w, r, u_l)
                w_rb = np.einsum("tk,tk,tk->k", w, r, u_b)
                det_w = w_ll * w_bb - w_lb * w_lb
                det_w = np.where(np.abs(det_w) < 1e-300, 1e-300, det_w)
                l0_m = np.where(ses, w_rl / np.maximum(w_ll, 1e-300), (w_rl * w_bb - w_rb * w_lb) / det_w)
                b0_m = np.where(ses, 0.0, (w_rb * w_ll - w_rl * w_lb) / det_w)
            e = r - u_l * l0_m - u_b * b0_m
            f = y[:, None] - e
            crit_m = n * np.log(np.maximum(np.sum((e / f) ** 2, axis=0), 1e-300) / n) + 2 * np.sum(
                np.log(np.where(f > 0, f, np.nan)), axis=0
            )
        crit_m = np.where(np.isfinite(crit_m), crit_m, np.inf)
    crit_a = n * np.log(sse / n)
    out: dict[str, EtsFit] = {}
    n_par = {0: 2, 1: 4, 2: 5}
    for kind_id, name in enumerate(ETS_KINDS):
        idx = np.flatnonzero(g.kind == kind_id)
        npar = n_par[kind_id] + 1
        penalty = 2 * npar + (2 * npar * (npar + 1) / (n - npar - 1) if n - npar - 1 > 0 else 1e6)
        for suffix, crit, i0, s0 in (("", crit_a, l0, b0), ("_m", crit_m, l0_m, b0_m)):
            j = idx[int(np.argmin(crit[idx]))]
            if not np.isfinite(crit[j]):
                continue
            level, slope = _final_state(y, a[j], b[j], p[j], i0[j], s0[j])
            out[name + suffix] = EtsFit(
                name, float(a[j]), float(b[j]), float(p[j]), level, slope, float(sse[j]), n, float(crit[j] + penalty)
            )
    return out


def _final_state(y: FloatArray, a: float, b: float, p: float, l0: float, b0: float) -> tuple[float, float]:
    lvl, slp = l0, b0
    for t in range(y.shape[0]):
        f = lvl + p * slp
        e = y[t] - f
        lvl = f + a * e
        slp = p * slp + b * e
    return float(lvl), float(slp)


def theta_forecast(y: FloatArray, ses: EtsFit, h: int) -> FloatArray:
    """Standard Theta method (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah 2003 form).

    SES forecast plus half the slope of the linear trend, with the drift term of the SES-with-drift model.
    """
    n = y.shape[0]
    t = np.arange(n, dtype=float)
    slope = float(np.polyfit(t, y, 1)[0]) if n >= 2 else 0.0
    a = ses.alpha
    steps = np.arange(h, dtype=float)
    return ses.forecast(h) + 0.5 * slope * (steps + (1.0 - (1.0 - a) ** n) / a)


def naive_forecast(y: FloatArray, h: int) -> FloatArray:
    return np.full(h, y[-1])


def drift_forecast(y: FloatArray, h: int) -> FloatArray:
    n = y.shape[0]
    slope = (y[-1] - y[0]) / (n - 1) if n > 1 else 0.0
    return y[-1] + slope * np.arange(1, h + 1)


def seasonal_naive_forecast(y: FloatArray, h: int, m: int) -> FloatArray:
    if m <= 1 or y.shape[0] < m:
        return naive_forecast(y, h)
    last = y[-m:]
    return np.resize(last, h)


def acf(y: FloatArray, nlags: int) -> FloatArray:
    """Sample autocorrelations at lags 1..nlags, shape (nlags,)."""
    x = y - y.mean()
    denom = float(np.dot(x, x))
    if denom <= 0:
        return np.zeros(nlags)
    return np.array([np.dot(x[k:], x[:-k]) / denom for k in range(1, nlags + 1)])


def is_seasonal(y: FloatArray, m: int, z: float = 1.645) -> bool:
    """90% autocorrelation test for seasonality at lag m (the M3 Theta method's test). Needs n >= 3m."""
    n = y.shape[0]
    if m <= 1 or n < 3 * m:
        return False
    r = acf(y, m)
    limit = z * np.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) > limit)


def seasonal_indices(y: FloatArray, m: int, multiplicative: bool) -> FloatArray:
    """Classical decomposition seasonal indices, shape (m,), phase 0 = first observation of ``y``.

    Centred moving average (2xm for even m); indices normalised to mean 1 (multiplicative) or 0 (additive).
    """
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, w, mode="valid")
    off = (len(w) - 1) // 2
    idx = np.arange(off, off + trend.shape[0])
    ratio = y[idx] / trend if multiplicative else y[idx] - trend
    phase = idx % m
    sums = np.bincount(phase, weights=ratio, minlength=m)
    cnt = np.bincount(phase, minlength=m)
    si = np.where(cnt > 0, sums / np.maximum(cnt, 1), 1.0 if multiplicative else 0.0)
    if multiplicative:
        si = si / si.mean()
        si = np.where(si > 1e-6, si, 1e-6)
    else:
        si = si - si.mean()
    return si


def ar_forecast(y: FloatArray, h: int, max_p: int = 3) -> FloatArray:
    """ARIMA(p, d, 0) with a constant, fitted by least squares; p <= max_p and d in {0, 1} chosen by AICc.

    A fast stand-in for automatic ARIMA on (seasonally adjusted) series: for d = 1 the constant is a drift.
    d is 1 when the lag-1 autocorrelation of the levels exceeds 0.9 (a unit-root heuristic) else 0.
    """
    n = y.shape[0]
    r1 = acf(y, 1)[0] if n > 3 else 1.0
    d = 1 if r1 > 0.9 or n < 8 else 0
    x = np.diff(y) if d == 1 else y
    best: tuple[float, FloatArray, int] | None = None
    for p in range(0, max_p + 1):
        m = x.shape[0] - p
        k = p + 1
        if m < k + 3:
            break
        cols = [np.ones(m)] + [x[p - i - 1 : x.shape[0] - i - 1] for i in range(p)]
        a = np.column_stack(cols)
        target = x[p:]
        coef, *_ = np.linalg.lstsq(a, target, rcond=None)
        resid = target - a @ coef
        sse = max(float(np.dot(resid, resid)), 1e-12 * float(np.dot(target, target)) + 1e-300)
        aicc = m * np.log(sse / m) + 2 * (k + 1) + 2 * (k + 1) * (k + 2) / max(m - k - 2, 1)
        if best is None or aicc < best[0]:
            best = (aicc, coef, p)
    if best is None:
        return drift_forecast(y, h) if d == 1 else np.full(h, float(np.mean(y)))
    _, coef, p = best
    hist = list(x[-p:]) if p > 0 else []
    out = np.empty(h)
    for j in range(h):
        val = coef[0] + sum(coef[i + 1] * hist[-i - 1] for i in range(p))
        out[j] = val
        hist.append(val)
    if d == 1:
        return y[-1] + np.cumsum(out)
    return out
