"""Probe and decode meeting recordings with PyAV (FFmpeg), in bounded memory.

:func:`probe` reads only the container header and a few packets, so a refusal (not audio, no audio
stream, unknown codec, too long, truncated) comes before any heavy work. :func:`iter_audio` decodes to
16 kHz mono float32 block by block: memory stays at one block (plus FFmpeg's buffers) whatever the
length of the recording. :func:`read_audio` returns a short excerpt as one array.

Example::

    info = probe("hop-ubnd-tinh.m4a")          # AudioInfo(duration_s=5412.3, codec='aac', ...)
    for block in iter_audio("hop-ubnd-tinh.m4a", start_s=600.0):
        ...                                     # float32 arrays, 16 kHz mono, <= 30 s each
"""

from __future__ import annotations

import logging
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from speech.errors import AudioError

__all__ = ["AudioInfo", "SAMPLE_RATE", "iter_audio", "probe", "read_audio"]

logger = logging.getLogger(__name__)

#: Whisper's input rate, samples per second.
SAMPLE_RATE = 16000
#: Default refusal limit for a recording, seconds (4 hours).
DEFAULT_MAX_DURATION_S = 4 * 3600.0
# Header durations longer than what the file's bytes can hold at the stream's bit rate are lies.
# VBR streams can legitimately vary around their nominal rate, hence a generous factor.
_SIZE_SLACK = 2.5
_MAX_CONSECUTIVE_BAD_PACKETS = 50
_MIN_BYTES = 32


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`probe` learnt about a recording.

    Attributes:
        path: the probed file.
        container: FFmpeg's demuxer name, e.g. ``"mp3"``, ``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"ogg"``.
        codec: the audio codec, e.g. ``"mp3"``, ``"aac"``, ``"opus"``, ``"pcm_s16le"``.
        channels: number of audio channels.
        sample_rate: the stream's sample rate, Hz.
        duration_s: duration, seconds.
        bit_rate: the audio stream's (or container's) bit rate, bits per second, or None if unknown.
        size_bytes: file size, bytes.
        has_video: the container also carries a video stream (phones record mp4).
    """

    path: str
    container: str
    codec: str
    channels: int
    sample_rate: int
    duration_s: float
    bit_rate: int | None
    size_bytes: int
    has_video: bool


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except FileNotFoundError as e:
        raise AudioError(f"Expected an audio file at {path}. Got: no such file.", code="not_found") from e
    except (av.error.InvalidDataError, av.error.EOFError, av.error.DemuxerNotFoundError) as e:
        raise AudioError(
            f"Expected an audio or video recording (mp3, m4a, wav, ogg, mp4, ...). "
            f"Got: a file that FFmpeg cannot read as media ({type(e).__name__}: {e}).",
            code="not_audio",
        ) from e
    except av.error.FFmpegError as e:
        raise AudioError(
            f"Expected an audio or video recording. Got: an unreadable file ({type(e).__name__}: {e}).",
            code="not_audio",
        ) from e


def _stream_duration_s(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def probe(path: str | os.PathLike[str], max_duration_s: float = DEFAULT_MAX_DURATION_S) -> AudioInfo:
    """Check that ``path`` is a usable recording and describe it, without decoding it whole.

    Reads the header, decodes the first packets of the first audio stream and, when the duration
    comes from the header, checks that the file is big enough to hold it and that its tail decodes.

    Args:
        path: the recording.
        max_duration_s: refuse longer recordings, seconds (default 4 hours).

    Returns:
        The recording's :class:`AudioInfo`.

    Raises:
        AudioError: with ``code`` one of ``not_found``, ``empty``, ``not_audio``,
            ``no_audio_stream``, ``unsupported_codec``, ``unknown_duration``, ``too_long``,
            ``truncated``, ``corrupt``.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"Expected an audio file at {p}. Got: no such file.", code="not_found")
    size = p.stat().st_size
    if size < _MIN_BYTES:
        raise AudioError(
            f"Expected an audio recording. Got: {'an empty file' if size == 0 else f'{size} bytes'}.",
            code="empty",
        )
    container = _open(p)
    try:
        audio_streams = list(container.streams.audio)
        has_video = any(s.type == "video" for s in container.streams)
        if not audio_streams:
            kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["none"]
            raise AudioError(
                f"Expected a recording with an audio track. Got: a {container.format.name} file with "
                f"streams of type {', '.join(kinds)} and no audio.",
                code="no_audio_stream",
            )
        stream = audio_streams[0]
        ctx = stream.codec_context
        codec_name = ctx.name if ctx is not None else "none"
        if ctx is None or codec_name in ("none", "") or not _has_decoder(codec_name):
            raise AudioError(
                f"Expected an audio codec that FFmpeg can decode (mp3, aac, opus, vorbis, flac, pcm, ...). "
                f"Got: codec {codec_name!r} in a {container.format.name} file.",
                code="unsupported_codec",
            )
        channels = int(ctx.channels or 0)
        sample_rate = int(ctx.sample_rate or 0)
        bit_rate = int(stream.bit_rate or ctx.bit_rate or container.bit_rate or 0) or None
        duration = _stream_duration_s(container, stream)
        if duration is None and bit_rate:
            duration = size * 8.0 / bit_rate
        if duration is None or not math.isfinite(duration):
            raise AudioError(
                f"Expected a recording whose duration can be read from its header. Got: no duration "
                f"in a {container.format.name}/{codec_name} file.",
                code="unknown_duration",
            )
        if duration > max_duration_s:
            raise AudioError(
                f"Expected a recording of at most {_fmt_duration(max_duration_s)}. Got: {_fmt_duration(duration)}.",
                code="too_long",
            )
        if container.format.name == "wav":
            _check_wav_sizes(p, size)
        if bit_rate and not has_video and duration > 5.0:
            holdable = size * 8.0 / bit_rate
            if duration > _SIZE_SLACK * holdable + 2.0:
                raise AudioError(
                    f"Expected a complete recording. Got: a header announcing {_fmt_duration(duration)} "
                    f"but {size} bytes, enough for about {_fmt_duration(holdable)} at "
                    f"{bit_rate // 1000} kbit/s (truncated file or lying header).",
                    code="truncated",
                )
        first = _decode_some(container, stream, max_frames=8)
        if first == 0:
            raise AudioError(
                f"Expected decodable {codec_name} audio. Got: no audio frame could be decoded.",
                code="corrupt",
            )
        if not sample_rate or not channels:
            raise AudioError(
                f"Expected a sample rate and channel count. Got: {sample_rate} Hz, {channels} channels.",
                code="corrupt",
            )
        if duration > 60.0:
            _check_tail(container, stream, duration)
        return AudioInfo(
            path=str(p),
            container=container.format.name,
            codec=codec_name,
            channels=channels,
            sample_rate=sample_rate,
            duration_s=float(duration),
            bit_rate=bit_rate,
            size_bytes=size,
            has_video=has_video,
        )
    finally:
        container.close()


