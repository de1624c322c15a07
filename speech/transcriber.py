"""Vietnamese speech-to-text with faster-whisper, window by window, resumable, loop-safe.

The recording is decoded block by block (:func:`speech.audio.iter_audio`) into windows of
``window_s`` seconds (10 minutes by default) cut at the quietest moment near the window's end; each
window goes through faster-whisper's ``BatchedInferencePipeline`` (Silero VAD, chunks of <= 30 s
decoded in batches). Memory is bounded by one window whatever the recording's length, the segments
are yielded as they are produced (with times from the start of the recording), and a crashed job
restarts with ``start_s`` = the end of its last stored segment.

Repetition loops ("tình tình tình ...") are handled in three steps. The first pass (beam search)
stops each batch at a token budget from its longest chunk: a loop otherwise runs on to Whisper's limit
(224 tokens per chunk), and every batch with a looping chunk pays for it. A chunk whose text loops (see
:mod:`speech.repetition`) or compresses too well, and whose text without the loop is too sparse for its
audio (under 2 words per second: the loop swallowed speech), is decoded again from the encoder output the
first pass computed (no second encoding), resuming after the words before the loop, greedily, with an
n-gram block; a chunk still speaking at the budget is finished the same way, after all its words. Those
chunks wait until 2 x ``batch_size`` of them are pending and are decoded in one call (greedy decoding of
one or two sequences leaves the cores idle: at 8 a chunk costs 0.4x as much as alone). Where the encoder
output cannot be reused (CUDA, language detection per chunk), the budget is the generous
``redecode_tokens_per_s`` and the looping segment's own span is decoded again instead, in batches. What
still loops, and loops that swallowed nothing, are collapsed to one copy and flagged.

Example::

    t = Transcriber("var/models/whisper-base", options=TranscribeOptions(vocabulary=("Đà Lạt", "Bảo Lộc")))
    for seg in t.transcribe("hop.m4a", progress=lambda f: print(f"{f:.0%}")):
        print(seg.start, seg.end, seg.text)
"""

from __future__ import annotations

import logging
import os
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np

from speech.audio import DEFAULT_MAX_DURATION_S, SAMPLE_RATE, iter_audio, probe
from speech.errors import ModelError
from speech.repetition import collapse_loops, find_loops, has_loop, loop_word_spans
from speech.transcript import Segment, Word

__all__ = ["ProgressCallback", "TranscribeOptions", "Transcriber"]

logger = logging.getLogger(__name__)

#: Called with the fraction (0..1) of the recording's duration transcribed so far.
ProgressCallback = Callable[[float], None]

