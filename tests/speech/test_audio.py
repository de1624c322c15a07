from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from speech.audio import iter_audio, probe, read_audio
from speech.errors import AudioError
from tests.speech import media
from tests.speech.conftest import TWO_SPEAKERS


@pytest.mark.parametrize(
    ("name", "codec", "rate", "container_codec"),
    [
        ("a.wav", "pcm_s16le", 16000, "pcm_s16le"),
        ("a.mp3", "libmp3lame", 44100, "mp3"),
        ("a.ogg", "libopus", 48000, "opus"),
        ("a.m4a", "aac", 44100, "aac"),
        ("a.flac", "flac", 22050, "flac"),
    ],
)
def test_probe_and_decode_common_formats(
    tmp_path: Path, name: str, codec: str, rate: int, container_codec: str
) -> None:
    path = media.write_audio(tmp_path / name, media.tone(3.0, rate), rate=rate, codec=codec, channels=2)
    info = probe(path)
    assert info.codec.startswith(container_codec)
    assert info.channels == 2 and info.sample_rate == rate and not info.has_video
    assert info.duration_s == pytest.approx(3.0, abs=0.1)
    audio = read_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(48000, abs=1600)  # 16 kHz mono (encoder padding allowed)
    # FFmpeg downmixes identical channels at +3 dB (0.3 -> 0.42), as faster-whisper's decoder does.
    assert 0.2 < float(np.abs(audio[8000:40000]).max()) < 0.45


def test_committed_fixture_probes() -> None:
    info = probe(TWO_SPEAKERS)
    assert info.codec == "opus" and info.duration_s == pytest.approx(18.62, abs=0.05)


def _bad(tmp_path: Path, case: str) -> Path:
    if case == "empty":
        (tmp_path / "empty.mp3").write_bytes(b"")
        return tmp_path / "empty.mp3"
    if case == "text_named_mp3":
        (tmp_path / "bien-ban.mp3").write_text("Biên bản cuộc họp Ủy ban nhân dân tỉnh\n" * 40, encoding="utf-8")
        return tmp_path / "bien-ban.mp3"
    if case == "truncated_mp3":
        full = media.write_audio(tmp_path / "full.mp3", media.tone(90.0), codec="libmp3lame", bit_rate=32000)
        data = full.read_bytes()
        (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 3])
        return tmp_path / "cut.mp3"
    if case == "lying_wav":
        return media.wav_with_lying_header(tmp_path / "lying.wav", real_s=1.0, claimed_s=3600.0)
    if case == "video_no_audio":
        return media.video_without_audio(tmp_path / "clip.mp4")
    if case == "unknown_codec":
        return media.wav_unknown_codec(tmp_path / "codec.wav")
    if case == "five_hours_silence":
        return media.long_silent_mp3(tmp_path / "5h.mp3", hours=5.0, tmp_dir=tmp_path)
    if case == "missing":
        return tmp_path / "nothing.mp3"
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "code", "message"),
    [
        ("empty", "empty", "Got: an empty file"),
        ("text_named_mp3", "not_audio", "cannot read as media"),
        ("truncated_mp3", "truncated", "header announcing 0:01:30"),
        ("lying_wav", "truncated", "header announcing 115200000 bytes"),
        ("video_no_audio", "no_audio_stream", "streams of type video and no audio"),
        ("unknown_codec", "unsupported_codec", "Got: codec 'none'"),
        ("five_hours_silence", "too_long", "at most 4:00:00"),
        ("missing", "not_found", "no such file"),
    ],
)
def test_probe_refuses_bad_input(tmp_path: Path, case: str, code: str, message: str) -> None:
    path = _bad(tmp_path, case)
    with pytest.raises(AudioError, match=message) as err:
        probe(path)
    assert err.value.code == code
    assert isinstance(err.value, ValueError)


def test_limit_is_configurable(tmp_path: Path) -> None:
    path = media.write_audio(tmp_path / "a.wav", media.tone(3.0))
    with pytest.raises(AudioError) as err:
        probe(path, max_duration_s=2.0)
    assert err.value.code == "too_long"
    assert probe(path, max_duration_s=3.5).duration_s == pytest.approx(3.0)


def test_five_hour_file_accepted_with_higher_limit(tmp_path: Path) -> None:
    path = media.long_silent_mp3(tmp_path / "5h.mp3", hours=5.0, tmp_dir=tmp_path)
    info = probe(path, max_duration_s=6 * 3600)
    assert info.duration_s == pytest.approx(5 * 3600, rel=0.01)


def test_iter_audio_blocks_and_exact_start(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    signal = (rng.uniform(-0.5, 0.5, 16000 * 10)).astype(np.float32)
    path = media.write_audio(tmp_path / "noise.wav", signal)
    blocks = list(iter_audio(path, block_s=3.0))
    assert [len(b) for b in blocks] == [48000, 48000, 48000, 16000]
    full = np.concatenate(blocks)
    np.testing.assert_allclose(full, signal, atol=1 / 16000)
    part = read_audio(path, start_s=2.5, duration_s=1.25)
    np.testing.assert_allclose(part, signal[40000:60000], atol=1 / 16000)
    assert len(np.concatenate(list(iter_audio(path, start_s=9.0)))) == 16000


def test_iter_audio_memory_is_one_block(tmp_path: Path) -> None:
    """20 minutes of mp3 decode in 30 s blocks; no block is larger than 30 s."""
    path = media.write_audio(
        tmp_path / "long.mp3", np.zeros(16000 * 60, np.float32), codec="libmp3lame", bit_rate=16000
    )
    data = path.read_bytes()
    (tmp_path / "long20.mp3").write_bytes(data * 20)
    sizes = [len(b) for b in iter_audio(tmp_path / "long20.mp3", start_s=60.0)]
    assert max(sizes) == 30 * 16000
    assert sum(sizes) == pytest.approx(19 * 60 * 16000, rel=0.01)


def test_iter_audio_argument_errors(tmp_path: Path) -> None:
    path = media.write_audio(tmp_path / "a.wav", media.tone(1.0))
    with pytest.raises(ValueError, match="block_s > 0"):
        next(iter_audio(path, block_s=0))
    with pytest.raises(ValueError, match="start_s >= 0"):
        next(iter_audio(path, start_s=-1))
