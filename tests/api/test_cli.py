"""The `ioc` command line as a user runs it: on a temporary data dir, with the settings in IOC_* variables.

Most tests run the command in this process (``tests.conftest.run_ioc``: typer's CliRunner, the settings'
variables set for the call): the commands are the same, without the seconds each new interpreter spent
importing pandas, MLflow and the models. `ioc_subprocess` runs the real entry point (`python -m api.cli`)
where the process is the point: help on every command (tests/api/test_users.py pipes a password into a new
process too).
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CliRun, make_settings, run_ioc, settings_env

ROOT = Path(__file__).parents[2]


def ioc(tmp_path: Path, *args: str) -> CliRun:
    """``ioc ARGS`` in this process, with the settings ``ioc_subprocess`` gives a new process."""
    return run_ioc(settings_env(make_settings(tmp_path / "var")), *args)


def ioc_subprocess(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m api.cli ARGS`` in a new process, as a user starts it."""
    env = settings_env(make_settings(tmp_path / "var"))
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def write_long(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    """A long-format CSV (``unique_id,ds,y``) as a user would hand to ``ioc``."""
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["unique_id", "ds", "y"])
        w.writerows(rows)
    return path


@pytest.mark.slow
def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = ioc(tmp_path, "keys", "create", "--role", "analyst", "--name", "Phòng Thống kê")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("ioc_") and " " not in key
    listed = ioc(tmp_path, "keys", "list")
    assert "Phòng Thống kê" in listed.stdout and key not in listed.stdout
    prefix = key.split("_")[1]
    assert ioc(tmp_path, "keys", "revoke", prefix).returncode == 0
    bad = ioc(tmp_path, "keys", "create", "--role", "root", "--name", "x")
    assert bad.returncode == 2 and "unknown role 'root'" in bad.stderr
    assert ioc(tmp_path, "keys", "revoke", "nope").returncode == 2


