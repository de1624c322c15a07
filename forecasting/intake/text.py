"""Text folding (case, diacritics, spaces) and the header vocabulary, Vietnamese and English."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

__all__ = ["cell_text", "column_letter", "fold", "header_role", "is_footer", "nfc"]

_SPACES = re.compile(r"\s+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def nfc(text: str) -> str:
    """NFC, non-breaking and other odd spaces made plain, runs of spaces collapsed, stripped."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Lower case, without diacritics (``đ`` -> ``d``), single spaces: ``"Mã  Chỉ tiêu"`` -> ``"ma chi tieu"``."""
    t = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return _SPACES.sub(" ", t).strip()


def cell_text(value: Any) -> str:
    """A cell as the user sees it (NFC text; integral floats without ``.0``; dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return nfc(str(value))


def column_letter(index: int) -> str:
    """0-based column index -> spreadsheet letter (0 -> ``A``, 26 -> ``AA``)."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


# Folded header (parenthesised parts and trailing punctuation removed) -> role.
_ROLES: dict[str, str] = {}
for _role, _terms in {
    "period": (
        "ky",
        "ky bao cao",
        "ky du lieu",
        "thoi gian",
        "thoi ky",
        "thoi diem",
        "thang/nam",
        "quy/nam",
        "period",
        "ds",
        "date",
        "time",
        "ngay",
    ),
    "year": ("nam", "year"),
    "month": ("thang", "month"),
    "quarter": ("quy", "quarter"),
    "value": (
        "gia tri",
        "so lieu",
        "value",
        "values",
        "y",
        "thuc hien",
        "so thuc hien",
        "gia tri thuc hien",
        "uoc thuc hien",
        "uoc tinh",
    ),
    "code": (
        "ma",
        "ma chi tieu",
        "ma so",
        "ma ct",
        "code",
        "indicator code",
        "indicator_code",
        "unique_id",
        "series_id",
        "series",
        "id",
    ),
    "name": ("chi tieu", "ten chi tieu", "ten", "noi dung", "indicator", "indicator name", "name"),
    "unit": ("don vi tinh", "dvt", "don vi", "unit"),
    "ignored": ("stt", "tt", "so tt", "so thu tu", "ghi chu", "note", "notes", "nguon", "source", "no", "#"),
}.items():
    for _t in _terms:
        _ROLES[_t] = _role


def header_key(text: str) -> str:
    """The folded header without parenthesised parts (``"Giá trị (tỷ đồng)"`` -> ``"gia tri"``), a unit after a
    comma, or trailing ``:``/``*``/``.``."""
    t = fold(_PARENS.sub(" ", text))
    t = t.split(",")[0]
    return t.strip(" :*.").strip()


def header_role(text: str) -> str | None:
    """The role a header cell names (see :data:`_ROLES`), or None."""
    key = header_key(text)
    if not key:
        return None
    return _ROLES.get(key) or _ROLES.get(key.replace("_", " "))


# A note needs its colon ("Ghi chú:", "Nguồn:"): "Nguồn vốn đầu tư" is an indicator. Signatures and the
# place-date line are footers only in a row without numbers (checked by the caller).
_NOTE = re.compile(r"^\W*(?:ghi chu|chu thich|chu y|nguon(?: so lieu)?|note|notes|source|sources)\s*:")
_MARK = re.compile(r"^(?:\(\*+\)|\*+|\(\d+\))")
_SIGNATURE = re.compile(
    r"^(?:\W*(?:kt\.?|tl\.?|tm\.?)\s*)?(?:nguoi lap|lap bieu|thu truong|giam doc|ky ten|ky, ghi ro)"
)
_PLACE_DATE = re.compile(r"(?:^|, )ngay \d{1,2} thang \d{1,2} nam \d{4}")
_FOOTER_START = ("(", "*", "ghi", "chú", "chu", "nguồn", "nguon", "note", "source", "người", "nguoi", "thủ", "thu",
                 "giám", "giam", "ký", "ky", "lập", "lap", "kt", "tl", "tm")  # fmt: skip


def is_footer(text: str, single: bool) -> bool:
    """Whether a row starts a trailing note or signature block: "Ghi chú: ...", "Nguồn: ...", "(*) Số liệu
    sơ bộ" (alone on its row), "Người lập biểu", "KT. GIÁM ĐỐC", "Đà Lạt, ngày 5 tháng 7 năm 2024".

    Args:
        text: the row's first non-empty cell.
        single: the row has no numbers (signatures and marks count only then).
    """
    low = text.lstrip().lower()
    if not low.startswith(_FOOTER_START) and ", ng" not in low:
        return False  # cheap: most first cells are codes, names or periods
    t = fold(text)
    if _NOTE.match(t):
        return True
    return single and bool(_MARK.match(t) or _SIGNATURE.match(t) or _PLACE_DATE.search(t))
