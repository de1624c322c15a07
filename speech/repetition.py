"""Detect and repair decoder repetition loops ("tình tình tình tình ...").

Whisper, especially the small models on noisy or synthetic Vietnamese, sometimes gets stuck emitting
the same word or phrase until the token limit. A loop is an n-gram (n words) repeated back to back
more often than speech plausibly does: Vietnamese reduplicates freely ("từ từ", "dần dần", "rất rất"),
so a single word must come ``min_repeats_word`` times (4 by default) and a phrase of 2+ words
``min_repeats_phrase`` times (3) before it counts. Repair keeps one copy.

Example::

    >>> find_loops("kinh tế tình tình tình tình tình tình hình")
    [Loop(start=2, ngram=1, repeats=6, text='tình')]
    >>> collapse_loops("kinh tế tình tình tình tình tình tình hình")
    'kinh tế tình hình'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["Loop", "collapse_loops", "find_loops", "has_loop"]

_PUNCT = ".,;:!?…\"'“”()[]{}-–—"


@dataclass(frozen=True)
class Loop:
    """A repeated n-gram found in a text.

    Attributes:
        start: index of the first word of the loop (whitespace tokens).
        ngram: words per repeated unit.
        repeats: how many times the unit occurs back to back (>= 2).
        text: the repeated unit.
    """

    start: int
    ngram: int
    repeats: int
    text: str


def _key(token: str) -> str:
    return unicodedata.normalize("NFC", token).strip(_PUNCT).casefold()


def find_loops(text: str, *, max_ngram: int = 8, min_repeats_word: int = 4, min_repeats_phrase: int = 3) -> list[Loop]:
    """Find back-to-back repeated n-grams in ``text`` (case and punctuation ignored).

    Args:
        text: the decoded text.
        max_ngram: longest repeated unit searched, words.
        min_repeats_word: a single word must repeat this many times to be a loop.
        min_repeats_phrase: a unit of 2+ words must repeat this many times.

    Returns:
        Non-overlapping loops in text order (the one covering the most words wins an overlap).
    """
    tokens = text.split()
    keys = [_key(t) for t in tokens]
    n_tok = len(keys)
    found: list[Loop] = []
    i = 0
    while i < n_tok:
        best: Loop | None = None
        for n in range(1, max_ngram + 1):
            if i + 2 * n > n_tok:
                break
            unit = keys[i : i + n]
            if not any(unit):
                continue
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == unit:
                reps += 1
            need = min_repeats_word if n == 1 else min_repeats_phrase
            if reps >= need and (best is None or reps * n > best.repeats * best.ngram):
                best = Loop(start=i, ngram=n, repeats=reps, text=" ".join(tokens[i : i + n]))
        if best is not None:
            found.append(best)
            i += best.repeats * best.ngram
        else:
            i += 1
    return found


def has_loop(text: str, **kwargs: int) -> bool:
    """True when :func:`find_loops` finds at least one loop."""
    return bool(find_loops(text, **kwargs))


def collapse_loops(text: str, **kwargs: int) -> str:
    """Replace each loop in ``text`` by one copy of its unit; other words are kept as they are.

    Trailing punctuation of the loop's last copy is kept, so "tình tình tình tình." gives "tình.".
    """
    loops = find_loops(text, **kwargs)
    if not loops:
        return text
    tokens = text.split()
    out: list[str] = []
    i = 0
    for loop in loops:
        out.extend(tokens[i : loop.start])
        unit = tokens[loop.start : loop.start + loop.ngram]
        end = loop.start + loop.repeats * loop.ngram
        last = tokens[end - 1]
        tail = last[len(last.rstrip(_PUNCT)) :]
        if tail and not unit[-1].endswith(tail):
            unit = [*unit[:-1], unit[-1].rstrip(_PUNCT) + tail]
        out.extend(unit)
        i = end
    out.extend(tokens[i:])
    return " ".join(out)


def loop_word_spans(text: str, **kwargs: int) -> list[tuple[int, int]]:
    """Word index ranges ``[start, end)`` that :func:`collapse_loops` removes (all copies but the first)."""
    return [(loop.start + loop.ngram, loop.start + loop.repeats * loop.ngram) for loop in find_loops(text, **kwargs)]
