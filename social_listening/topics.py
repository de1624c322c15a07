"""Topic tagging of comments about provincial public matters, by a Vietnamese keyword lexicon.

Topics (:data:`TOPICS`): tourism, traffic, environment, public_services, health, education,
agriculture, land_planning, security_order, prices, and ``other`` when nothing matches. The lexicon is
``data/topics.tsv`` (keywords with diacritics; the diacritics-free form of each keyword is matched
against the diacritics-free text as well, so "sat lo deo Prenn" is tagged ``traffic``).

A learned tagger can replace this once the center has labelled posts by topic; the seed set carries a
``topic`` column for that purpose.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

from social_listening.normalize import normalize, strip_diacritics

__all__ = ["TOPICS", "tag_topics"]

TOPICS: tuple[str, ...] = (
    "tourism",
    "traffic",
    "environment",
    "public_services",
    "health",
    "education",
    "agriculture",
    "land_planning",
    "security_order",
    "prices",
    "other",
)

# Short stripped keywords collide with unrelated words once tone marks are gone ("giá" -> "gia" =
# family, "rác" -> "rac"); those are only matched with their diacritics.
_MIN_STRIPPED_CHARS = 5


@functools.cache
def _matchers() -> tuple[tuple[re.Pattern[str], dict[str, frozenset[str]]], ...]:
    """(pattern, keyword -> topics) for accented keywords, then for diacritics-free ones.

    One alternation per view, longest keyword first; a keyword's topics include those of every shorter
    keyword it contains as whole words ("giá đất" -> land_planning and prices), so a single pass with
    non-overlapping matches tags the same topics as matching every keyword separately.
    """
    path = resources.files("social_listening").joinpath("data").joinpath("topics.tsv")
    text = path.read_text(encoding="utf-8")
    accented: dict[str, set[str]] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        topic, sep, words = line.partition("\t")
        if not sep or topic not in TOPICS or topic == "other":
            raise ValueError(f"topics.tsv:{lineno}: expected '<topic><TAB>keywords'. Got: {line!r:.80}")
        for word in words.split(","):
            word = normalize(unicodedata.normalize("NFC", word.strip()))
            if word:
                accented.setdefault(word, set()).add(topic)
    stripped: dict[str, set[str]] = {}
    for word, topics in accented.items():
        # Short stripped keywords collide with other words once tone marks are gone.
        if len(word) >= _MIN_STRIPPED_CHARS or " " in word:
            stripped.setdefault(strip_diacritics(word), set()).update(topics)

    def build(table: dict[str, set[str]]) -> tuple[re.Pattern[str], dict[str, frozenset[str]]]:
        words = sorted(table, key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")
        closed: dict[str, frozenset[str]] = {}
        for word in words:
            topics = set(table[word])
            if " " in word:
                for other in table:
                    if (
                        other != word
                        and len(other) < len(word)
                        and re.search(r"(?<!\w)" + re.escape(other) + r"(?!\w)", word)
                    ):
                        topics |= table[other]
            closed[word] = frozenset(topics)
        return pattern, closed

    return build(accented), build(stripped)


def tag_topics(text: str) -> list[str]:
    """Topics of one comment, in :data:`TOPICS` order; ``["other"]`` when no keyword matches.

    Example::

        >>> tag_topics("Đèo Prenn sạt lở, kẹt xe cả tiếng")
        ['traffic']
        >>> tag_topics("gia phong khach san dip le hoi bi chat chem")
        ['tourism', 'prices']
    """
    normalized = normalize(text)
    (plain, plain_topics), (loose, loose_topics) = _matchers()
    found: set[str] = set()
    for match in plain.finditer(normalized):
        found |= plain_topics[match.group(0)]
    for match in loose.finditer(strip_diacritics(normalized)):
        found |= loose_topics[match.group(0)]
    return [t for t in TOPICS if t in found] or ["other"]
