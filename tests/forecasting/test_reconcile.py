from __future__ import annotations

import numpy as np
import pytest

from forecasting import Series, forecast_series
from forecasting.reconcile import (
    HierarchyError,
    ReconcileOptions,
    base_forecasts,
    error_samples,
    forecast_hierarchy,
    hierarchy_from_components,
    reconcile,
    shrunk_correlation,
)

# the new Lâm Đồng (from 1 July 2025) is the former Lâm Đồng, Đắk Nông and Bình Thuận
TREE = {
    "Cả nước": ["Tây Nguyên", "Đông Nam Bộ"],
    "Tây Nguyên": ["Lâm Đồng (mới)", "Gia Lai"],
    "Lâm Đồng (mới)": ["Lâm Đồng (cũ)", "Đắk Nông (cũ)", "Bình Thuận (cũ)"],
    "Đông Nam Bộ": ["TP.HCM", "Đồng Nai"],
}


def _yearly_histories(n: int = 10, seed: int = 3) -> dict[str, Series]:
    rng = np.random.default_rng(seed)
    h = hierarchy_from_components(TREE)
    vals: dict[str, np.ndarray] = {}
    for i, b in enumerate(h.bottom):
        level = 1000.0 * (i + 1)
        growth = 1.0 + 0.08 + 0.04 * rng.standard_normal(n)
        vals[b] = level * np.cumprod(growth)
    for code in reversed(h.nodes):
        if code in h.components:
            vals[code] = np.sum([vals[c] for c in h.components[code]], axis=0)
    return {c: Series(c, "Y", 2006, v) for c, v in vals.items()}


def test_hierarchy_order_summing_matrix_and_depth() -> None:
    h = hierarchy_from_components(TREE)
    assert h.nodes[:4] == ("Cả nước", "Tây Nguyên", "Đông Nam Bộ", "Lâm Đồng (mới)")
    assert h.bottom == ("Lâm Đồng (cũ)", "Đắk Nông (cũ)", "Bình Thuận (cũ)", "Gia Lai", "TP.HCM", "Đồng Nai")
    assert h.S.shape == (10, 6)
    assert h.S[h.index("Cả nước")].tolist() == [1, 1, 1, 1, 1, 1]
    assert h.S[h.index("Lâm Đồng (mới)")].tolist() == [1, 1, 1, 0, 0, 0]
    assert h.S[h.index("Gia Lai")].tolist() == [0, 0, 0, 1, 0, 0]
    assert h.depth["Bình Thuận (cũ)"] == 3 and h.n_levels == 4
    # NFD input is normalised to NFC
    import unicodedata

    assert h.index(unicodedata.normalize("NFD", "Đắk Nông (cũ)")) == h.index("Đắk Nông (cũ)")


@pytest.mark.parametrize(
    ("components", "codes", "needle"),
    [
        ({"A": ["B"], "B": ["A"]}, None, "cycle"),
        ({"A": ["A"]}, None, "cycle"),
        ({"A": ["B", "C"], "D": ["C", "E"]}, None, "'C' is a component of both 'A' and 'D'"),
        ({"A": []}, None, "no components"),
        ({"A": ["B", "B"]}, None, "more than once"),
        ({"A": ["B", "X"]}, ["A", "B"], "unknown indicator codes ['X']"),
        ({"A": "B"}, None, "must be a list"),
    ],
)
def test_invalid_hierarchies_raise_clear_value_errors(
    components: dict[str, list[str]], codes: list[str] | None, needle: str
) -> None:
    with pytest.raises(ValueError) as info:
        hierarchy_from_components(components, codes)
    assert isinstance(info.value, HierarchyError)
    assert needle in str(info.value)