def _check_wav_sizes(p: Path, size: int) -> None:
    """FFmpeg silently clamps a WAV ``data`` chunk that announces more bytes than the file holds; a
    recording cut short (or a header that lies) is refused rather than half-transcribed unnoticed."""
    with p.open("rb") as f:
        head = f.read(4096)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
        return  # RF64/W64 and friends: FFmpeg's own checks apply
    pos = 12
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        chunk_size = struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if chunk_id == b"data":
            available = size - (pos + 8)
            # 0 and 0xFFFFFFFF mean "unknown, read to the end" (streamed recordings).
            if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > available + 4096:
                raise AudioError(
                    f"Expected a complete WAV file. Got: a header announcing {chunk_size} bytes of audio "
                    f"but a file holding {available} (truncated file or lying header).",
                    code="truncated",
                )
            return
        pos += 8 + chunk_size + (chunk_size & 1)


def _has_decoder(name: str) -> bool:
    try:
        codec = av.codec.Codec(name, "r")
    except (av.error.FFmpegError, ValueError, KeyError):  # PyAV raises UnknownCodecError(ValueError)
        return False
    return codec.type == "audio"


def _decode_some(container: av.container.InputContainer, stream: av.audio.AudioStream, max_frames: int) -> int:
    """Decode up to ``max_frames`` frames from the current position; return how many decoded."""
    n = 0
    try:
        for _ in _frames(container, stream, Path(container.name)):
            n += 1
            if n >= max_frames:
                break
    except AudioError as e:
        logger.debug("Decoding stopped early: %s", e)
    return n


