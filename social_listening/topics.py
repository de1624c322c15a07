"""Topic tagging of comments about provincial public matters, by a Vietnamese keyword lexicon.

Topics (:data:`TOPICS`, stable ASCII codes; Vietnamese display names in :data:`TOPIC_NAMES`): tourism,
traffic, fires and accidents, natural disasters, environment, administrative procedures and public
services, corruption and officials' conduct, infrastructure (electricity, water, drainage, telecoms),
health, education, labour and social welfare, agriculture, land / planning / construction, security and
order, prices and markets, and ``other`` when nothing matches.

The lexicon is ``data/topics.tsv``: keywords with diacritics, matched as whole words on the
:func:`~social_listening.normalize.normalize`\\ d text (teencode already expanded: "pccc", "tngt", "bv").
Keywords of five or more characters, or of several words, are also matched without their diacritics, at
places where the writer typed no tone marks or only some of them ("chay cho Da Lat" and "cháy chợ Đà Lat"
are fires), but not where the marks typed are different ones ("chạy chợ" is not "cháy chợ").

A learned tagger can replace this once the center has labelled posts by topic; the seed set carries a
``topic`` column for that purpose.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType

from social_listening.normalize import normalize, strip_diacritics

__all__ = ["TOPICS", "TOPIC_NAMES", "tag_topics", "topic_name"]

TOPIC_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "tourism": "Du lịch",
        "traffic": "Giao thông",
        "fire_accident": "Cháy nổ, tai nạn",
        "natural_disaster": "Thiên tai (sạt lở, lũ lụt, hạn hán, giông bão)",
        "environment": "Môi trường",
        "public_services": "Thủ tục hành chính, dịch vụ công",
        "corruption_conduct": "Tham nhũng, tiêu cực, tác phong cán bộ",
        "infrastructure": "Hạ tầng: điện, nước, thoát nước, viễn thông",
        "health": "Y tế",
        "education": "Giáo dục",
        "social_welfare": "Lao động, việc làm, an sinh xã hội",
        "agriculture": "Nông nghiệp",
        "land_planning": "Đất đai, quy hoạch, xây dựng",
        "security_order": "An ninh, trật tự",
        "prices": "Giá cả, thị trường",
        "other": "Khác",
    }
)
"""Vietnamese display name of every topic code, in :data:`TOPICS` order."""

TOPICS: tuple[str, ...] = tuple(TOPIC_NAMES)
"""Topic codes (stable ASCII ids stored with posts), in the order :func:`tag_topics` returns them.
Codes of earlier versions keep their meaning; ``fire_accident``, ``natural_disaster``,
``corruption_conduct``, ``infrastructure`` and ``social_welfare`` were added (electricity and water moved
from ``public_services`` to ``infrastructure``; landslides and floods from ``traffic`` and ``environment`` to
``natural_disaster``; fires from ``security_order`` to ``fire_accident``)."""

# Short stripped keywords collide with unrelated words once tone marks are gone ("giá" -> "gia" =
# family, "rác" -> "rac"); those are only matched with their diacritics.
_MIN_STRIPPED_CHARS = 5
_ACCENTED_ONLY = "="

_Table = dict[str, frozenset[str]]
# Diacritics-free keyword -> its accented spellings and the topics of each.
_LooseTable = dict[str, tuple[tuple[str, frozenset[str]], ...]]


def topic_name(code: str) -> str:
    """Vietnamese display name of a topic code; unknown codes (e.g. from an older lexicon) are returned as is.

    Example::

        >>> topic_name("fire_accident")
        'Cháy nổ, tai nạn'
    """
    return TOPIC_NAMES.get(code, code)


def _read_lexicon() -> tuple[dict[str, set[str]], set[str]]:
    path = resources.files("social_listening").joinpath("data").joinpath("topics.tsv")
    text = path.read_text(encoding="utf-8")
    accented: dict[str, set[str]] = {}
    accented_only: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        topic, sep, words = line.partition("\t")
        if not sep or topic not in TOPICS or topic == "other":
            raise ValueError(
                f"topics.tsv:{lineno}: expected '<topic><TAB>keywords' with a topic from {TOPICS[:-1]}. "
                f"Got: {line!r:.80}"
            )
        for raw in words.split(","):
            raw = unicodedata.normalize("NFC", raw.strip())
            only = raw.startswith(_ACCENTED_ONLY)
            word = normalize(raw.removeprefix(_ACCENTED_ONLY))
            if word:
                accented.setdefault(word, set()).add(topic)
                if only:
                    accented_only.add(word)
    return accented, accented_only


def _closed(table: dict[str, set[str]]) -> _Table:
    """Each keyword's topics plus those of every shorter keyword it contains as whole words ("giá đất"
    -> land_planning and prices), so that one pass of non-overlapping longest matches tags the same
    topics as matching every keyword separately."""
    closed: _Table = {}
    for word, topics in table.items():
        found = set(topics)
        if " " in word:
            for other, more in table.items():
                if (
                    other != word
                    and len(other) < len(word)
                    and other in word  # cheap test first: the regex below runs for few pairs
                    and re.search(rf"(?<!\w){re.escape(other)}(?!\w)", word)
                ):
                    found |= more
        closed[word] = frozenset(found)
    return closed


def _alternation(words: list[str]) -> re.Pattern[str]:
    words = sorted(words, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)")


@functools.cache
def _matchers() -> tuple[re.Pattern[str], _Table, re.Pattern[str], _LooseTable]:
    """(accented pattern, accented keyword -> topics, diacritics-free pattern, stripped keyword ->
    accented spellings with their topics)."""
    accented, accented_only = _read_lexicon()
    closed = _closed(accented)
    loose: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for word, topics in closed.items():
        if word in accented_only or (len(word) < _MIN_STRIPPED_CHARS and " " not in word):
            continue
        loose.setdefault(strip_diacritics(word), []).append((word, topics))
    loose_table: _LooseTable = {key: tuple(variants) for key, variants in loose.items()}
    return _alternation(list(closed)), closed, _alternation(list(loose_table)), loose_table


def _marks(char: str) -> tuple[str, frozenset[str]]:
    """(base letter, combining marks) of one character; "đ" is "d" with a bar."""
    if char in "đĐ":
        return "d", frozenset({"bar"})
    decomposed = unicodedata.normalize("NFD", char)
    return decomposed[0].lower(), frozenset(c for c in decomposed[1:] if unicodedata.combining(c))


def _compatible(typed: str, keyword: str) -> bool:
    """True when ``typed`` is ``keyword`` with some (or all) of its diacritics left out, none changed."""
    if len(typed) != len(keyword):
        return False
    for a, b in zip(typed, keyword, strict=True):
        if a != b:
            base_a, marks_a = _marks(a)
            base_b, marks_b = _marks(b)
            if base_a != base_b or not marks_a <= marks_b:
                return False
    return True


def tag_topics(text: str) -> list[str]:
    """Topics of one comment, in :data:`TOPICS` order; ``["other"]`` when no keyword matches.

    Example::

        >>> tag_topics("Đèo Prenn sạt lở, kẹt xe cả tiếng")
        ['traffic', 'natural_disaster']
        >>> tag_topics("gia phong khach san dip le hoi bi chat chem")
        ['tourism', 'prices']
        >>> tag_topics("Cháy chợ Đà Lạt lúc rạng sáng, lửa bốc cao")
        ['fire_accident']
    """
    normalized = normalize(text)
    plain, plain_topics, loose, loose_topics = _matchers()
    found: set[str] = set()
    for match in plain.finditer(normalized):
        found |= plain_topics[match.group(0)]
    stripped = strip_diacritics(normalized)
    aligned = len(stripped) == len(normalized)  # always for Vietnamese; kept as a guard
    for match in loose.finditer(stripped):
        typed = normalized[match.start() : match.end()] if aligned else match.group(0)
        for word, topics in loose_topics[match.group(0)]:
            if not aligned or _compatible(typed, word):
                found |= topics
    return [t for t in TOPICS if t in found] or ["other"]
