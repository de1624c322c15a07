"""Search keys for Vietnamese text: lowercase NFC plus a diacritics-free copy, so 'da lat' finds 'Đà Lạt'."""

from __future__ import annotations

import unicodedata


def strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", out.replace("đ", "d").replace("Đ", "D"))


def search_key(text: str) -> str:
    lowered = unicodedata.normalize("NFC", text).lower()
    return f"{lowered}\n{strip_diacritics(lowered)}"


def query_key(query: str) -> str:
    return unicodedata.normalize("NFC", query).lower().strip()
