"""The loop-safe decoding's rules: which texts loop, which swallowed speech, what a repair removes, what speech
no segment covers, and how segments are kept inside the recording. Pure functions of texts, token ids and
times (no model, no faster-whisper): :mod:`speech.fw_pipeline` and :mod:`speech.transcriber` apply them.

Example::

    >>> loop_swallowed_speech("mơ mơ mơ mơ mơ mơ mơ mơ mơ", 2.0, 6.0, TranscribeOptions())
    True
    >>> uncovered_speech([(0.0, 10.0)], [(0.0, 3.0), (8.0, 10.0)], 1.0)
    [(3.0, 8.0)]
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from speech.options import TranscribeOptions
from speech.repetition import collapse_loops, find_loops, has_loop, loop_word_spans
from speech.transcript import Segment, Word

__all__ = [
    "clamp_segment",
    "collapse_segment",
    "compression_ratio",
    "is_repeated",
    "loop_swallowed_speech",
    "max_length",
    "needs_redecode",
    "original_time",
    "prefix_before_loop",
    "speech_pieces",
    "token_cap",
    "uncovered_speech",
]

logger = logging.getLogger(__name__)

#: Below this many words per second (loops collapsed), a looping text has swallowed speech.
MIN_WORDS_PER_S = 2.0
#: Whisper's context, in tokens (faster-whisper's ``WhisperModel.max_length``).
WHISPER_MAX_LENGTH = 448
#: Longest clip Whisper decodes at once, seconds.
MAX_CLIP_S = 30.0


def suspect(text: str, ratio: float, opts: TranscribeOptions) -> bool:
    """True when ``text`` loops or compresses too well (8+ words, gzip ratio ``ratio``) to be ordinary speech."""
    if has_loop(text):
        return True
    return (
        opts.compression_ratio_threshold is not None
        and ratio > opts.compression_ratio_threshold
        and (len(text.split()) >= 8)
    )


def sparse(text: str, duration_s: float) -> bool:
    """True when ``text``, its loops collapsed, has under 2 words per second of ``duration_s``: the
    loop swallowed speech (Vietnamese speech runs at 3-6 syllables per second)."""
    return len(collapse_loops(text).split()) < MIN_WORDS_PER_S * duration_s


def loop_swallowed_speech(text: str, ratio: float, duration_s: float, opts: TranscribeOptions) -> bool:
    """True for a text (of a segment or a chunk of ``duration_s`` seconds) that loops and whose loop swallowed
    speech: decode it again."""
    return suspect(text, ratio, opts) and sparse(text, duration_s)


def needs_redecode(seg: Segment, opts: TranscribeOptions) -> bool:
    """:func:`loop_swallowed_speech` for a segment."""
    return loop_swallowed_speech(seg.text, seg.compression_ratio, seg.end - seg.start, opts)


def compression_ratio(text: str) -> float:
    """gzip-style ratio of ``text`` (bytes / zlib-compressed bytes), as Whisper computes it."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def prefix_before_loop(tokenizer: Any, tokens: list[int]) -> list[int]:
    """The tokens of ``tokens`` before the first loop's first word ([] when it starts the text).

    ``tokenizer``: anything with ``decode(list[int]) -> str`` (faster-whisper's ``Tokenizer``)."""
    loops = find_loops(tokenizer.decode(tokens))
    if not loops or loops[0].start == 0:
        return []
    for j in range(1, len(tokens) + 1):
        if len(tokenizer.decode(tokens[:j]).split()) > loops[0].start:
            return list(tokens[: j - 1])
    return []


def token_cap(opts: TranscribeOptions, duration_s: float, rate: float | None = None) -> int:
    """Most tokens (timestamps included) that ``duration_s`` seconds of speech need: loops run past it.

    ``rate``: tokens per second (default ``opts.redecode_tokens_per_s``)."""
    return 16 + int((opts.redecode_tokens_per_s if rate is None else rate) * duration_s)


def max_length(model_max_length: int, n_prompt: int, n_prefix: int, n_new: int) -> int | None:
    """CTranslate2's ``max_length`` that lets Whisper emit ``n_prefix + n_new`` tokens, or None when only the
    model's own limit applies.

    CTranslate2 emits at most ``max_length // 2`` tokens (a forced prefix included; OpenAI's ``sample_len``)
    and at most ``max_length - prompt + 1`` (measured with CTranslate2 4.8): 448 gives Whisper's 224 tokens.
    (faster-whisper's ``max_new_tokens`` sets ``max_length = prompt + max_new_tokens``: alone, it allows
    half as many.)
    """
    need = n_prefix + n_new
    length = max(2 * need, n_prompt + need - 1)
    return None if length >= model_max_length else length