_BLOCK_S = 30.0
_CUT_SEARCH_S = 30.0  # look for the quietest moment in the last 30 s of a window
_CUT_FRAME_S = 0.05
_CUT_SMOOTH_S = 0.5
#: Below this many words per second (loops collapsed), a looping text has swallowed speech.
_MIN_WORDS_PER_S = 2.0
#: Whisper's context, in tokens (faster-whisper's ``WhisperModel.max_length``).
_WHISPER_MAX_LENGTH = 448
#: Batches of the first pass held back at most while their looping chunks wait to be decoded again
#: together (each holds its features and encoder output: ~16 MB at batch 4).
_MAX_HELD = 6


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe. The defaults are the service's: Vietnamese, beam 5, VAD, word timestamps.

    Attributes:
        language: ISO 639-1 code (``"vi"``), or None to detect it on the first 30 s.
        beam_size: beam width of the decoder.
        batch_size: chunks (<= 30 s each) decoded together. Memory grows with it (Whisper base int8,
            beam 5: about 0.9 GB peak RSS at 4, 1.4 GB at 8); speed on CPU hardly does.
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
        repair_loops: detect repetition loops and repair them (collapse to one copy, flagged), and
            give the first pass a token budget (``first_pass_tokens_per_s``).
        redecode_loops: before collapsing, decode again the looping chunks whose loop swallowed
            speech (recovers those words), from the first pass's encoder output, greedily
            (``redecode_beam_size``), after the words before the loop. False: collapse only.
            Measured on 12.7 min of espeak-ng audio where raw base loops in 10-15 of 27 chunks: about
            +12% CPU over raw faster-whisper, WER 0.90 vs 0.925 (experiments/results/speech_benchmark.md).
        redecode_beam_size: beam width of the re-decoding (1 = greedy).
        redecode_no_repeat_ngram_size: n-gram block of the re-decoding, in tokens (a Vietnamese
            syllable is 1-3 tokens, so 10 tokens is about 4 syllables: short enough to stop a loop,
            long enough to allow "Ủy ban nhân dân" twice in a chunk).
        redecode_tokens_per_s: token cap, per second of audio plus 16 (timestamps included), of the
            first pass (per batch, from its longest chunk) and of the re-decoding (fast speech is about
            6 syllables/s, 12 tokens/s; Whisper itself stops at 224 tokens per 30 s chunk).
        first_pass_tokens_per_s: token budget, per second plus 16, of the first pass (beam search) where
            its encoder output is reused (CPU, with ``redecode_loops``): a chunk still speaking at the
            budget is finished greedily from its encoder output, so the budget only bounds what beam
            search spends on a loop (every batch with a looping chunk runs to the budget).
        window_s: audio decoded and transcribed at once, seconds (memory: 64 kB per second).
        max_duration_s: refuse longer recordings, seconds.
    """

    language: str | None = "vi"
    beam_size: int = 5
    batch_size: int = 4
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
    redecode_beam_size: int = 1
    redecode_no_repeat_ngram_size: int = 10
    redecode_tokens_per_s: float = 12.0
    first_pass_tokens_per_s: float = 6.0
    window_s: float = 600.0
    max_duration_s: float = DEFAULT_MAX_DURATION_S

    def __post_init__(self) -> None:
        if self.beam_size < 1 or self.batch_size < 1 or self.redecode_beam_size < 1:
            raise ValueError(
                "Expected beam_size >= 1, batch_size >= 1 and redecode_beam_size >= 1. "
                f"Got: {self.beam_size}, {self.batch_size}, {self.redecode_beam_size}."
            )
        if not (self.redecode_tokens_per_s > 0 and self.first_pass_tokens_per_s > 0):
            raise ValueError(
                "Expected redecode_tokens_per_s > 0 and first_pass_tokens_per_s > 0. "
                f"Got: {self.redecode_tokens_per_s!r}, {self.first_pass_tokens_per_s!r}."
            )
        if self.vocabulary_mode not in ("hotwords", "prompt"):
            raise ValueError(f"Expected vocabulary_mode 'hotwords' or 'prompt'. Got: {self.vocabulary_mode!r}.")
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


def default_compute_type(device: str) -> str:
    """CTranslate2 compute type used when none is given: ``int8`` on CPU, ``float16`` on CUDA."""
    return "int8" if _resolve_device(device) == "cpu" else "float16"


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
        self._redecoder: Any = None

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
        compute_type = self.compute_type or default_compute_type(device)
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
        self._pipeline = _loop_safe_pipeline(self._model, reuse_encoder=device == "cpu")
        # A second pipeline for the re-decoding: it runs while the first pass's generator is
        # suspended, and a pipeline keeps word-timing state between batches.
        self._redecoder = BatchedInferencePipeline(self._model)
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
        redecoded_seeks: set[int] = getattr(self._pipeline, "redecoded_seeks", set())
        redecoded_seeks.clear()
        if hasattr(self._pipeline, "loop_options"):
            self._pipeline.loop_options = opts if opts.repair_loops else None
        segments, info = self._pipeline.transcribe(audio, **opts.batched_kwargs())
        language = opts.language or getattr(info, "language", None)

        def emit(batch: list[Segment]) -> Iterator[Segment]:
            for seg in batch:
                if not seg.text:
                    continue
                if _is_repeated(seg.text, last_texts):
                    logger.info("Dropped a segment repeating the previous ones at %.1f s: %r", seg.start, seg.text[:80])
                    continue
                report(seg.end)
                yield seg

        # Segments wait here from the first suspect one on, until batch_size suspects are pending.
        pending: list[Segment] = []
        n_suspect = 0
        pending_redecode: list[bool] = []
        for fw_seg in segments:
            seg = _convert(fw_seg, offset)
            again = getattr(fw_seg, "seek", None) in redecoded_seeks
            if again:
                seg = replace(seg, flags=(*seg.flags, "repetition_redecoded"))
            redecode = opts.redecode_loops and not again and _needs_redecode(seg, opts)
            if not redecode and not pending:
                yield from emit(self._repair([seg], audio, offset, opts, language, [False]))
                continue
            pending.append(seg)
            pending_redecode.append(redecode)
            n_suspect += redecode
            if n_suspect >= opts.batch_size:
                yield from emit(self._repair(pending, audio, offset, opts, language, pending_redecode))
                pending, pending_redecode, n_suspect = [], [], 0
        if pending:
            yield from emit(self._repair(pending, audio, offset, opts, language, pending_redecode))

    def _repair(
        self,
        segs: list[Segment],
        audio: np.ndarray,
        offset: float,
        opts: TranscribeOptions,
        language: str | None = None,
        redecode: list[bool] | None = None,
    ) -> list[Segment]:
        """Repair ``segs``: decode again those marked in ``redecode`` (default: the suspect ones whose
        loop swallowed speech), collapse the loops left; clean segments are returned as they are."""
        if not opts.repair_loops:
            return list(segs)
        if redecode is None:
            redecode = [opts.redecode_loops and _needs_redecode(s, opts) for s in segs]
        suspects = [i for i, s in enumerate(segs) if redecode[i]]
        out = [_collapse(s) if not redecode[i] else s for i, s in enumerate(segs)]
        if not suspects:
            return out
        for i in suspects:
            logger.info(
                "Repetition suspected at %.1f-%.1f s (compression %.2f)",
                segs[i].start,
                segs[i].end,
                segs[i].compression_ratio,
            )
        candidates = self._redecode([segs[i] for i in suspects], audio, offset, opts, language)
        for i, candidate in zip(suspects, candidates, strict=True):
            if candidate is not None and candidate.text and not has_loop(candidate.text):
                out[i] = candidate
            else:
                out[i] = _collapse(candidate if candidate is not None and candidate.text else segs[i])
        return out

    def _prompt_length(self, opts: TranscribeOptions, language: str | None) -> int:
        """Tokens of the decoder prompt faster-whisper builds for ``opts`` (3 without a loaded model)."""
        if self._model is None:
            return 3
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(
            self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language=language or "en"
        )
        decoding = SimpleNamespace(initial_prompt=opts.prompt(), without_timestamps=False, hotwords=opts.hotwords())
        return len(self._pipeline._prompt(tokenizer, decoding))

    def _redecode(
        self,
        segs: list[Segment],
        audio: np.ndarray,
        offset: float,
        opts: TranscribeOptions,
        language: str | None,
    ) -> list[Segment | None]:
        """Decode the spans of ``segs`` again, in one batched call; None where nothing came."""
        clips: list[dict[str, float]] = []
        keep: list[int] = []
        n = len(audio)
        for k, seg in enumerate(segs):
            a = max(0, int((seg.start - offset - 0.2) * SAMPLE_RATE))
            b = min(n, int((seg.end - offset + 0.2) * SAMPLE_RATE), a + 30 * SAMPLE_RATE)
            if b - a > SAMPLE_RATE // 10:
                clips.append({"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE})
                keep.append(k)
        results: list[Segment | None] = [None] * len(segs)
        if not clips:
            return results
        longest = max(c["end"] - c["start"] for c in clips)
        # A loop runs to the token limit; real speech needs ~12 tokens per second at most.
        n_prompt = self._prompt_length(opts, language)
        max_length = _max_length(_WHISPER_MAX_LENGTH, n_prompt, 0, _token_cap(opts, longest))
        max_new_tokens = None if max_length is None else max_length - n_prompt
        parts: list[list[Segment]] = [[] for _ in clips]
        by_start = {int(int(c["start"] * SAMPLE_RATE) / SAMPLE_RATE * 100): j for j, c in enumerate(clips)}
        try:
            found, _ = self._redecoder.transcribe(
                audio,
                language=language,
                beam_size=opts.redecode_beam_size,
                batch_size=len(clips),
                temperature=0.0,
                max_new_tokens=max_new_tokens,
                no_repeat_ngram_size=opts.redecode_no_repeat_ngram_size,
                repetition_penalty=opts.repetition_penalty,
                word_timestamps=opts.word_timestamps,
                without_timestamps=False,
                clip_timestamps=clips,
                hotwords=opts.hotwords(),
                initial_prompt=opts.prompt(),
            )
            for fw_seg in found:
                j = by_start.get(int(fw_seg.seek))
                if j is None:  # cannot happen with faster-whisper 1.2; fall back to the midpoint
                    mid = (float(fw_seg.start) + float(fw_seg.end)) / 2
                    j = min(range(len(clips)), key=lambda q: abs((clips[q]["start"] + clips[q]["end"]) / 2 - mid))
                parts[j].append(_convert(fw_seg, offset))
        except (RuntimeError, ValueError) as e:
            logger.warning("Re-decoding %d looping segments failed: %s", len(clips), e)
            return results
        for j, k in enumerate(keep):
            converted = [c for c in parts[j] if c.text]
            if not converted:
                continue
            seg = segs[k]
            results[k] = replace(
                seg,
                text=" ".join(c.text for c in converted),
                words=tuple(w for c in converted for w in c.words),
                avg_logprob=float(np.mean([c.avg_logprob for c in converted])),
                compression_ratio=max(c.compression_ratio for c in converted),
                flags=(*seg.flags, "repetition_redecoded"),
            )
        return results


def _suspect(text: str, compression_ratio: float, opts: TranscribeOptions) -> bool:
    """True when ``text`` loops or compresses too well (8+ words) to be ordinary speech."""
    if has_loop(text):
        return True
    return (
        opts.compression_ratio_threshold is not None
        and compression_ratio > opts.compression_ratio_threshold
        and len(text.split()) >= 8
    )


def _sparse(text: str, duration_s: float) -> bool:
    """True when ``text``, its loops collapsed, has under 2 words per second of ``duration_s``: the
    loop swallowed speech (Vietnamese speech runs at 3-6 syllables per second)."""
    return len(collapse_loops(text).split()) < _MIN_WORDS_PER_S * duration_s


def _prefix_before_loop(tokenizer: Any, tokens: list[int]) -> list[int]:
    """The tokens of ``tokens`` before the first loop's first word ([] when it starts the text)."""
    loops = find_loops(tokenizer.decode(tokens))
    if not loops or loops[0].start == 0:
        return []
    for j in range(1, len(tokens) + 1):
        if len(tokenizer.decode(tokens[:j]).split()) > loops[0].start:
            return list(tokens[: j - 1])
    return []