@pytest.mark.slow
def test_forecast_csv_in_csv_out_with_plot(tmp_path: Path) -> None:
    src = write_long(
        tmp_path / "in.csv",
        [
            (uid, f"{2020 + i // 12}-{i % 12 + 1:02d}", level + i + (5 if i % 12 == 0 else 0))
            for uid, level in (("thu_ngan_sach", 100.0), ("xuat_khau", 50.0))
            for i in range(36)
        ],
    )
    out = tmp_path / "out.csv"
    r = ioc(
        tmp_path,
        "forecast",
        str(src),
        "--horizon",
        "6",
        "--level",
        "80",
        "--level",
        "95",
        "--output",
        str(out),
        "--plot",
        "xuat_khau",
        "--jobs",
        "1",
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["unique_id", "ds", "mean", "lower_80", "upper_80", "lower_95", "upper_95"]
    assert len(rows) == 12 and rows[0]["ds"] == "2023-01"
    assert (tmp_path / "out-xuat_khau.png").read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.csv"
    bad.write_text("unique_id,ds,y\na,2020-01,1\na,2020-01,2\n")
    r = ioc(tmp_path, "forecast", str(bad), "--horizon", "3", "--output", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and "row 3" in r.stderr and "appears twice" in r.stderr


@pytest.mark.slow
def test_forecast_reads_the_offices_files(tmp_path: Path) -> None:
    """The files the API accepts: a report workbook (title rows, a notes sheet first, several indicators,
    'Tháng m/yyyy' columns, vi-VN numbers, a missing cell), a one-series CSV, and integer ``ds`` still."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Hướng dẫn"
    wb.active.append(["Số liệu ở trang sau"])
    ws = wb.create_sheet("Biểu 01")
    months = [f"Tháng {i % 12 + 1}/{2020 + i // 12}" for i in range(36)]
    ws.append(["BÁO CÁO KINH TẾ - XÃ HỘI"])
    ws.append(["Đơn vị tính: tỷ đồng"])
    ws.append(["STT", "Chỉ tiêu", *months])
    ws.append(["1", "Thu ngân sách", *[f"{1000 + 10 * i},5".replace("1", "1.", 1) for i in range(36)]])
    ws.append(["2", "Xuất khẩu", *[50.0 + i for i in range(35)], "-"])
    src = tmp_path / "bieu.xlsx"
    wb.save(src)
    out = tmp_path / "out.csv"
    r = ioc(tmp_path, "forecast", str(src), "--horizon", "3", "--output", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(row["unique_id"], row["ds"]) for row in rows] == [
        ("Thu ngân sách", "2023-01"), ("Thu ngân sách", "2023-02"), ("Thu ngân sách", "2023-03"),
        ("Xuất khẩu", "2022-12"), ("Xuất khẩu", "2023-01"), ("Xuất khẩu", "2023-02"),
    ]  # fmt: skip
    assert 1300 < float(rows[0]["mean"]) < 1400  # '1.350,5' read as 1350.5, not 1.35

    one = tmp_path / "quy.csv"
    one.write_text(
        "Kỳ;Giá trị\n"
        + "".join(
            f"Quý {q}/{y};{100 + 4 * (y - 2010) + n}\n"
            for y in range(2010, 2020)
            for n, q in enumerate(("I", "II", "III", "IV"))
        ),
        encoding="utf-8",
    )
    r = ioc(tmp_path, "forecast", str(one), "--horizon", "2", "--output", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert [row["ds"] for row in csv.DictReader(out.open())] == ["2020-Q1", "2020-Q2"]

    index = write_long(tmp_path / "i.csv", [("a", str(i), float(i % 4 + i)) for i in range(1, 25)])
    r = ioc(tmp_path, "forecast", str(index), "--horizon", "2", "--output", str(out), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert [row["ds"] for row in csv.DictReader(out.open())] == ["25", "26"]


@pytest.mark.slow
def test_sentiment_csv(tmp_path: Path) -> None:
    src = tmp_path / "comments.csv"
    rows = ["id,noi_dung", "1,Đường sạt lở mà không ai sửa", "2,Dịch vụ công trực tuyến nhanh gọn tốt quá", "3,"]
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    r = ioc(tmp_path, "sentiment", str(src), "--text-column", "noi_dung", "--output", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["label"] for row in rows[:2]] == ["negative", "positive"]
    assert rows[2]["label"] == "" and "row 4" in r.stderr
    r = ioc(tmp_path, "sentiment", str(src), "--output", str(out))
    assert r.returncode == 2 and "no column 'text'" in r.stderr


@pytest.mark.slow
def test_seasonal_adjust_csv(tmp_path: Path) -> None:
    import math

    from forecasting.tet import tet_regressor

    rows = []
    for i in range(84):
        year, month = 2016 + i // 12, i % 12 + 1
        tet = float(tet_regressor([year], [month], 7, 14)[0])
        season = 1 + 0.1 * math.sin(2 * math.pi * month / 12) + 0.01 * ((i * 7) % 5 - 2)
        rows.append(("xuat_khau", f"{year}-{month:02d}", round(1000 * (1.01**i) * season * math.exp(-0.3 * tet), 2)))
    src = write_long(tmp_path / "in.csv", rows)
    out = tmp_path / "sa.csv"
    r = ioc(tmp_path, "seasonal-adjust", str(src), "--output", str(out))
    assert r.returncode == 0, r.stderr
    found = re.search(r"xuat_khau: Tết coefficient ([-+0-9.]+)", r.stderr)
    assert found is not None and abs(float(found.group(1)) + 0.3) < 0.05, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["unique_id", "ds", "y", "adjusted", "seasonal", "holiday", "trend", "irregular"]
    assert len(rows) == 84
    short = write_long(tmp_path / "short.csv", [("a", f"2020-{m:02d}", m) for m in range(1, 13)])
    r = ioc(tmp_path, "seasonal-adjust", str(short), "--output", str(tmp_path / "x.csv"))
    assert r.returncode == 2 and "36 to 780" in r.stderr
    garbage = write_long(tmp_path / "garbage.csv", [("a", "2020-13", "x")])
    r = ioc(tmp_path, "seasonal-adjust", str(garbage), "--output", str(tmp_path / "y.csv"))
    assert r.returncode == 2 and "line 2" in r.stderr and not (tmp_path / "y.csv").exists()


def test_h_is_help_everywhere_and_the_horizon_is_capital_h(tmp_path: Path) -> None:
    for args in (["-h"], ["forecast", "-h"], ["models", "list", "-h"], ["demo", "load", "-h"], ["users", "-h"]):
        r = ioc_subprocess(tmp_path, *args)
        assert r.returncode == 0 and "Usage" in r.stdout, (args, r.stdout, r.stderr)
    r = ioc_subprocess(tmp_path, "forecast", "-h")
    assert "--horizon" in r.stdout and "-H" in r.stdout


@pytest.mark.slow
def test_train_refuses_an_unknown_option_naming_the_known_ones_and_queues_nothing(tmp_path: Path) -> None:
    r = ioc(tmp_path, "train", "forecasting", "-p", "foo=bar")
    assert r.returncode == 2
    err = " ".join(r.stderr.split())
    assert "unknown forecasting training option 'foo'" in err and "combination" in err and "methods" in err
    r = ioc(tmp_path, "train", "sentiment", "-p", "centre_weight=3")
    assert r.returncode == 2 and "center_weight" in r.stderr and "use_public" in r.stderr
    from api.services import Services
    from api.storage.tables import Job
    from api.task_registry import TaskRegistry

    services = Services.start(make_settings(tmp_path / "var"), TaskRegistry())
    with services.db.session() as s:
        assert s.query(Job).count() == 0
    services.close()


@pytest.mark.slow
def test_demo_load_is_explicit_idempotent_and_says_what_it_did(tmp_path: Path) -> None:
    first = ioc(tmp_path, "demo", "load")
    assert first.returncode == 0, first.stderr
    out = " ".join(first.stderr.split())
    assert "20 indicators created" in out and "the package" in out
    again = ioc(tmp_path, "demo", "load")
    assert again.returncode == 0 and "already loaded, nothing changed" in " ".join(again.stderr.split())
    # a newer copy with one revised value and one new month: only those are stored
    from forecasting.demo import shipped_data_dir

    newer = tmp_path / "newer"
    newer.mkdir()
    lines = (shipped_data_dir() / "vn_headline_monthly.csv").read_text("utf-8").splitlines()
    last = [ln for ln in lines if ln.startswith("exports_total_musd,")][-1]
    _, month, value = last.split(",")
    y, m = int(month[:4]), int(month[5:])
    nxt = f"{y + m // 12:04d}-{m % 12 + 1:02d}"
    lines = [ln if ln != last else f"exports_total_musd,{month},{float(value) + 1}" for ln in lines]
    lines.append(f"exports_total_musd,{nxt},{value}")
    (newer / "vn_headline_monthly.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = ioc(tmp_path, "demo", "load", "--path", str(newer))
    out = " ".join(r.stderr.split())
    assert r.returncode == 0 and "0 indicators created, 1 observations added, 1 revised" in out, out
    assert "skipped international arrivals" in out
    bad = ioc(tmp_path, "demo", "load", "--path", str(tmp_path / "nope"))
    assert bad.returncode == 2 and "does not exist" in " ".join(bad.stderr.replace("│", " ").split())


@pytest.mark.slow
def test_a_demo_path_set_on_an_existing_data_dir_is_not_silently_ignored(tmp_path: Path) -> None:
    assert ioc(tmp_path, "demo", "load").returncode == 0
    env = settings_env(make_settings(tmp_path / "var")) | {"IOC_FORECASTING__DEMO_DATA_DIR": str(tmp_path)}
    r = run_ioc(env, "startup")
    out = " ".join(r.stderr.split())
    assert r.returncode == 0 and "nothing to do" not in out
    assert "ioc demo load --path" in out, out


@pytest.mark.slow
def test_models_list_stars_the_champion_and_shows_metrics_not_parameters(tmp_path: Path) -> None:
    from models.registry import forecasting_data_tags
    from tests.conftest import start_services

    services = start_services(make_settings(tmp_path / "var"))
    cfg = tmp_path / "config.json"
    cfg.write_text("{}", encoding="utf-8")
    metrics = {"mase": 0.9, "smape": 11.0, "coverage_80": 0.8, "coverage_95": 0.94, "n_indicators": 2.0}
    metrics |= {"Y_mase": 0.7, "M_mase": 1.1, "n_series": 2.0}
    v1 = services.registry.log_version(
        "forecasting",
        artifacts={"config": cfg},
        params={"combination": "median"},
        metrics=metrics,
        data_fingerprint="a" * 64,
        tags=forecasting_data_tags(["a", "b"]),
    )
    v2 = services.registry.log_version(
        "forecasting",
        artifacts={"config": cfg},
        metrics=metrics | {"n_indicators": 4.0},
        data_fingerprint="b" * 64,
    )
    services.registry.set_champion("forecasting", v1)
    services.close()
    r = ioc(tmp_path, "models", "list")
    assert r.returncode == 0, r.stderr
    rows = {ln.split("│")[2].strip(): ln for ln in r.stdout.splitlines() if ln.startswith("│ forecasting")}
    assert set(rows) == {f"{v1}*", v2}, r.stdout
    assert "champion" in rows[f"{v1}*"] and "champion" not in rows[v2].split("│")[3]
    assert "mase=0.9, smape=11, coverage_80=0.8, coverage_95=0.94" in rows[v2]
    assert "Y_mase" not in r.stdout and "n_series" not in r.stdout
    assert "2 indicators" in rows[f"{v1}*"] and "same as champion" in rows[f"{v1}*"]
    assert "4 indicators" in rows[v2] and "NOT the champion's data" in rows[v2]


@pytest.mark.slow
def test_output_into_a_missing_folder_is_created_and_said(tmp_path: Path) -> None:
    src = tmp_path / "comments.csv"
    src.write_text("text\nDịch vụ công trực tuyến nhanh gọn tốt quá\n", encoding="utf-8")
    out = tmp_path / "new" / "folder" / "scored.csv"
    r = ioc(tmp_path, "sentiment", str(src), "--output", str(out))
    assert r.returncode == 0, r.stderr
    # the console folds a path longer than its 80 columns (xdist's temporary paths are): compare without the
    # layout's white space
    assert out.is_file() and f"createdfolder{out.parent}" in "".join(r.stderr.split()), r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = ioc(tmp_path, "sentiment", str(src), "--output", str(blocker / "scored.csv"))
    assert r.returncode == 2 and "is not a folder" in " ".join(r.stderr.split())
