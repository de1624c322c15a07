"""Builders of small test recordings (good and bad) with PyAV and espeak-ng; used by the fixtures."""

from __future__ import annotations

import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ESPEAK = shutil.which("espeak-ng")


def tone(duration_s: float, rate: int = 16000, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(duration_s * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_audio(
    path: Path,
    samples: np.ndarray,
    rate: int = 16000,
    codec: str = "pcm_s16le",
    bit_rate: int | None = None,
    container_options: dict[str, str] | None = None,
    channels: int = 1,
) -> Path:
    """Encode mono float32 ``samples`` with PyAV (codec e.g. pcm_s16le, libmp3lame, libopus, aac)."""
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        # PyAV converts sample format and frame size for the encoder; feed it interleaved s16.
        frame_size = 1024
        data = samples if channels == 1 else np.stack([samples, samples])
        pcm = (np.clip(data, -1, 1) * 32767).astype(np.int16)
        pts = 0
        for i in range(0, len(samples), frame_size):
            chunk = pcm[..., i : i + frame_size]
            n = chunk.shape[-1]
            arr = chunk.reshape(1, -1) if channels == 1 else chunk.T.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def video_without_audio(path: Path, seconds: int = 2) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * 10):
            img = np.full((48, 64, 3), (i * 10) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def wav_with_lying_header(path: Path, real_s: float = 1.0, claimed_s: float = 3600.0, rate: int = 16000) -> Path:
    """A PCM WAV whose RIFF/data sizes announce ``claimed_s`` seconds but that holds ``real_s``."""
    pcm = (tone(real_s, rate) * 32767).astype("<i2").tobytes()
    claimed = int(claimed_s * rate * 2)
    header = b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", claimed)
    path.write_bytes(header + pcm)
    return path


def wav_unknown_codec(path: Path, rate: int = 16000) -> Path:
    """A WAV whose format tag (0x3039) names no codec FFmpeg knows."""
    payload = bytes(range(256)) * 64
    header = b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 0x3039, 1, rate, rate * 2, 2, 16)
    header += b"data" + struct.pack("<I", len(payload))
    path.write_bytes(header + payload)
    return path


def long_silent_mp3(path: Path, hours: float, tmp_dir: Path) -> Path:
    """A long silent mp3 made quickly: 60 s of encoded silence (no Xing header) repeated byte-wise.

    MPEG audio frames are self-delimiting, so FFmpeg estimates the duration from size and bit rate.
    """
    piece = write_audio(
        tmp_dir / "silence60.mp3",
        np.zeros(60 * 8000, dtype=np.float32),
        rate=8000,
        codec="libmp3lame",
        bit_rate=8000,
        container_options={"write_xing": "0", "id3v2_version": "0", "write_id3v1": "0"},
    ).read_bytes()
    repeats = int(round(hours * 60))
    with path.open("wb") as f:
        for _ in range(repeats):
            f.write(piece)
    return path


def speak(path: Path, text: str, voice: str = "vi", speed: int = 150, pitch: int = 50) -> Path:
    """Vietnamese speech from espeak-ng (WAV, 22.05 kHz mono)."""
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run(
        [ESPEAK, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    return path


SPEAKER_A = (
    "vi",
    35,
    145,
    "Kính thưa các đồng chí, hôm nay chúng ta họp về tình hình kinh tế xã hội của tỉnh Lâm Đồng.",
)
SPEAKER_B = (
    "vi-vn-x-south+f3",
    75,
    160,
    "Dạ, thành phố Đà Lạt đón hơn bốn triệu lượt khách du lịch trong sáu tháng đầu năm.",
)


def make_two_speaker_fixture(out: Path, tmp_dir: Path) -> Path:
    """Rebuild tests/speech/data/hop_vi_2speakers.ogg: A, 0.8 s pause, B, 0.8 s pause, A (Opus 24 kbit/s)."""
    from speech.audio import read_audio

    parts = []
    for i, (voice, pitch, speed, text) in enumerate((SPEAKER_A, SPEAKER_B, SPEAKER_A)):
        wav = speak(tmp_dir / f"part{i}.wav", text, voice=voice, speed=speed, pitch=pitch)
        parts.append(read_audio(wav))
        if i < 2:
            parts.append(np.zeros(int(0.8 * 16000), dtype=np.float32))
    return write_audio(out, np.concatenate(parts), rate=16000, codec="libopus", bit_rate=24000)


# The first four lines of a meeting on which the service's transcript lost "Tuy nhiên, tiến độ giải ngân..."
# (speech from 23.5 to 30.1 s): Whisper base ended its first 30 s chunk at 22 s.
BUDGET_MEETING = (
    (
        "vi+m3",
        40,
        150,
        "Kính thưa các đồng chí, hôm nay Ủy ban nhân dân tỉnh họp phiên thường kỳ tháng sáu để đánh giá "
        "tình hình kinh tế xã hội.",
    ),
    (
        "vi-vn-x-south+f3",
        70,
        160,
        "Dạ, kính thưa đồng chí Chủ tịch. Sáu tháng đầu năm, tổng sản phẩm trên địa bàn "
        "tỉnh ước tăng sáu phẩy tám phần trăm so với cùng kỳ năm trước.",
    ),
    (
        "vi-vn-x-south+f3",
        70,
        160,
        "Thu ngân sách đạt sáu nghìn tám trăm tỷ đồng, bằng năm mươi hai phần trăm dự toán năm.",
    ),
    (
        "vi-vn-x-south+f3",
        70,
        160,
        "Tuy nhiên, tiến độ giải ngân vốn đầu tư công còn chậm, mới đạt ba mươi mốt phần trăm kế hoạch vốn được giao.",
    ),
)


def make_meeting(
    out: Path, tmp_dir: Path, lines: tuple[tuple[str, int, int, str], ...] = BUDGET_MEETING
) -> tuple[Path, list[tuple[float, float, str]]]:
    """Render ``lines`` (voice, pitch, speed, text) as experiments/speech_benchmark.py does (peak 0.5, 0.5 s
    between lines of one voice, 1.3 s between voices, mp3 at 32 kbit/s); returns the file and each line's
    (start_s, end_s, text)."""
    from speech.audio import read_audio

    parts: list[np.ndarray] = []
    spans: list[tuple[float, float, str]] = []
    t, previous = 0.0, None
    for i, (voice, pitch, speed, text) in enumerate(lines):
        audio = read_audio(speak(tmp_dir / f"line{i}.wav", text, voice=voice, speed=speed, pitch=pitch))
        if previous is not None:
            pause = 0.5 if previous == voice else 1.3
            parts.append(np.zeros(int(pause * 16000), np.float32))
            t += pause
        parts.append(0.5 * audio / max(1e-3, float(np.abs(audio).max())))
        spans.append((t, t + len(audio) / 16000, text))
        t += len(audio) / 16000
        previous = voice
    return write_audio(out, np.concatenate(parts), codec="libmp3lame", bit_rate=32000), spans
