"""Text normalisation for Vietnamese social-media comments.

One function, :func:`normalize`, used identically when training and serving:

1. Unicode NFC (composed characters), surrogates/control characters removed;
2. URLs, e-mail addresses, @mentions and phone numbers masked (``urltoken``, ``emailtoken``,
   ``mentiontoken``, ``phonetoken``);
3. emoji and emoticons mapped to sentiment tokens (``emopos``, ``emoneg``, ``emolaugh``,
   ``emoneu``; table in ``data/emoji.tsv``);
4. lowercase; letters repeated three or more times collapsed ("quaaaa" -> "qua");
5. punctuation removed except ``?`` and ``!``, which become their own tokens;
6. per token: tone-mark placement unified to one style with underthesea's token normaliser
   ("hoà" -> "hòa", "thuỷ" -> "thủy"), then the teencode / English dictionary
   (``data/teencode.tsv``: "ko" -> "không", "dc" -> "được", "mn" -> "mọi người", ...); in a text typed
   without any diacritics the expansions are diacritics-free too ("bv da lat" -> "benh vien da lat"),
   matching the diacritics-free copies the classifier is trained on.

:func:`strip_diacritics` gives the diacritics-free view ("Đà Lạt" -> "Da Lat") so that text typed
without tone marks can be matched and trained on.

Example::

    >>> normalize("Đường lên Trại Mát sạt lở rồi, mn ko đi dc đâu 😡😡 https://fb.com/x")
    'đường lên trại mát sạt lở rồi mọi người không đi được đâu emoneg urltoken'
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from importlib import resources

from social_listening.errors import TextError

__all__ = ["DEFAULT_MAX_CHARS", "normalize", "strip_diacritics", "validate_text", "validate_texts"]

DEFAULT_MAX_CHARS = 5000
"""Default upper bound on the length of one text, in characters (after NFC)."""

SPECIAL_TOKENS = frozenset(
    {"urltoken", "emailtoken", "mentiontoken", "phonetoken", "emopos", "emoneg", "emolaugh", "emoneu"}
)

_TLDS = (".com", ".vn", ".net", ".org", ".ly", ".me")
_DIGITS_RE = re.compile(r"\d{8}|\d[\s.-]?\d{3}")
_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|vn|net|org|gov\.vn|ly|me)(?:/\S*)?\b", re.I)
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MENTION_RE = re.compile(r"(?<!\w)@[\w.]+")
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.-]?\d){8,10}(?!\d)")
_LAUGH_RE = re.compile(r"(?<![\w:])[:=]\){2,}|(?<!\w)[:=]\]{2,}")
_CRY_RE = re.compile(r"(?<![\w:])[:=]\({2,}")
_EMOTICON_HINT_RE = re.compile(r"[:=^<-]")
_SYMBOL_HINT_RE = re.compile("[\u2190-\U0010ffff]")
_TRIPLE_RE = re.compile(r"(.)\1\1")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")
_PUNCT_RE = re.compile(r"[^\w\s?!]+|_")
_QE_RE = re.compile(r"([?!])[?!]*")
_CONTROL_RE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\ufeff\ufe0f\ufe0e]")
# Emoji not in the table are dropped (ranges of pictographs, symbols, flags, skin tones, ZWJ).
_OTHER_EMOJI_RE = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\U0001f1e6-\U0001f1ff\u200d\u20e3]"
)


def _read_table(name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    text = resources.files("social_listening").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("\t")
        if not sep:
            raise ValueError(f"{name}:{lineno}: expected 'token<TAB>replacement'. Got: {line!r}")
        table[unicodedata.normalize("NFC", key)] = unicodedata.normalize("NFC", value)
    return table


@functools.cache
def _emoji_patterns() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    """(single-character emoji class, emoticon alternation, symbol -> token)."""
    table = _read_table("emoji.tsv")
    table = {k.replace("\ufe0f", ""): v for k, v in table.items()}
    chars = [k for k in table if len(k) == 1 and not k.isascii()]
    emoticons = sorted((k for k in table if k.isascii()), key=len, reverse=True)
    char_re = re.compile("[" + "".join(re.escape(c) for c in chars) + "]")
    # Emoticons must not sit inside a word or a longer run of punctuation.
    emoticon_re = re.compile(r"(?<![\w:])(?:" + "|".join(re.escape(e) for e in emoticons) + r")(?![\w)(])")
    return char_re, emoticon_re, table


@functools.cache
def _teencode() -> dict[str, str]:
    return _read_table("teencode.tsv")


@functools.cache
def _tone_normalizer() -> Callable[[str], str]:
    # underthesea's per-token normaliser (the core of its text_normalize): character map + token map
    # for old/new tone placement. Imported lazily: importing underthesea takes a few seconds.
    from underthesea.pipeline.text_normalize import token_normalize

    return token_normalize  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=262144)
def _normalize_token(token: str, plain: bool = False) -> str:
    if token in SPECIAL_TOKENS:
        return token
    token = _tone_normalizer()(token)
    expanded = _teencode().get(token, token)
    # In a text typed without tone marks the expansion stays without them ("bv da lat" -> "benh vien da
    # lat", not "bệnh viện da lat"): mixed text makes n-grams ("viện da") that no training text has.
    return strip_diacritics(expanded) if plain and expanded != token else expanded


def _emoji_sub(match: re.Match[str]) -> str:
    return " " + _emoji_patterns()[2][match.group(0)] + " "


def normalize(text: str) -> str:
    """Normalise one comment for classification, topic tagging and storage-independent matching.

    Args:
        text: raw comment (any case, tone-mark style, teencode, emoji).

    Returns:
        Lowercase NFC text, tokens separated by single spaces (possibly empty).

    Raises:
        TextError: ``text`` is not a ``str``.

    Example::

        >>> normalize("Hoà Bình đẹp quaaaa 😍")
        'hòa bình đẹp qua emopos'
    """
    if not isinstance(text, str):
        raise TextError(f"expected a str, got {type(text).__name__}: {text!r:.60}", reason="not_string")
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_RE.sub(" ", text)
    # Cheap substring tests skip the regex passes that cannot match (most comments have no link).
    if "@" in text:
        text = _EMAIL_RE.sub(" emailtoken ", text)
        text = _MENTION_RE.sub(" mentiontoken ", text)
    if "http" in text or "www." in text or any(tld in text for tld in _TLDS):
        text = _URL_RE.sub(" urltoken ", text)
    if _DIGITS_RE.search(text):
        text = _PHONE_RE.sub(" phonetoken ", text)
    char_re, emoticon_re, _ = _emoji_patterns()
    if _EMOTICON_HINT_RE.search(text):
        text = _LAUGH_RE.sub(" emolaugh ", text)
        text = _CRY_RE.sub(" emoneg ", text)
        text = emoticon_re.sub(_emoji_sub, text)
    if _SYMBOL_HINT_RE.search(text):  # emoji and symbols live above U+2190; Vietnamese letters below
        text = char_re.sub(_emoji_sub, text)
        text = _OTHER_EMOJI_RE.sub(" ", text)
    text = text.lower()
    if _TRIPLE_RE.search(text):
        text = _REPEAT_RE.sub(r"\1", text)
    text = _PUNCT_RE.sub(" ", text)
    text = _QE_RE.sub(r" \1 ", text)
    out: list[str] = []
    previous = ""
    plain = text.isascii() or strip_diacritics(text) == text
    for raw in text.split():
        token = _normalize_token(raw, plain)
        if not token or (token == previous and token in SPECIAL_TOKENS):
            continue  # "😡😡😡" counts once
        out.append(token)
        previous = token
    return " ".join(out)


@functools.cache
def _strip_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0x00C0, 0x1F00):
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
        if base != char and base.isascii():
            table[code] = base
    return table


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese tone marks and vowel diacritics, and map đ -> d.

    Example::

        >>> strip_diacritics("Đà Lạt mộng mơ, hoà bình")
        'Da Lat mong mo, hoa binh'
    """
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_strip_table())
    if text.isascii():
        return text
    # Combining marks left over (e.g. decomposed input that NFC could not compose).
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def validate_text(text: object, *, index: int | None = None, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Check that ``text`` is a usable comment and return it in NFC.

    Args:
        text: the item to check; ``bytes`` are decoded as UTF-8.
        index: position of the item in its batch, named in the error message.
        max_chars: the longest accepted text, in characters.

    Raises:
        TextError: not a string, invalid UTF-8, empty, whitespace only or longer than ``max_chars``.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise TextError(f"expected valid UTF-8 text. Got: {e}", index=index, reason="invalid_utf8") from e
    if not isinstance(text, str):
        raise TextError(f"expected a string. Got: {type(text).__name__} {text!r:.60}", index=index, reason="not_string")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates, e.g. from surrogateescape decoding
        raise TextError(f"expected valid UTF-8 text. Got: {e}", index=index, reason="invalid_utf8") from e
    if len(text) > max_chars:
        raise TextError(
            f"expected at most {max_chars} characters. Got: {len(text)} characters",
            index=index,
            reason="too_long",
        )
    if not text:
        raise TextError("expected a non-empty text. Got: ''", index=index, reason="empty")
    if not text.strip():
        raise TextError(f"expected text, not only whitespace. Got: {text!r:.40}", index=index, reason="whitespace")
    return unicodedata.normalize("NFC", text)


def validate_texts(
    texts: Iterable[object], *, max_chars: int = DEFAULT_MAX_CHARS, max_items: int | None = None
) -> list[str]:
    """Validate a batch with :func:`validate_text`; the error names the first bad item's index.

    Raises:
        TextError: ``texts`` is a single string or not iterable, holds more than ``max_items``
            items (reason ``too_many``), or an item is invalid.
    """
    if isinstance(texts, str | bytes) or not isinstance(texts, Iterable):
        raise TextError(f"expected a list of strings. Got: {type(texts).__name__}", reason="not_string")
    items: Sequence[object] = texts if isinstance(texts, Sequence) else list(texts)
    if max_items is not None and len(items) > max_items:
        raise TextError(f"expected at most {max_items} texts. Got: {len(items)}", reason="too_many")
    return [validate_text(t, index=i, max_chars=max_chars) for i, t in enumerate(items)]
