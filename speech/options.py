"""How to transcribe: :class:`TranscribeOptions`, a frozen dataclass validated at construction.

Example::

    from speech.options import TranscribeOptions

    opts = TranscribeOptions(vocabulary=("Đà Lạt", "Bảo Lộc"), batch_size=4)
    opts.batched_kwargs()["hotwords"]   # 'Đà Lạt, Bảo Lộc'
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

from speech.audio import DEFAULT_MAX_DURATION_S

__all__ = ["CUT_SEARCH_S", "TranscribeOptions"]

#: A window is cut at the quietest moment within this many seconds before its end.
CUT_SEARCH_S = 30.0


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
            Its cost and gain are measured by ``python -m experiments.speech_benchmark``
            (experiments/results/speech_benchmark.md).
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
        fill_gaps: decode again, on their own, stretches of detected speech (Silero VAD) that no segment
            covers: Whisper sometimes ends a 30 s chunk early (end of text with seconds of speech left) or
            skips its first sentence, and the batched pipeline never goes back to them. Recovered segments
            carry the flag ``"gap_recovered"``.
        gap_min_speech_s: uncovered speech shorter than this (seconds, summed over the VAD regions in the
            gap) is left alone (a region's padding and the word timings' slack are a fraction of a second).
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
    fill_gaps: bool = True
    gap_min_speech_s: float = 1.0
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
        if not (math.isfinite(self.gap_min_speech_s) and self.gap_min_speech_s > 0):
            raise ValueError(f"Expected gap_min_speech_s > 0 seconds. Got: {self.gap_min_speech_s!r}.")
        if self.vocabulary_mode not in ("hotwords", "prompt"):
            raise ValueError(f"Expected vocabulary_mode 'hotwords' or 'prompt'. Got: {self.vocabulary_mode!r}.")
        if self.window_s < 2 * CUT_SEARCH_S:
            raise ValueError(f"Expected window_s >= {2 * CUT_SEARCH_S} seconds. Got: {self.window_s!r}.")
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
