"""Vietnamese speech-to-text with faster-whisper, window by window, resumable, loop-safe.

The recording is decoded block by block (:func:`speech.audio.iter_audio`) into windows of
``window_s`` seconds (10 minutes by default) cut at the quietest moment near the window's end; each
window goes through faster-whisper's ``BatchedInferencePipeline`` (Silero VAD, chunks of <= 30 s
decoded in batches). Memory is bounded by one window whatever the recording's length, the segments
are yielded as they are produced (with times from the start of the recording), and a crashed job
restarts with ``start_s`` = the end of its last stored segment.

Repetition loops ("tình tình tình ...") are handled in two steps: a segment whose text loops (see
:mod:`speech.repetition`) or compresses too well is decoded again alone, with temperature fallback
and an n-gram block; what still loops is collapsed to one copy and flagged.

Example::

    t = Transcriber("var/models/whisper-base", options=TranscribeOptions(vocabulary=("Đà Lạt", "Bảo Lộc")))
    for seg in t.transcribe("hop.m4a", progress=lambda f: print(f"{f:.0%}")):
        print(seg.start, seg.end, seg.text)
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from speech.audio import DEFAULT_MAX_DURATION_S, SAMPLE_RATE, iter_audio, probe
from speech.errors import ModelError
from speech.repetition import collapse_loops, has_loop, loop_word_spans
from speech.transcript import Segment, Word

__all__ = ["ProgressCallback", "TranscribeOptions", "Transcriber"]

logger = logging.getLogger(__name__)

#: Called with the fraction (0..1) of the recording's duration transcribed so far.
ProgressCallback = Callable[[float], None]

_BLOCK_S = 30.0
_CUT_SEARCH_S = 30.0  # look for the quietest moment in the last 30 s of a window
_CUT_FRAME_S = 0.05
_CUT_SMOOTH_S = 0.5


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe. The defaults are the service's: Vietnamese, beam 5, VAD, word timestamps.

    Attributes:
        language: ISO 639-1 code (``"vi"``), or None to detect it on the first 30 s.
        beam_size: beam width of the decoder.
        batch_size: chunks (<= 30 s each) decoded together.
        vocabulary: names and terms to favour, e.g. ``("Đà Lạt", "Bảo Lộc", "Đơn Dương")``.
        vocabulary_mode: ``"hotwords"`` (faster-whisper's hint prompt, no effect on timing) or
            ``"prompt"`` (prepended to ``initial_prompt``).
        initial_prompt: text given to the decoder before each chunk, e.g. the meeting's topic.
        vad_filter: skip non-speech with Silero VAD.
        vad_threshold: Silero speech probability threshold, 0..1.
        vad_min_silence_ms: silence that separates two speech regions, milliseconds.
        word_timestamps: compute word timings (needed for speaker turns inside a chunk).
        without_timestamps: decode without timestamp tokens (one segment per VAD chunk). Off by
            default: with it on (faster-whisper's batched default), Whisper base often stops after
            the first sentence of a 30 s chunk and drops the rest (measured on our test audio).
        temperature: sampling temperature of the first pass (0 = greedy/beam search).
        compression_ratio_threshold: a segment whose gzip ratio is above this is decoded again.
        log_prob_threshold: in the re-decoding, a result below this mean log-probability falls back
            to the next temperature.
        no_speech_threshold: in the re-decoding, silence detection threshold.
        no_repeat_ngram_size: forbid repeating n-grams of this size in the first pass (0 = off; on
            Vietnamese, whose syllables repeat naturally, 3+ is safe, 1-2 is not).
        repetition_penalty: penalty (> 1) on already generated tokens in the first pass.
        condition_on_previous_text: feed the previous chunk's text as prompt (off: prevents loops
            from propagating; the batched pipeline ignores it anyway).
        repair_loops: detect repetition loops and repair them (collapse to one copy, flagged).
        redecode_loops: before collapsing, decode a looping segment again (recovers the words the
            loop swallowed; costs one more decoding of that segment: +50% CPU on espeak-ng audio
            where base loops in a third of the chunks, little on real speech). False: collapse only.
        redecode_temperatures: temperature fallback of the re-decoding.
        redecode_no_repeat_ngram_size: n-gram block of the re-decoding, in tokens (a Vietnamese
            syllable is 1-3 tokens, so 10 tokens is about 4 syllables: short enough to stop a loop,
            long enough to allow "Ủy ban nhân dân" twice in a chunk).
        window_s: audio decoded and transcribed at once, seconds (memory: 64 kB per second).
        max_duration_s: refuse longer recordings, seconds.
    """

    language: str | None = "vi"
    beam_size: int = 5
    batch_size: int = 8
    vocabulary: tuple[str, ...] = ()
    vocabulary_mode: Literal["hotwords", "prompt"] = "hotwords"
    initial_prompt: str | None = None
    vad_filter: bool = True
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 160
    word_timestamps: bool = True
    without_timestamps: bool = False
    temperature: float = 0.0
    compression_ratio_threshold: float | None = 2.4
    log_prob_threshold: float | None = -1.0
    no_speech_threshold: float | None = 0.6
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    condition_on_previous_text: bool = False
    repair_loops: bool = True
    redecode_loops: bool = True
    redecode_temperatures: tuple[float, ...] = (0.0, 0.3, 0.6)
    redecode_no_repeat_ngram_size: int = 10
    window_s: float = 600.0
    max_duration_s: float = DEFAULT_MAX_DURATION_S

    def __post_init__(self) -> None:
        if self.beam_size < 1 or self.batch_size < 1:
            raise ValueError(
                f"Expected beam_size >= 1 and batch_size >= 1. Got: {self.beam_size}, {self.batch_size}."
            )
        if self.vocabulary_mode not in ("hotwords", "prompt"):
            raise ValueError(
                f"Expected vocabulary_mode 'hotwords' or 'prompt'. Got: {self.vocabulary_mode!r}."
            )
        if self.window_s < 2 * _CUT_SEARCH_S:
            raise ValueError(f"Expected window_s >= {2 * _CUT_SEARCH_S} seconds. Got: {self.window_s!r}.")
        if isinstance(self.vocabulary, str):
            raise ValueError(f"Expected vocabulary as a tuple of terms. Got: the string {self.vocabulary!r}.")
        object.__setattr__(
            self,
            "vocabulary",
            tuple(unicodedata.normalize("NFC", v).strip() for v in self.vocabulary if v and v.strip()),
        )

    def hotwords(self) -> str | None:
        """The hotwords string given to faster-whisper, or None."""
        if self.vocabulary and self.vocabulary_mode == "hotwords":
            return ", ".join(self.vocabulary)
        return None

    def prompt(self) -> str | None:
        """The initial prompt given to faster-whisper, or None."""
        parts = []
        if self.vocabulary and self.vocabulary_mode == "prompt":
            parts.append(", ".join(self.vocabulary) + ".")
        if self.initial_prompt:
            parts.append(unicodedata.normalize("NFC", self.initial_prompt).strip())
        return " ".join(parts) or None

    def batched_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``BatchedInferencePipeline.transcribe`` (the first pass).

        The benchmark gives the same ones to raw faster-whisper, so both decode alike.
        """
        kwargs: dict[str, Any] = {
            "language": self.language,
            "beam_size": self.beam_size,
            "batch_size": self.batch_size,
            "temperature": self.temperature,
            "compression_ratio_threshold": self.compression_ratio_threshold,
            "log_prob_threshold": self.log_prob_threshold,
            "no_speech_threshold": self.no_speech_threshold,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "repetition_penalty": self.repetition_penalty,
            "condition_on_previous_text": self.condition_on_previous_text,
            "word_timestamps": self.word_timestamps,
            "without_timestamps": self.without_timestamps,
            "vad_filter": self.vad_filter,
            "vad_parameters": {
                "threshold": self.vad_threshold,
                "min_silence_duration_ms": self.vad_min_silence_ms,
            },
            "hotwords": self.hotwords(),
            "initial_prompt": self.prompt(),
        }
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the options (for logging as run parameters)."""
        return asdict(self)