def _compression_ratio(text: str) -> float:
    """gzip-style ratio of ``text`` (bytes / zlib-compressed bytes), as Whisper computes it."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _needs_redecode(seg: Segment, opts: TranscribeOptions) -> bool:
    return _loop_swallowed_speech(seg.text, seg.compression_ratio, seg.end - seg.start, opts)


def _loop_swallowed_speech(text: str, compression_ratio: float, duration_s: float, opts: TranscribeOptions) -> bool:
    """True for a text (of a segment or a chunk) that loops and whose loop swallowed speech: decode it again."""
    return _suspect(text, compression_ratio, opts) and _sparse(text, duration_s)


def _token_cap(opts: TranscribeOptions, duration_s: float, rate: float | None = None) -> int:
    """Most tokens (timestamps included) that ``duration_s`` seconds of speech need: loops run past it.

    ``rate``: tokens per second (default ``opts.redecode_tokens_per_s``)."""
    return 16 + int((opts.redecode_tokens_per_s if rate is None else rate) * duration_s)


def _max_length(model_max_length: int, n_prompt: int, n_prefix: int, n_new: int) -> int | None:
    """CTranslate2's ``max_length`` that lets Whisper emit ``n_prefix + n_new`` tokens, or None when only the
    model's own limit applies.

    CTranslate2 emits at most ``max_length // 2`` tokens (a forced prefix included; OpenAI's ``sample_len``)
    and at most ``max_length - prompt + 1`` (measured with CTranslate2 4.8): 448 gives Whisper's 224 tokens.
    (faster-whisper's ``max_new_tokens`` sets ``max_length = prompt + max_new_tokens``: alone, it allows
    half as many.)
    """
    need = n_prefix + n_new
    max_length = max(2 * need, n_prompt + need - 1)
    return None if max_length >= model_max_length else max_length


_PIPELINE_CLASS: Any = None
#: A first-pass batch held back: features, chunks' metadata, encoder output, outputs (tokens) and the chunks
#: to decode again as (index in the batch, tokens to resume after, True for a loop / False if cut short).
_Held = tuple[Any, Any, Any, list[dict[str, Any]], list[tuple[int, list[int], bool]]]


def _loop_safe_pipeline(model: Any, reuse_encoder: bool) -> Any:
    """A ``BatchedInferencePipeline`` that decodes looping chunks again from their encoder output.

    Set ``loop_options`` (a :class:`TranscribeOptions`, or None to turn it off) before each
    ``transcribe``; the seeks of the chunks decoded again are collected in ``redecoded_seeks``.
    """
    global _PIPELINE_CLASS
    if _PIPELINE_CLASS is None:
        from faster_whisper import BatchedInferencePipeline

        class LoopSafePipeline(BatchedInferencePipeline):  # type: ignore[misc]
            def __init__(self, model: Any, reuse_encoder: bool) -> None:
                super().__init__(model)
                self.reuse_encoder = reuse_encoder
                self.loop_options: TranscribeOptions | None = None
                self.redecoded_seeks: set[int] = set()
                self._metadata: list[dict[str, Any]] = []
                self._precomputed: tuple[Any, list[dict[str, Any]]] | None = None
                self._last_speech = 0.0
                self._budget: int | None = None

            def generate_segment_batched(self, features: Any, tokenizer: Any, options: Any) -> Any:
                if self._precomputed is not None:  # decoded (and repaired) by _batched_segments_generator
                    done, self._precomputed = self._precomputed, None
                    return done
                opts = self.loop_options
                self._budget = None
                if opts is not None and options.max_new_tokens is None and self._metadata:
                    # A chunk needs at most ~12 tokens per second; a loop runs on to the model's limit. Where
                    # chunks cut short can be finished from the encoder output, beam search stops earlier.
                    longest = max(m["duration"] for m in self._metadata)
                    rate = opts.first_pass_tokens_per_s if self._finishes(opts, options) else None
                    budget = _token_cap(opts, longest, rate)
                    n_prompt = len(self._prompt(tokenizer, options))
                    max_length = _max_length(self.model.max_length, n_prompt, 0, budget)
                    if max_length is not None:
                        options = replace(options, max_new_tokens=max_length - n_prompt)
                        self._budget = budget
                return super().generate_segment_batched(features, tokenizer, options)

            def _finishes(self, opts: TranscribeOptions | None, options: Any) -> bool:
                """True when chunks are repaired and finished here, from the first pass's encoder output."""
                return opts is not None and opts.redecode_loops and self.reuse_encoder and not options.multilingual

            def _batched_segments_generator(
                self,
                features: Any,
                tokenizer: Any,
                chunks_metadata: Any,
                batch_size: int,
                options: Any,
                log_progress: bool,
            ) -> Any:
                opts = self.loop_options
                if opts is None or not self._finishes(opts, options):
                    yield from super()._batched_segments_generator(
                        features, tokenizer, chunks_metadata, batch_size, options, log_progress
                    )
                    return
                # Batches wait here from the first one with a chunk to decode again on (a loop that swallowed
                # speech, or speech cut at the first pass's budget), until 2 * batch_size such chunks are
                # pending (or _MAX_HELD batches): they are decoded together, which costs about 0.4x per chunk
                # of decoding them batch by batch (greedy decoding of one sequence leaves the cores idle).
                self._precomputed = None
                held: list[_Held] = []
                pending = 0
                for i in range(0, len(features), batch_size):
                    feats, meta = features[i : i + batch_size], chunks_metadata[i : i + batch_size]
                    self._metadata = meta
                    encoder_output, outputs = self.generate_segment_batched(feats, tokenizer, options)
                    todo = []
                    for k, (out, m) in enumerate(zip(outputs, meta, strict=True)):
                        text = tokenizer.decode(out["tokens"])
                        if _loop_swallowed_speech(text, _compression_ratio(text), m["duration"], opts):
                            # The words before the loop are kept: decoding resumes where the loop began.
                            todo.append((k, _prefix_before_loop(tokenizer, out["tokens"]), True))
                        elif self._budget is not None and len(out["tokens"]) >= self._budget and not has_loop(text):
                            todo.append((k, list(out["tokens"]), False))  # cut short: finish it
                    held.append((feats, meta, encoder_output, outputs, todo))
                    pending += len(todo)
                    if pending == 0 or pending >= 2 * batch_size or len(held) >= _MAX_HELD:
                        yield from self._release(held, tokenizer, options, opts)
                        held, pending = [], 0
                yield from self._release(held, tokenizer, options, opts)
                self.last_speech_timestamp = 0.0

            def _release(
                self,
                held: list[_Held],
                tokenizer: Any,
                options: Any,
                opts: TranscribeOptions,
            ) -> Any:
                """Decode the pending chunks of ``held`` again in one call, then turn each batch into segments
                (faster-whisper's own code: timestamps, word timings) in order."""
                if any(todo for *_, todo in held):
                    try:
                        self._redecode(held, tokenizer, options, opts)
                    except (RuntimeError, ValueError, TypeError) as e:  # the span re-decoding takes over
                        logger.warning("Re-decoding from the encoder output failed: %s", e)
                for feats, meta, encoder_output, outputs, _ in held:
                    self._precomputed = (encoder_output, outputs)
                    yield from super()._batched_segments_generator(feats, tokenizer, meta, len(feats), options, False)
                    self.last_speech_timestamp = self._last_speech  # the base generator resets it at its end

            def forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
                self._metadata = chunks_metadata
                result = super().forward(features, tokenizer, chunks_metadata, options)
                self._last_speech = self.last_speech_timestamp
                return result

            def _prompt(self, tokenizer: Any, options: Any) -> list[int]:
                """The decoder prompt, as ``generate_segment_batched`` builds it."""
                return list(
                    self.model.get_prompt(
                        tokenizer,
                        previous_tokens=(
                            tokenizer.encode(options.initial_prompt) if options.initial_prompt is not None else []
                        ),
                        without_timestamps=options.without_timestamps,
                        hotwords=options.hotwords,
                    )
                )

            def _redecode(
                self,
                held: list[_Held],
                tokenizer: Any,
                options: Any,
                opts: TranscribeOptions,
            ) -> None:
                import ctranslate2

                whisper = self.model
                todo = [(meta, outputs, k, looped) for _, meta, _, outputs, ks in held for k, _, looped in ks]
                subset = np.ascontiguousarray(
                    np.concatenate([np.asarray(enc)[[k for k, *_ in ks]] for _, _, enc, _, ks in held if ks], axis=0)
                )
                prompt = self._prompt(tokenizer, options)
                prefixes = [prefix for *_, ks in held for _, prefix, _ in ks]
                longest = max(meta[k]["duration"] for meta, _, k, _ in todo)
                max_length = _max_length(
                    whisper.max_length, len(prompt), max(len(p) for p in prefixes), _token_cap(opts, longest)
                )
                results = whisper.model.generate(
                    ctranslate2.StorageView.from_array(subset),
                    [list(prompt) + p for p in prefixes],
                    beam_size=opts.redecode_beam_size,
                    max_length=whisper.max_length if max_length is None else max_length,
                    suppress_blank=options.suppress_blank,
                    suppress_tokens=options.suppress_tokens,
                    return_scores=True,
                    return_no_speech_prob=True,
                    repetition_penalty=options.repetition_penalty,
                    no_repeat_ngram_size=opts.redecode_no_repeat_ngram_size,
                )
                for (meta, outputs, k, looped), prefix, res in zip(todo, prefixes, results, strict=True):
                    tokens = list(res.sequences_ids[0])
                    if tokens[: len(prefix)] != prefix:  # CTranslate2 4.x returns the prefix with the result
                        tokens = prefix + tokens
                    outputs[k] = {
                        "avg_logprob": res.scores[0] * (len(tokens) ** options.length_penalty) / (len(tokens) + 1),
                        "no_speech_prob": res.no_speech_prob,
                        "tokens": tokens,
                    }
                    if looped:
                        self.redecoded_seeks.add(int(meta[k]["offset"] * whisper.frames_per_second))
                logger.info("Decoded %d chunks again (loops, or cut short) from their encoder output", len(todo))

        _PIPELINE_CLASS = LoopSafePipeline
    return _PIPELINE_CLASS(model, reuse_encoder)


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
        len(key.split()) >= min_words and len(last_texts) >= max_same and all(t == key for t in last_texts[-max_same:])
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