def _check_tail(container: av.container.InputContainer, stream: av.audio.AudioStream, duration: float) -> None:
    """Seek near the announced end and decode a frame there: a header that lies about the length of
    the recording (or a truncated download) has nothing to decode there."""
    target = max(0.0, duration - 20.0)
    try:
        container.seek(int(target * av.time_base), backward=True, any_frame=False)
    except av.error.FFmpegError as e:
        logger.debug("Cannot seek to %.1f s to check the tail: %s", target, e)
        return  # some demuxers cannot seek; decoding will tell
    last_t: float | None = None
    decoded = 0
    try:
        for packet in container.demux(stream):
            try:
                for frame in packet.decode():
                    if frame.samples > 0:
                        decoded += 1
                        if frame.pts is not None and frame.time_base is not None:
                            last_t = float(frame.pts * frame.time_base)
            except av.error.InvalidDataError:
                continue
            if decoded >= 4:
                break
    except av.error.FFmpegError as e:
        logger.debug("Tail decoding stopped: %s", e)
    if decoded == 0 or (last_t is not None and last_t < duration - 60.0 - 0.1 * duration):
        where = "nothing" if decoded == 0 else f"audio only up to {_fmt_duration(last_t or 0.0)}"
        raise AudioError(
            f"Expected audio up to the announced {_fmt_duration(duration)}. Got: {where} near the end "
            f"(truncated file or lying header).",
            code="truncated",
        )


def _fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d} ({seconds:.1f} s)"


def iter_audio(
    path: str | os.PathLike[str],
    *,
    start_s: float = 0.0,
    block_s: float = 30.0,
    sample_rate: int = SAMPLE_RATE,
) -> Iterator[np.ndarray]:
    """Decode ``path`` to mono float32 at ``sample_rate``, one block at a time.

    Memory is bounded by one block whatever the recording's length. Invalid packets are skipped
    (phones' recordings often have a few); many in a row, or nothing decodable at all, is an error.

    Args:
        path: the recording (probe it first).
        start_s: skip everything before this time, seconds (a seek, then sample-exact trimming).
        block_s: length of the yielded blocks, seconds; the last one is shorter.
        sample_rate: output rate, Hz.

    Yields:
        float32 arrays of shape (n_samples,), values in [-1, 1]; consecutive blocks are contiguous.

    Raises:
        AudioError: ``not_found``/``not_audio``/``no_audio_stream`` when opening fails, ``corrupt``
            when decoding fails.
    """
    if block_s <= 0:
        raise ValueError(f"Expected block_s > 0 seconds. Got: {block_s!r}.")
    if start_s < 0:
        raise ValueError(f"Expected start_s >= 0 seconds. Got: {start_s!r}.")
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"Expected an audio file at {p}. Got: no such file.", code="not_found")
    block_len = max(1, int(round(block_s * sample_rate)))
    container = _open(p)
    try:
        if not container.streams.audio:
            raise AudioError(f"Expected an audio track in {p}. Got: none.", code="no_audio_stream")
        stream = container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        if start_s > 0:
            try:
                container.seek(int(start_s * av.time_base), backward=True, any_frame=False)
            except av.error.FFmpegError as e:
                logger.debug("Seek to %.1f s failed (%s); decoding from the start", start_s, e)
        resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        # Position (in output samples) of the next sample; known once the first frame is decoded.
        position: int | None = None
        skip_until = int(round(start_s * sample_rate))
        pending: list[np.ndarray] = []
        pending_len = 0
        produced = 0
        for frame in _grouped(_frames(container, stream, p)):
            if position is None:
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else 0.0
                position = int(round(max(t0, 0.0) * sample_rate))
            frame.pts = None  # the resampler need not check timestamps; we count samples ourselves
            for out in resampler.resample(frame):
                arr = out.to_ndarray().reshape(-1)
                if position < skip_until:
                    drop = min(len(arr), skip_until - position)
                    position += drop
                    arr = arr[drop:]
                if not len(arr):
                    continue
                position += len(arr)
                pending.append(arr)
                pending_len += len(arr)
                while pending_len >= block_len:
                    block, pending, pending_len = _take(pending, block_len)
                    produced += len(block)
                    yield block
        for out in resampler.resample(None):
            arr = out.to_ndarray().reshape(-1)
            if position is not None and position < skip_until:
                drop = min(len(arr), skip_until - position)
                position += drop
                arr = arr[drop:]
            if len(arr):
                pending.append(arr)
                pending_len += len(arr)
        while pending_len > 0:
            block, pending, pending_len = _take(pending, min(block_len, pending_len))
            produced += len(block)
            yield block
        if produced == 0 and start_s == 0:
            raise AudioError(f"Expected decodable audio in {p}. Got: no audio sample.", code="corrupt")
    finally:
        container.close()