def _resolve_device(device: str) -> str:
    if device not in ("cpu", "cuda", "auto"):
        raise ValueError(f"Expected device 'cpu', 'cuda' or 'auto'. Got: {device!r}.")
    if device == "auto":
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    return device


class Transcriber:
    """faster-whisper ``WhisperModel`` + ``BatchedInferencePipeline`` behind a resumable generator.

    Args:
        model_dir: a CTranslate2 Whisper directory (``model.bin``, ``config.json``,
            ``tokenizer.json``/``vocabulary.*``), e.g. from :func:`speech.ensure_default_model`.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        compute_type: CTranslate2 compute type; None gives ``int8`` on CPU and ``float16`` on CUDA.
        cpu_threads: CPU threads per decoding (0 = CTranslate2's default).
        options: default :class:`TranscribeOptions`.

    The model is loaded on first use (or by :meth:`load`), never at construction or import.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        device: str = "cpu",
        compute_type: str | None = None,
        cpu_threads: int = 0,
        options: TranscribeOptions | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.options = options or TranscribeOptions()
        self._model: Any = None
        self._pipeline: Any = None

    def load(self) -> Transcriber:
        """Load the model now (idempotent). Raises :class:`ModelError` if it cannot be loaded."""
        if self._model is not None:
            return self
        if not (self.model_dir / "model.bin").is_file():
            raise ModelError(
                f"Expected a CTranslate2 Whisper directory with model.bin at {self.model_dir}. Got: "
                f"{'no such directory' if not self.model_dir.is_dir() else 'no model.bin'}.",
                code="missing_weights",
            )
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        device = _resolve_device(self.device)
        compute_type = self.compute_type or ("int8" if device == "cpu" else "float16")
        try:
            self._model = WhisperModel(
                str(self.model_dir), device=device, compute_type=compute_type, cpu_threads=self.cpu_threads
            )
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(
                f"Expected a loadable CTranslate2 Whisper model at {self.model_dir} "
                f"({device}, {compute_type}). Got: {type(e).__name__}: {e}",
                code="bad_model",
            ) from e
        self._pipeline = BatchedInferencePipeline(self._model)
        logger.info("Loaded Whisper model %s on %s (%s)", self.model_dir, device, compute_type)
        return self

    @property
    def model(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel``."""
        return self.load()._model

    def transcribe(
        self,
        path: str | os.PathLike[str],
        *,
        start_s: float = 0.0,
        progress: ProgressCallback | None = None,
        options: TranscribeOptions | None = None,
    ) -> Iterator[Segment]:
        """Transcribe ``path`` from ``start_s``, yielding segments as they are produced.

        Args:
            path: the recording (any format PyAV reads); it is probed first, so a bad file fails
                before the model is touched.
            start_s: resume point, seconds (the end of the last segment a crashed job stored).
            progress: called with the fraction of the recording done, 0..1, at least once per
                window and once per segment; the last call is 1.0.
            options: overrides the transcriber's default options.

        Yields:
            :class:`Segment` in time order, times in seconds from the start of the recording.

        Raises:
            AudioError: the file is not usable audio (from :func:`speech.audio.probe` or decoding).
            ModelError: the model cannot be loaded.
        """
        opts = options or self.options
        info = probe(path, max_duration_s=opts.max_duration_s)
        self.load()
        duration = max(info.duration_s, 1e-6)
        report = _Progress(progress, duration)
        report(start_s)
        window_len = int(opts.window_s * SAMPLE_RATE)
        buf: list[np.ndarray] = []
        buffered = 0
        window_start = start_s
        last_texts: list[str] = []
        for block in iter_audio(path, start_s=start_s, block_s=_BLOCK_S):
            buf.append(block)
            buffered += len(block)
            if buffered < window_len + int(_CUT_SEARCH_S * SAMPLE_RATE):
                continue
            audio = np.concatenate(buf)
            cut = _quiet_cut(audio, window_len)
            yield from self._window(audio[:cut], window_start, opts, report, last_texts)
            window_start += cut / SAMPLE_RATE
            report(window_start)
            rest = audio[cut:].copy()
            del audio
            buf, buffered = [rest], len(rest)
        if buffered:
            audio = np.concatenate(buf)
            buf = []
            yield from self._window(audio, window_start, opts, report, last_texts)
        report(duration, final=True)

    def _window(
        self,
        audio: np.ndarray,
        offset: float,
        opts: TranscribeOptions,
        report: _Progress,
        last_texts: list[str],
    ) -> Iterator[Segment]:
        if len(audio) < SAMPLE_RATE // 10:
            return
        segments, _info = self._pipeline.transcribe(audio, **opts.batched_kwargs())
        for fw_seg in segments:
            seg = _convert(fw_seg, offset)
            if opts.repair_loops:
                seg = self._repair(seg, audio, offset, opts)
            if not seg.text:
                continue
            if _is_repeated(seg.text, last_texts):
                logger.info(
                    "Dropped a segment repeating the previous ones at %.1f s: %r", seg.start, seg.text[:80]
                )
                continue
            report(seg.end)
            yield seg

    def _repair(self, seg: Segment, audio: np.ndarray, offset: float, opts: TranscribeOptions) -> Segment:
        looping = has_loop(seg.text)
        too_compressible = (
            opts.compression_ratio_threshold is not None
            and seg.compression_ratio > opts.compression_ratio_threshold
            and len(seg.text.split()) >= 8
        )
        if not (looping or too_compressible):
            return seg
        logger.info(
            "Repetition suspected at %.1f-%.1f s (loop=%s, compression=%.2f): decoding again",
            seg.start,
            seg.end,
            looping,
            seg.compression_ratio,
        )
        a = max(0, int((seg.start - offset - 0.2) * SAMPLE_RATE))
        b = min(len(audio), int((seg.end - offset + 0.2) * SAMPLE_RATE))
        candidate: Segment | None = None
        if opts.redecode_loops and b - a > SAMPLE_RATE // 10:
            candidate = self._redecode(audio[a:b], offset + a / SAMPLE_RATE, seg, opts)
        if candidate is not None and not has_loop(candidate.text) and candidate.text:
            return candidate
        base = candidate if candidate is not None and candidate.text else seg
        return _collapse(base)

    def _redecode(
        self, clip: np.ndarray, clip_offset: float, seg: Segment, opts: TranscribeOptions
    ) -> Segment | None:
        try:
            parts, _ = self._model.transcribe(
                clip,
                language=opts.language,
                beam_size=opts.beam_size,
                temperature=list(opts.redecode_temperatures),
                best_of=2,
                # A loop runs to the token limit; real speech needs ~12 tokens per second at most.
                max_new_tokens=min(380, 16 + int(12 * len(clip) / SAMPLE_RATE)),
                compression_ratio_threshold=opts.compression_ratio_threshold,
                log_prob_threshold=opts.log_prob_threshold,
                no_speech_threshold=opts.no_speech_threshold,
                no_repeat_ngram_size=opts.redecode_no_repeat_ngram_size,
                condition_on_previous_text=False,
                word_timestamps=opts.word_timestamps,
                vad_filter=False,
                hotwords=opts.hotwords(),
                initial_prompt=opts.prompt(),
            )
            converted = [_convert(p, clip_offset) for p in parts]
        except (RuntimeError, ValueError) as e:
            logger.warning("Re-decoding %.1f-%.1f s failed: %s", seg.start, seg.end, e)
            return None
        converted = [c for c in converted if c.text]
        if not converted:
            return None
        return replace(
            seg,
            text=" ".join(c.text for c in converted),
            words=tuple(w for c in converted for w in c.words),
            avg_logprob=float(np.mean([c.avg_logprob for c in converted])),
            compression_ratio=max(c.compression_ratio for c in converted),
            flags=(*seg.flags, "repetition_redecoded"),
        )


