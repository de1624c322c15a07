"""Vietnamese speech-to-text with faster-whisper, window by window, resumable, loop-safe, without holes.

The recording is decoded block by block (:func:`speech.audio.iter_audio`) into windows of
``window_s`` seconds (10 minutes by default) cut at the quietest moment near the window's end; each
window goes through the loop-safe ``BatchedInferencePipeline`` of :mod:`speech.fw_pipeline` (Silero VAD,
chunks of <= 30 s decoded in batches). Memory is bounded by one window whatever the recording's length, the
segments are yielded as they are produced (with times from the start of the recording, never past the end
of the audio), and a crashed job restarts with ``start_s`` = the end of its last stored segment.

Repetition loops ("tình tình tình ...") are handled in three steps (rules in :mod:`speech.decoding`). The
first pass (beam search) stops each batch at a token budget; a chunk whose text loops and swallowed speech
is decoded again from its encoder output, greedily, after the words before the loop, and a chunk still
speaking at the budget is finished the same way (:mod:`speech.fw_pipeline`). Where the encoder output cannot
be reused (CUDA, language detection per chunk), the looping segment's own span is decoded again instead, in
batches. What still loops, and loops that swallowed nothing, are collapsed to one copy and flagged
(``"repetition_repaired"``, with the seconds whose text was removed in ``Segment.dropped_s``).

Speech no segment covers is decoded again (``fill_gaps``): Whisper base often ends a 30 s chunk with seconds
of speech left, or skips a chunk's first sentence, and the batched pipeline never goes back (3-13 s holes on
a 102 s meeting). The stretches of VAD speech between two segments (1 s of speech or more) are decoded on
their own, batched with the loop repairs; what comes back is flagged ``"gap_recovered"``.

Progress is reported as each first-pass batch is decoded (not only when segments come out), as a fraction
(``progress``) and with the figures to estimate the time left (``on_progress``, :class:`TranscribeProgress`).

Example::

    t = Transcriber("var/models/whisper-base", options=TranscribeOptions(vocabulary=("Đà Lạt", "Bảo Lộc")))
    for seg in t.transcribe("hop.m4a", on_progress=lambda p: print(f"{p.fraction:.0%}, {p.eta_s} s left")):
        print(seg.start, seg.end, seg.text, seg.flags)
"""

from __future__ import annotations

import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from speech import decoding
from speech.audio import SAMPLE_RATE, iter_audio, probe
from speech.errors import ModelError
from speech.options import CUT_SEARCH_S, TranscribeOptions
from speech.repetition import has_loop
from speech.transcript import Segment, Word

__all__ = [
    "ProgressCallback",
    "ProgressDetailCallback",
    "TranscribeOptions",
    "TranscribeProgress",
    "Transcriber",
    "default_compute_type",
]

logger = logging.getLogger(__name__)

#: Called with the fraction (0..1) of the recording's duration transcribed so far.
ProgressCallback = Callable[[float], None]

_BLOCK_S = 30.0
_CUT_FRAME_S = 0.05
_CUT_SMOOTH_S = 0.5
#: A gap is an entry of the repair queue: (start, end) seconds of the recording.
_Gap = tuple[float, float]


@dataclass(frozen=True)
class TranscribeProgress:
    """Where a transcription stands (given to ``on_progress``).

    Attributes:
        fraction: share of the recording's duration decoded, 0..1 (1.0 only at the end).
        done_s: seconds of the recording decoded, from its start (a resumed job starts at ``start_s``).
        duration_s: the recording's duration, seconds.
        elapsed_s: wall-clock seconds since decoding began in this call (after probing and loading the model).
        eta_s: estimated wall-clock seconds left (the rate so far in this call times the audio left); None
            until some audio has been decoded.
        first_pass_s: seconds of the recording through the first pass (beam search, batch by batch).
        final_s: seconds of the recording whose segments have been yielded (repairs and gaps done).

    ``done_s`` is the mean of ``first_pass_s`` and ``final_s``: after the first pass, loop repairs and gap
    decodings still take a share of the time (about a third of it on the benchmark's meeting).
    """

    fraction: float
    done_s: float
    duration_s: float
    elapsed_s: float
    eta_s: float | None
    first_pass_s: float
    final_s: float