def collapse_segment(seg: Segment) -> Segment:
    """``seg`` with its repetition loops collapsed to one copy, flagged ``"repetition_repaired"``; the words of
    the removed copies are dropped and their duration added to ``dropped_s``. A segment without a loop is
    returned as it is."""
    if not has_loop(seg.text):
        return seg
    words = seg.words
    dropped_s = 0.0
    if words:
        spans = loop_word_spans(" ".join(w.text.strip() for w in words))
        drop = {i for a, b in spans for i in range(a, b)}
        dropped_s = sum(max(0.0, w.end - w.start) for i, w in enumerate(words) if i in drop)
        words = tuple(w for i, w in enumerate(words) if i not in drop)
    else:  # no word timings: the share of the words removed, of the segment's duration
        n_before, n_after = len(seg.text.split()), len(collapse_loops(seg.text).split())
        dropped_s = (seg.end - seg.start) * (n_before - n_after) / max(1, n_before)
    logger.info("Collapsed a repetition loop at %.1f-%.1f s", seg.start, seg.end)
    return replace(
        seg,
        text=collapse_loops(seg.text),
        words=words,
        dropped_s=round(seg.dropped_s + dropped_s, 3),
        flags=(*seg.flags, "repetition_repaired"),
    )


def is_repeated(text: str, last_texts: list[str], max_same: int = 2, min_words: int = 4) -> bool:
    """True for the third (and later) consecutive segment with the same text of 4+ words: the
    decoder copying itself over silence, not people speaking. ``last_texts`` is the state (updated)."""
    key = " ".join(text.casefold().split())
    repeated = (
        len(key.split()) >= min_words and len(last_texts) >= max_same and all(t == key for t in last_texts[-max_same:])
    )
    last_texts.append(key)
    del last_texts[:-max_same]
    return repeated


def uncovered_speech(
    speech: Sequence[tuple[float, float]], covered: Sequence[tuple[float, float]], min_speech_s: float
) -> list[tuple[float, float]]:
    """Stretches of ``speech`` that no span of ``covered`` overlaps, holding ``min_speech_s`` seconds of speech
    or more.

    Args:
        speech: speech regions (start, end), seconds, in time order (Silero VAD's).
        covered: spans of the segments (start, end), seconds, in time order.
        min_speech_s: least speech in a stretch, seconds.

    Returns:
        (start, end) of each stretch, seconds: from the first to the last moment of speech between two
        segments (or before the first, after the last).
    """
    bounds = [(float("-inf"), float("-inf")), *sorted(covered), (float("inf"), float("inf"))]
    out: list[tuple[float, float]] = []
    for (_, prev_end), (next_start, _) in zip(bounds, bounds[1:], strict=False):
        lo, hi = max(prev_end, float("-inf")), next_start
        parts = [(max(a, lo), min(b, hi)) for a, b in speech if b > lo and a < hi]
        parts = [(a, b) for a, b in parts if b > a]
        if parts and sum(b - a for a, b in parts) >= min_speech_s:
            out.append((parts[0][0], parts[-1][1]))
    return out


def speech_pieces(
    span: tuple[float, float], speech: Sequence[tuple[float, float]], max_s: float = MAX_CLIP_S
) -> list[tuple[float, float]]:
    """``span`` cut into clips of at most ``max_s`` seconds, at the starts of speech regions where it can be
    (hard cuts otherwise)."""
    start, end = span
    starts = sorted(a for a, _ in speech if start < a < end)
    out: list[tuple[float, float]] = []
    while end - start > max_s:
        inside = [a for a in starts if start + 1.0 < a <= start + max_s]
        cut = inside[-1] if inside else start + max_s
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def clamp_segment(seg: Segment, lo: float, hi: float) -> Segment | None:
    """``seg`` kept within ``[lo, hi]`` seconds (the audio that was decoded): times clamped, words outside
    dropped (and the text rebuilt from the words left); None when less than half of it lies inside (Whisper
    invents text on a fraction of a second of audio, e.g. at the end of a resumed recording).
    """
    inside = min(seg.end, hi) - max(seg.start, lo)
    if inside < 0.05 or inside < 0.5 * (seg.end - seg.start):
        logger.info(
            "Dropped a segment at %.2f-%.2f s outside the audio (%.2f-%.2f s): %r",
            seg.start,
            seg.end,
            lo,
            hi,
            seg.text[:80],
        )
        return None
    if lo <= seg.start and seg.end <= hi:
        return seg
    words = tuple(
        Word(max(w.start, lo), min(w.end, hi), w.text, w.probability) for w in seg.words if w.start < hi and w.end > lo
    )
    text = "".join(w.text for w in words).strip() if seg.words else seg.text
    logger.info("Clamped a segment at %.2f-%.2f s to the audio's %.2f-%.2f s", seg.start, seg.end, lo, hi)
    return replace(seg, start=round(max(seg.start, lo), 3), end=round(min(seg.end, hi), 3), text=text, words=words)


def original_time(t: float, regions: Sequence[tuple[float, float]]) -> float:
    """Where ``t`` seconds into the concatenated ``regions`` (VAD speech, seconds, in time order) lie in the
    audio they were cut from (the batched pipeline decodes the speech regions joined end to end)."""
    done = 0.0
    for a, b in regions:
        if t <= done + (b - a):
            return a + max(0.0, t - done)
        done += b - a
    return regions[-1][1] if regions else t