class _Progress:
    """Monotonic progress reports as a fraction of the duration."""

    def __init__(self, callback: ProgressCallback | None, duration: float) -> None:
        self.callback = callback
        self.duration = duration
        self.last = -1.0

    def __call__(self, t: float, final: bool = False) -> None:
        if self.callback is None:
            return
        frac = 1.0 if final else min(max(t / self.duration, 0.0), 0.999)
        if frac > self.last or final:
            self.last = frac
            self.callback(frac)


def _convert(fw_seg: Any, offset: float) -> Segment:
    words = tuple(
        Word(
            start=round(float(w.start) + offset, 3),
            end=round(float(w.end) + offset, 3),
            text=unicodedata.normalize("NFC", w.word),
            probability=float(w.probability),
        )
        for w in (fw_seg.words or ())
    )
    return Segment(
        start=round(float(fw_seg.start) + offset, 3),
        end=round(float(fw_seg.end) + offset, 3),
        text=unicodedata.normalize("NFC", fw_seg.text).strip(),
        words=words,
        avg_logprob=float(fw_seg.avg_logprob),
        no_speech_prob=float(fw_seg.no_speech_prob),
        compression_ratio=float(fw_seg.compression_ratio),
    )


def _collapse(seg: Segment) -> Segment:
    if not has_loop(seg.text):
        return seg
    words = seg.words
    if words:
        spans = loop_word_spans(" ".join(w.text.strip() for w in words))
        drop = {i for a, b in spans for i in range(a, b)}
        words = tuple(w for i, w in enumerate(words) if i not in drop)
    logger.info("Collapsed a repetition loop at %.1f-%.1f s", seg.start, seg.end)
    return replace(seg, text=collapse_loops(seg.text), words=words, flags=(*seg.flags, "repetition_repaired"))


