"""Transcript values: words, segments and whole transcripts (frozen dataclasses, times in seconds)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

__all__ = ["REPAIR_FLAGS", "Segment", "Transcript", "Word"]

#: Flags of a segment whose text a repair changed (see :attr:`Segment.flags`).
REPAIR_FLAGS = ("repetition_repaired", "repetition_redecoded", "gap_recovered")


@dataclass(frozen=True)
class Word:
    """One recognised word (a Vietnamese syllable, usually) with its timing.

    Attributes:
        start: start time, seconds from the beginning of the recording.
        end: end time, seconds.
        text: the word as decoded, NFC, usually with a leading space.
        probability: the model's probability of the word, 0..1.
    """

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    """A stretch of transcribed speech.

    Attributes:
        start: start time, seconds from the beginning of the recording.
        end: end time, seconds.
        text: the text, NFC, stripped.
        speaker: speaker label (``"Người nói 1"``, ...) or None before diarization.
        words: word timings (empty when word timestamps were off).
        avg_logprob: mean log-probability of the decoded tokens (a confidence; higher is better).
        no_speech_prob: the model's probability that the segment holds no speech, 0..1.
        compression_ratio: gzip ratio of the text; above ~2.4 the text is suspiciously repetitive.
        flags: quality notes, for an editor to show:

            - ``"repetition_repaired"``: a repetition loop was collapsed to one copy (text removed, see
              ``dropped_s``);
            - ``"repetition_redecoded"``: the passage looped and was decoded again (the text is the second
              decoding's, greedy: check it against the audio);
            - ``"gap_recovered"``: speech the first decoding skipped, decoded again on its own.
        dropped_s: seconds of audio whose text a repair removed (the copies of a collapsed loop), 0 when none.

    Uncertain words: each :class:`Word` keeps its ``probability`` (Whisper base gives under 0.5 to about a
    third of the words of a hard recording).
    """

    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    flags: tuple[str, ...] = ()
    dropped_s: float = 0.0

    @property
    def repaired(self) -> bool:
        """True when the text is not the first decoding's: a loop was collapsed or the passage decoded again."""
        return any(f in REPAIR_FLAGS for f in self.flags)

    def with_speaker(self, speaker: str | None) -> Segment:
        """A copy labelled with ``speaker``."""
        return replace(self, speaker=speaker)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: start, end, speaker, text, flags, dropped_s and words (start, end, text,
        probability): what :meth:`from_dict` reads back (the decoder's scores are not kept)."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "speaker": self.speaker,
            "text": self.text,
            "flags": list(self.flags),
            "dropped_s": round(self.dropped_s, 3),
            "words": [
                {
                    "start": round(w.start, 3),
                    "end": round(w.end, 3),
                    "text": w.text,
                    "probability": round(w.probability, 4),
                }
                for w in self.words
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        """Inverse of :meth:`to_dict` (only ``start``, ``end`` and ``text`` are required)."""
        return cls(
            start=float(d["start"]),
            end=float(d["end"]),
            text=unicodedata.normalize("NFC", str(d["text"])),
            speaker=d.get("speaker"),
            words=tuple(
                Word(
                    float(w["start"]),
                    float(w["end"]),
                    unicodedata.normalize("NFC", str(w["text"] if "text" in w else w["word"])),  # faster-whisper's key
                    float(w.get("probability", 1.0)),
                )
                for w in d.get("words") or ()
            ),
            flags=tuple(d.get("flags") or ()),
            dropped_s=float(d.get("dropped_s") or 0.0),
        )


@dataclass(frozen=True)
class Transcript:
    """A whole transcript, as exported.

    Attributes:
        title: meeting title, e.g. ``"Họp UBND tỉnh tháng 6"``.
        created_at: when the meeting (or the upload) took place.
        duration_s: recording length, seconds.
        segments: segments in time order.
        language: ISO 639-1 code of the transcript, ``"vi"`` by default.
    """

    title: str
    created_at: datetime
    duration_s: float
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    language: str = "vi"

    @property
    def speakers(self) -> tuple[str, ...]:
        """Speaker labels in order of first appearance."""
        seen: dict[str, None] = {}
        for s in self.segments:
            if s.speaker:
                seen.setdefault(s.speaker, None)
        return tuple(seen)

    @property
    def text(self) -> str:
        """The plain text: segment texts joined by spaces."""
        return " ".join(s.text for s in self.segments if s.text)