def _grouped(frames: Iterator[av.AudioFrame], min_samples: int = 64000) -> Iterator[av.AudioFrame]:
    """Join decoded frames (an mp3 frame is 576-1152 samples) into frames of >= ``min_samples``
    before resampling: one resampler call per frame costs more than the decoding itself. The first
    frame is passed alone so that its timestamp marks where decoding started."""
    fifo: av.AudioFifo | None = None
    first = True
    for frame in frames:
        if first:
            first = False
            yield frame
            continue
        if fifo is None:
            fifo = av.AudioFifo()
        frame.pts = None
        try:
            fifo.write(frame)
        except ValueError:  # the stream changed format or rate mid-way: flush, start a new group
            if fifo.samples and (out := fifo.read()) is not None:
                yield out
            fifo = av.AudioFifo()
            fifo.write(frame)
        if fifo.samples >= min_samples:
            out = fifo.read()
            if out is not None:
                yield out
    if fifo is not None and fifo.samples:
        out = fifo.read()
        if out is not None:
            yield out


def _take(pending: list[np.ndarray], n: int) -> tuple[np.ndarray, list[np.ndarray], int]:
    joined = pending[0] if len(pending) == 1 else np.concatenate(pending)
    block = np.ascontiguousarray(joined[:n], dtype=np.float32)
    rest = joined[n:]
    return block, ([rest] if len(rest) else []), len(rest)


def _frames(container: av.container.InputContainer, stream: av.audio.AudioStream, p: Path) -> Iterator[av.AudioFrame]:
    bad = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad += 1
                if bad > _MAX_CONSECUTIVE_BAD_PACKETS:
                    raise AudioError(
                        f"Expected decodable audio in {p}. Got: more than {_MAX_CONSECUTIVE_BAD_PACKETS} "
                        f"corrupt packets in a row.",
                        code="corrupt",
                    ) from None
                continue
            bad = 0
            for frame in frames:
                if frame.samples > 0:
                    yield frame
    except av.error.FFmpegError as e:
        raise AudioError(f"Expected decodable audio in {p}. Got: {type(e).__name__}: {e}.", code="corrupt") from e


def read_audio(
    path: str | os.PathLike[str],
    *,
    start_s: float = 0.0,
    duration_s: float | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """Decode an excerpt (or, for short files, all) of ``path`` into one array.

    Args:
        path: the recording.
        start_s: excerpt start, seconds.
        duration_s: excerpt length, seconds; None reads to the end (mind the memory: 1 hour is
            230 MB of float32).
        sample_rate: output rate, Hz.

    Returns:
        float32 array of shape (n_samples,), 16 kHz mono by default.
    """
    want = None if duration_s is None else int(round(duration_s * sample_rate))
    parts: list[np.ndarray] = []
    got = 0
    for block in iter_audio(path, start_s=start_s, sample_rate=sample_rate):
        if want is not None and got + len(block) >= want:
            parts.append(block[: want - got])
            got = want
            break
        parts.append(block)
        got += len(block)
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