def _is_repeated(text: str, last_texts: list[str], max_same: int = 2, min_words: int = 4) -> bool:
    """True for the third (and later) consecutive segment with the same text of 4+ words: the
    decoder copying itself over silence, not people speaking."""
    key = " ".join(text.casefold().split())
    repeated = (
        len(key.split()) >= min_words
        and len(last_texts) >= max_same
        and all(t == key for t in last_texts[-max_same:])
    )
    last_texts.append(key)
    del last_texts[:-max_same]
    return repeated


def _quiet_cut(audio: np.ndarray, window_len: int) -> int:
    """Index near ``window_len`` where to cut: the quietest 0.5 s within the 30 s before it."""
    lo = max(0, window_len - int(_CUT_SEARCH_S * SAMPLE_RATE))
    hi = min(len(audio), window_len)
    frame = int(_CUT_FRAME_S * SAMPLE_RATE)
    n = (hi - lo) // frame
    if n < 2:
        return hi
    energy = np.square(audio[lo : lo + n * frame].reshape(n, frame), dtype=np.float32).mean(axis=1)
    k = max(1, int(_CUT_SMOOTH_S / _CUT_FRAME_S))
    smooth = np.convolve(energy, np.ones(k, dtype=np.float32) / k, mode="same")
    best = int(np.argmin(smooth))
    return lo + best * frame + frame // 2
