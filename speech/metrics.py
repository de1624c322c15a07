"""Transcript accuracy: word error rate over NFC-lowercased words without punctuation."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["word_error_rate", "words"]

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of ``text`` as scored: NFC, lowercase, punctuation removed."""
    return _PUNCT.sub(" ", unicodedata.normalize("NFC", text).lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words; 0.0 is perfect, can exceed 1.0.

    >>> word_error_rate("Đà Lạt đón khách", "đà lạt đón khách.")
    0.0
    """
    ref, hyp = words(reference), words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(ref))