#: Called with a :class:`TranscribeProgress` each time the fraction rises.
ProgressDetailCallback = Callable[[TranscribeProgress], None]


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
    """faster-whisper ``WhisperModel`` + the loop-safe batched pipeline behind a resumable generator.

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

        from speech.fw_pipeline import LoopSafePipeline

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
        self._pipeline = LoopSafePipeline(self._model, reuse_encoder=device == "cpu")
        # A second pipeline for the span re-decodings: it runs while the first pass's generator is
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
        on_progress: ProgressDetailCallback | None = None,
    ) -> Iterator[Segment]:
        """Transcribe ``path`` from ``start_s``, yielding segments as they are produced.

        Args:
            path: the recording (any format PyAV reads); it is probed first, so a bad file fails
                before the model is touched.
            start_s: resume point, seconds (the end of the last segment a crashed job stored).
            progress: called with the fraction of the recording decoded, 0..1, rising (the mean of how far the
                first pass and the final segments have come, see :class:`TranscribeProgress`): once at the
                start, after each batch of chunks the first pass decodes (every ``batch_size`` x <= 30 s of
                speech), at each segment yielded and each window's end; the last call is 1.0.
            options: overrides the transcriber's default options.
            on_progress: called alongside ``progress`` with a :class:`TranscribeProgress` (fraction, seconds
                decoded, elapsed and estimated time left).

        Yields:
            :class:`Segment` in time order, times in seconds from the start of the recording, within the
            decoded audio (never past its end).

        Raises:
            AudioError: the file is not usable audio (from :func:`speech.audio.probe` or decoding).
            ModelError: the model cannot be loaded.
        """
        opts = options or self.options
        info = probe(path, max_duration_s=opts.max_duration_s)
        self.load()
        duration = max(info.duration_s, 1e-6)
        report = _Progress(duration, start_s, progress, on_progress)
        report(start_s)
        window_len = int(opts.window_s * SAMPLE_RATE)
        buf: list[np.ndarray] = []
        buffered = 0
        window_start = start_s
        last_texts: list[str] = []
        for block in iter_audio(path, start_s=start_s, block_s=_BLOCK_S):
            buf.append(block)
            buffered += len(block)
            if buffered < window_len + int(CUT_SEARCH_S * SAMPLE_RATE):
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
        """The segments of one window (``audio``, 16 kHz mono float32, starting ``offset`` seconds into the
        recording): first pass, loop repairs and gap filling, kept within the window."""
        if len(audio) < SAMPLE_RATE // 10:
            return
        window_end = offset + len(audio) / SAMPLE_RATE
        pipeline = self._pipeline
        redecoded_seeks: set[int] = getattr(pipeline, "redecoded_seeks", set())
        redecoded_seeks.clear()
        if hasattr(pipeline, "loop_options"):
            pipeline.loop_options = opts if opts.repair_loops else None
        segments, info = pipeline.transcribe(audio, **opts.batched_kwargs())
        language = opts.language or getattr(info, "language", None)
        regions = _speech_regions(info) if opts.vad_filter else []  # window time
        speech = [(offset + a, offset + b) for a, b in regions]  # recording time
        if hasattr(pipeline, "on_batch"):
            pipeline.on_batch = lambda t: report.first_pass(offset + decoding.original_time(t, regions))

        def emit(batch: list[Segment]) -> Iterator[Segment]:
            for seg in batch:
                kept = decoding.clamp_segment(seg, offset, window_end)
                if kept is None or not kept.text:
                    continue
                if decoding.is_repeated(kept.text, last_texts):
                    logger.info(
                        "Dropped a segment repeating the previous ones at %.1f s: %r", kept.start, kept.text[:80]
                    )
                    continue
                report(kept.end)
                yield kept

        def gaps(lo: float, hi: float) -> list[_Gap]:
            if not (opts.fill_gaps and speech):
                return []
            found = decoding.uncovered_speech(speech, [(-np.inf, lo), (hi, np.inf)], opts.gap_min_speech_s)
            return [piece for gap in found for piece in decoding.speech_pieces(gap, speech)]

        # Segments wait here from the first one to repair (a loop to decode again, a gap before it) on, until
        # batch_size of those are pending: they are decoded again together.
        pending: list[Segment | _Gap] = []
        pending_redecode: list[bool] = []
        n_todo = 0
        covered = offset
        try:
            for fw_seg in segments:
                seg = _convert(fw_seg, offset)
                for gap in gaps(covered, seg.start):
                    pending.append(gap)
                    pending_redecode.append(True)
                    n_todo += 1
                covered = max(covered, seg.end)
                again = getattr(fw_seg, "seek", None) in redecoded_seeks
                if again:
                    seg = replace(seg, flags=(*seg.flags, "repetition_redecoded"))
                redecode = opts.redecode_loops and not again and decoding.needs_redecode(seg, opts)
                if not redecode and not pending:
                    yield from emit(self._repair([seg], audio, offset, opts, language, [False]))
                    continue
                pending.append(seg)
                pending_redecode.append(redecode)
                n_todo += redecode
                if n_todo >= opts.batch_size:
                    yield from emit(self._repair(pending, audio, offset, opts, language, pending_redecode))
                    pending, pending_redecode, n_todo = [], [], 0
            for gap in gaps(covered, window_end):
                pending.append(gap)
                pending_redecode.append(True)
            if pending:
                yield from emit(self._repair(pending, audio, offset, opts, language, pending_redecode))
        finally:
            if hasattr(pipeline, "on_batch"):
                pipeline.on_batch = None

    def _repair(
        self,
        items: Sequence[Segment | _Gap],
        audio: np.ndarray,
        offset: float,
        opts: TranscribeOptions,
        language: str | None = None,
        redecode: Sequence[bool] | None = None,
    ) -> list[Segment]:
        """Repair ``items`` in order: decode again the segments marked in ``redecode`` (default: the suspect
        ones whose loop swallowed speech) and the gaps ((start, end) seconds of uncovered speech), all in one
        batched call; collapse the loops left. Clean segments are returned as they are."""
        segs = [s for s in items if isinstance(s, Segment)]
        if not opts.repair_loops and len(segs) == len(items):
            return list(segs)
        if redecode is None:
            redecode = [
                isinstance(s, tuple) or (opts.redecode_loops and decoding.needs_redecode(s, opts)) for s in items
            ]
        clips: list[tuple[float, float]] = []  # recording time
        owner: list[int] = []  # index in items of each clip
        for i, item in enumerate(items):
            if isinstance(item, tuple):
                clips.append(item)
                owner.append(i)
            elif redecode[i] and opts.repair_loops:
                logger.info(
                    "Repetition suspected at %.1f-%.1f s (compression %.2f)",
                    item.start,
                    item.end,
                    item.compression_ratio,
                )
                clips.append((item.start - 0.2, item.end + 0.2))
                owner.append(i)
        found = self._decode_clips(clips, audio, offset, opts, language) if clips else []
        per_item: dict[int, list[Segment]] = {}
        for i, parts in zip(owner, found, strict=True):
            per_item.setdefault(i, []).extend(parts)
        out: list[Segment] = []
        for i, item in enumerate(items):
            if isinstance(item, tuple):
                # No silence rule here (no_speech_prob, avg_logprob): the first pass applies none either, VAD
                # found speech there, and Whisper base gives espeak-ng speech no_speech_prob 0.6-0.9.
                recovered = per_item.get(i, [])
                if recovered:
                    logger.info("Recovered %d segments from speech skipped at %.1f-%.1f s", len(recovered), *item)
                out.extend(decoding.collapse_segment(replace(p, flags=(*p.flags, "gap_recovered"))) for p in recovered)
            elif not opts.repair_loops:
                out.append(item)
            elif not redecode[i]:
                out.append(decoding.collapse_segment(item))
            else:
                candidate = _merge(item, per_item.get(i, []))
                if candidate is not None and not has_loop(candidate.text):
                    out.append(candidate)
                else:
                    out.append(decoding.collapse_segment(candidate or item))
        return out

    def _prompt_length(self, opts: TranscribeOptions, language: str | None) -> int:
        """Tokens of the decoder prompt faster-whisper builds for ``opts`` (3 without a loaded model)."""
        if self._model is None:
            return 3
        from speech.fw_pipeline import prompt_length

        return prompt_length(self._model, opts, language)

    def _decode_clips(
        self,
        spans: Sequence[tuple[float, float]],
        audio: np.ndarray,
        offset: float,
        opts: TranscribeOptions,
        language: str | None,
    ) -> list[list[Segment]]:
        """Decode ``spans`` (recording seconds, each cut to the window and to 30 s) of the window ``audio``
        again, in one batched call, greedily with an n-gram block; the segments found in each ([] where none,
        or where the decoding failed)."""
        clips: list[dict[str, float]] = []
        keep: list[int] = []
        n = len(audio)
        for k, (start, end) in enumerate(spans):
            a = max(0, int((start - offset) * SAMPLE_RATE))
            b = min(n, int((end - offset) * SAMPLE_RATE), a + 30 * SAMPLE_RATE)
            if b - a > SAMPLE_RATE // 10:
                clips.append({"start": a / SAMPLE_RATE, "end": b / SAMPLE_RATE})
                keep.append(k)
        results: list[list[Segment]] = [[] for _ in spans]
        if not clips:
            return results
        longest = max(c["end"] - c["start"] for c in clips)
        # A loop runs to the token limit; real speech needs ~12 tokens per second at most.
        n_prompt = self._prompt_length(opts, language)
        max_length = decoding.max_length(decoding.WHISPER_MAX_LENGTH, n_prompt, 0, decoding.token_cap(opts, longest))
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
                converted = _convert(fw_seg, offset)
                if converted.text:
                    parts[j].append(converted)
        except (RuntimeError, ValueError) as e:
            logger.warning("Decoding %d spans again failed: %s", len(clips), e)
            return results
        for j, k in enumerate(keep):
            results[k] = parts[j]
        return results


def _merge(seg: Segment, parts: list[Segment]) -> Segment | None:
    """``seg`` with the text and words of its re-decoding ``parts`` (None when nothing came)."""
    if not parts:
        return None
    return replace(
        seg,
        text=" ".join(c.text for c in parts),
        words=tuple(w for c in parts for w in c.words),
        avg_logprob=float(np.mean([c.avg_logprob for c in parts])),
        compression_ratio=max(c.compression_ratio for c in parts),
        flags=(*seg.flags, "repetition_redecoded"),
    )


def _speech_regions(info: Any) -> list[tuple[float, float]]:
    """The VAD speech regions of a window, seconds of the window, from faster-whisper's ``TranscriptionInfo``
    ([] when it has none)."""
    clips = getattr(getattr(info, "transcription_options", None), "clip_timestamps", None)
    if not isinstance(clips, list):
        return []
    return [(c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE) for c in clips if isinstance(c, dict)]


class _Progress:
    """Monotonic progress reports with the figures for a time-left estimate.

    The position is the mean of two points of the recording: how far the first pass has decoded (each batch
    of chunks) and how far segments are final (yielded): the repairs and gap decodings after the first pass
    take a share of the time, so neither alone says how much work is left.
    """

    def __init__(
        self,
        duration: float,
        start_s: float,
        callback: ProgressCallback | None,
        detail: ProgressDetailCallback | None = None,
    ) -> None:
        self.callback = callback
        self.detail = detail
        self.duration = duration
        self.start_s = start_s
        self.first = start_s  # seconds of the recording through the first pass
        self.final = start_s  # seconds of the recording whose segments are out
        self.t0 = time.monotonic()
        self.last = -1.0

    def first_pass(self, t: float) -> None:
        """The first pass has decoded up to ``t`` seconds of the recording."""
        self.first = max(self.first, t)
        self(None)

    def __call__(self, t: float | None, final: bool = False) -> None:
        """Segments are final up to ``t`` seconds of the recording (None: unchanged); ``final``: all done."""
        if t is not None:
            self.final = max(self.final, t)
            self.first = max(self.first, self.final)
        if self.callback is None and self.detail is None:
            return
        position = (self.first + self.final) / 2
        frac = 1.0 if final else min(max(position / self.duration, 0.0), 0.999)
        if not (frac > self.last or final):
            return
        self.last = frac
        if self.callback is not None:
            self.callback(frac)
        if self.detail is not None:
            done = frac * self.duration
            elapsed = time.monotonic() - self.t0
            decoded = done - self.start_s
            eta = 0.0 if final else (elapsed / decoded * (self.duration - done) if decoded > 0 else None)
            self.detail(
                TranscribeProgress(
                    frac,
                    done,
                    self.duration,
                    elapsed,
                    eta,
                    min(self.first, self.duration),
                    min(self.final, self.duration),
                )
            )


def _convert(fw_seg: Any, offset: float) -> Segment:
    """A faster-whisper segment as a :class:`Segment`, ``offset`` seconds later."""
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


def _quiet_cut(audio: np.ndarray, window_len: int) -> int:
    """Index near ``window_len`` where to cut: the quietest 0.5 s within the 30 s before it."""
    lo = max(0, window_len - int(CUT_SEARCH_S * SAMPLE_RATE))
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
