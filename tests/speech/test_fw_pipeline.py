"""The coupling to faster-whisper's private methods: what it relies on exists in the installed version, and
pyproject.toml pins the range it was tested with."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

from speech.fw_pipeline import SUPPORTED_VERSIONS, check_private_api, version

ROOT = Path(__file__).resolve().parents[2]


def test_private_api_matches_the_installed_faster_whisper() -> None:
    assert check_private_api() == []


def test_installed_version_is_in_the_pinned_range() -> None:
    speech_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["speech"]
    pins = [d for d in speech_extra if d.startswith("faster-whisper")]
    assert pins == [f"faster-whisper{SUPPORTED_VERSIONS}"]
    assert version() in SpecifierSet(SUPPORTED_VERSIONS)


def test_check_names_what_changed() -> None:
    from faster_whisper import BatchedInferencePipeline

    from speech import fw_pipeline

    saved = fw_pipeline.PRIVATE_API[BatchedInferencePipeline]["forward"]
    fw_pipeline.PRIVATE_API[BatchedInferencePipeline]["forward"] = ("features", "options")
    try:
        assert check_private_api() == [
            "BatchedInferencePipeline.forward('features', 'tokenizer', 'chunks_metadata', 'options') "
            "instead of ('features', 'options')"
        ]
    finally:
        fw_pipeline.PRIVATE_API[BatchedInferencePipeline]["forward"] = saved
