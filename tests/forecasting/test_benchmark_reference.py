"""The forecast benchmark's ``--skip-reference`` mode: statsforecast's stored figures, clearly labelled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import forecast_benchmark as fb


def _write_m3(root: Path) -> None:
    rng = np.random.default_rng(0)
    tr, te, meta = [], [], []
    for i, (group, n, h) in enumerate([("Yearly", 20, 6), ("Yearly", 24, 6), ("Other", 40, 8)]):
        uid = f"N{i}"
        y = 100 + 2.0 * np.arange(n + h) + rng.normal(0, 1, n + h)
        tr += [(uid, group, t + 1, y[t]) for t in range(n)]
        te += [(uid, group, t + 1, y[t]) for t in range(n, n + h)]
        meta.append((uid, group))
    d = root / "m3"
    d.mkdir(parents=True)
    pd.DataFrame(tr, columns=["unique_id", "group", "t", "y"]).to_csv(d / "m3_train.csv", index=False)
    pd.DataFrame(te, columns=["unique_id", "group", "t", "y"]).to_csv(d / "m3_test.csv", index=False)
    pd.DataFrame(meta, columns=["unique_id", "group"]).to_csv(d / "m3_meta.csv", index=False)


def _reference(path: Path, smape: float) -> None:
    row = {"smape": smape, "mase": 1.0, "coverage_80": 0.7, "coverage_95": 0.9, "n_series": 2}
    groups = {g: dict(row) for g in ("Yearly", "Other", "ALL")}
    table = {m: groups for m in (fb.OURS, *fb.SF_MODELS, fb.ENSEMBLE)}
    report = {"datasets": {"m3": {"table": table, "wall_s": {"ours": 1.0, "statsforecast": 500.0}}}}
    path.write_text(json.dumps(report))


def test_skip_reference_uses_stored_figures_and_labels_them(tmp_path: Path) -> None:
    _write_m3(tmp_path / "data")
    ref = tmp_path / "full.json"
    _reference(ref, smape=99.0)  # any sane forecast beats a stored sMAPE of 99
    out = tmp_path / "out"
    argv = ["--data-dir", str(tmp_path / "data"), "--datasets", "m3", "--n-jobs", "1"]
    assert fb.main([*argv, "--skip-reference", "--reference", str(ref), "--output-dir", str(out)]) == 0
    assert not (out / "forecast_benchmark.md").exists()  # a full run's files are never replaced
    md = (out / "forecast_benchmark_stored_ref.md").read_text()
    report = json.loads((out / "forecast_benchmark_stored_ref.json").read_text())
    assert "statsforecast was not run" in md and "AutoETS (stored)" in md
    assert report["reference"] == str(ref)
    targets = report["datasets"]["m3"]["targets"]
    assert "PASS M3 Yearly sMAPE" in "\n".join(targets)
    assert any("best stored statsforecast 99.000" in t for t in targets)
    assert any("stored statsforecast 500.0 s" in t for t in targets)

    _reference(ref, smape=0.0)  # nothing beats a perfect stored reference: the comparison really uses it
    fb.main([*argv, "--skip-reference", "--reference", str(ref), "--output-dir", str(out)])
    targets = json.loads((out / "forecast_benchmark_stored_ref.json").read_text())["datasets"]["m3"]["targets"]
    assert any(t.startswith("FAIL M3 Yearly sMAPE") for t in targets)


def test_skip_reference_refuses_a_missing_report_and_limit(tmp_path: Path) -> None:
    _write_m3(tmp_path / "data")
    argv = ["--data-dir", str(tmp_path / "data"), "--datasets", "m3", "--n-jobs", "1"]
    with pytest.raises(SystemExit, match="full run's report"):
        fb.main([*argv, "--skip-reference", "--reference", str(tmp_path / "nope.json"), "--output-dir", str(tmp_path)])
    with pytest.raises(SystemExit):
        fb.main([*argv, "--skip-reference", "--limit", "1"])