def test_reconciled_means_are_coherent_at_every_parent() -> None:
    hist = _yearly_histories()
    fc = forecast_hierarchy(TREE, hist, horizon=3)
    h = fc.hierarchy
    assert fc.mean.shape == (10, 3) and fc.periods == ("2016", "2017", "2018")
    for parent, parts in h.components.items():
        whole = fc.mean[h.index(parent)]
        total = np.sum([fc.mean[h.index(p)] for p in parts], axis=0)
        np.testing.assert_allclose(total, whole, rtol=1e-9, atol=0)
    # the base forecasts were not coherent, so reconciliation did change something
    base = np.stack([fc.base[c].mean for c in h.nodes])
    assert np.max(np.abs(h.S @ base[-6:] - base)) > 1e-6 * np.max(np.abs(base))
    assert np.all(fc.upper["95"] > fc.upper["80"]) and np.all(fc.lower["80"] > fc.lower["95"])
    assert np.all(fc.sd > 0)
    frame = fc.to_frame()
    assert list(frame.columns) == ["unique_id", "ds", "mean", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(frame) == 30


def test_target_probabilities_agree_with_the_intervals() -> None:
    fc = forecast_hierarchy(TREE, _yearly_histories(), horizon=2)
    h = fc.hierarchy
    for code in ("Cả nước", "Lâm Đồng (mới)", "Đắk Nông (cũ)"):
        i = h.index(code)
        for j, period in enumerate(fc.periods):
            p = [period]
            assert fc.probability(code, float(fc.upper["80"][i, j]), p) == pytest.approx(0.10, abs=1e-6)
            assert fc.probability(code, float(fc.lower["80"][i, j]), p) == pytest.approx(0.90, abs=1e-6)
            assert fc.probability(code, float(fc.upper["95"][i, j]), p) == pytest.approx(0.025, abs=1e-6)
            assert fc.probability(code, float(fc.mean[i, j]), p) == pytest.approx(0.5, abs=1e-9)
            at_most = fc.probability(code, float(fc.upper["80"][i, j]), p, direction="at_most")
            assert at_most == pytest.approx(0.90, abs=1e-6)
    # a two-year total: its mean is the sum, its spread at least that of one year
    mu, sd = fc.distribution("Cả nước")
    assert mu == pytest.approx(float(fc.mean[0].sum()))
    assert sd > float(fc.sd[0, 1])
    probs = [fc.probability("Cả nước", mu + k * sd, known=0.0) for k in (-2, -1, 0, 1, 2)]
    assert probs == sorted(probs, reverse=True)
    with pytest.raises(ValueError, match="periods must be among"):
        fc.probability("Cả nước", 1.0, ["2030"])


def test_bottom_up_and_ols_give_the_known_projections() -> None:
    rng = np.random.default_rng(0)
    tree = {"T": ["A", "B"]}
    a = 100 + np.cumsum(rng.normal(1, 2, 12))
    b = 50 + np.cumsum(rng.normal(1, 2, 12))
    hist = {"A": Series("A", "Y", 2010, a), "B": Series("B", "Y", 2010, b), "T": Series("T", "Y", 2010, a + b + 5)}
    h = hierarchy_from_components(tree)
    base = base_forecasts(h, hist, 2)
    bu = reconcile(h, hist, base, options=ReconcileOptions(method="bottom_up"))
    np.testing.assert_allclose(bu.mean[h.index("A")], base["A"].mean)
    np.testing.assert_allclose(bu.mean[h.index("T")], base["A"].mean + base["B"].mean)
    ols = reconcile(h, hist, base, options=ReconcileOptions(method="ols"))
    gap = base["T"].mean - base["A"].mean - base["B"].mean
    # OLS: the incoherence is shared equally among the three series
    np.testing.assert_allclose(ols.mean[h.index("A")], base["A"].mean + gap / 3)
    np.testing.assert_allclose(ols.mean[h.index("T")], base["T"].mean - gap / 3)


def test_past_errors_come_from_the_backtest_or_from_extra_origins() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(96)
    a = (100 + t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 3, 96)
    b = (80 + 0.5 * t) * (1 + 0.1 * np.cos(2 * np.pi * t / 12)) + rng.normal(0, 3, 96)
    hist = {c: Series(c, "M", 2015 * 12, v) for c, v in {"A": a, "B": b, "T": a + b}.items()}
    h = hierarchy_from_components({"T": ["A", "B"]})
    base = base_forecasts(h, hist, 6)
    smp = error_samples(h, hist, base)
    assert smp.source == "backtest" and smp.n_windows == 3 and smp.z.shape == (18, 3)
    np.testing.assert_allclose(
        smp.raw[:, 0], np.concatenate([r[: base["T"].mean.shape[0]] for r in base["T"].backtest_errors[:3]])
    )
    # yearly series of 7 values have no two backtest windows: one-step errors from extra origins
    y_hist = _yearly_histories(n=7)
    hy = hierarchy_from_components(TREE)
    y_base = base_forecasts(hy, y_hist, 2)
    y_smp = error_samples(hy, y_hist, y_base, options=ReconcileOptions(rolling_origins=3))
    assert y_smp.source == "rolling" and y_smp.z.shape == (3, 10)
    s = y_hist["Gia Lai"]
    first = forecast_series(Series("x", "Y", 2006, s.values[:6]), 1)
    col = hy.index("Gia Lai")
    assert y_smp.raw[0, col] == pytest.approx(float(first.mean[0]) - float(s.values[6]))


def test_shrinkage_intensity_follows_the_evidence() -> None:
    rng = np.random.default_rng(2)
    common = rng.standard_normal((300, 1))
    correlated = common + 0.1 * rng.standard_normal((300, 6))
    corr, lam = shrunk_correlation(correlated)
    assert lam < 0.05 and np.min(corr) > 0.9
    _, lam_ind = shrunk_correlation(rng.standard_normal((300, 6)))
    assert lam_ind > 0.5
    ident, lam_one = shrunk_correlation(rng.standard_normal((1, 4)))
    assert lam_one == 1.0 and np.array_equal(ident, np.eye(4))


def test_histories_must_cover_every_node_and_end_together() -> None:
    hist = _yearly_histories()
    h = hierarchy_from_components(TREE)
    partial = {k: v for k, v in hist.items() if k != "Gia Lai"}
    with pytest.raises(HierarchyError, match="missing: \\['Gia Lai'\\]"):
        base_forecasts(h, partial, 2)
    # the former provinces stop being reported after the merger: a clear error, not a silent misalignment
    short = dict(hist)
    short["Đắk Nông (cũ)"] = Series("Đắk Nông (cũ)", "Y", 2006, hist["Đắk Nông (cũ)"].values[:-1])
    with pytest.raises(HierarchyError, match="Đắk Nông \\(cũ\\) \\(Y, last 2014\\)"):
        forecast_hierarchy(TREE, short, 2)
    with pytest.raises(ValueError, match="method must be"):
        ReconcileOptions(method="mint")
