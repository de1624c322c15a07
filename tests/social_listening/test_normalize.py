"""Input -> output tables for normalize(), strip_diacritics() and text validation."""

from __future__ import annotations

import pytest

from social_listening import TextError, normalize, strip_diacritics, validate_text, validate_texts

NORMALIZE_TABLE = [
    # NFC: decomposed input (e + combining marks) becomes composed
    ("Vie\u0302\u0323t Nam", "việt nam"),
    # tone-mark placement: old and new styles give the same text
    ("hoà bình", "hòa bình"),
    ("Hòa Bình", "hòa bình"),
    ("thuỷ lợi", "thủy lợi"),
    ("khoẻ không", "khỏe không"),
    ("qúa", "quá"),
    # repeated letters
    ("quaaaa", "qua"),
    ("đẹppppp", "đẹp"),
    ("2000 người", "2000 người"),
    # teencode
    ("ko dc", "khong duoc"),  # typed without marks: the expansion stays without them
    ("ko đc", "không được"),
    ("bv da lat phuc vu te qua", "benh vien da lat phuc vu te qua"),
    ("bv Đà Lạt phục vụ tệ quá", "bệnh viện đà lạt phục vụ tệ quá"),
    ("k biết j", "không biết gì"),
    ("mn ơi ae ơi", "mọi người ơi anh em ơi"),
    ("đc vs bt", "được với bình thường"),
    ("làm ntn", "làm như thế nào"),
    ("50k 1 ký", "50k 1 ký"),
    # English words
    ("dịch vụ online bị lag", "dịch vụ trực tuyến bị chậm"),
    ("good job", "tot job"),  # no Vietnamese marks typed: the expansion has none either
    ("job tốt, good", "job tốt tốt"),
    ("ok lắm", "ổn lắm"),
    # emoji and emoticons
    ("đẹp quá 😍😍😍", "đẹp quá emopos"),
    ("tức ghê 😡", "tức ghê emoneg"),
    ("❤️ Đà Lạt", "emopos đà lạt"),
    ("hay ghê :)))", "hay ghê emolaugh"),
    ("buồn :(", "buồn emoneg"),
    ("ok 👍🏼", "on emopos"),
    ("ổn, ok 👍🏼", "ổn ổn emopos"),
    # masking
    ("xem https://lamdong.gov.vn/tin-tuc nhé", "xem urltoken nhé"),
    ("gọi 0263 3822 123 nha", "gọi phonetoken nha"),
    ("hỏi @Nguyen.Van.A", "hỏi mentiontoken"),
    ("mail a.b@gmail.com", "mail emailtoken"),
    # punctuation: ? and ! kept as tokens
    ("Có ai biết không???", "có ai biết không ?"),
    ("Tuyệt vời!!!", "tuyệt vời !"),
    ("a, b. c; (d)", "a b c d"),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_TABLE)
def test_normalize_table(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_normalize_is_idempotent() -> None:
    for text, _ in NORMALIZE_TABLE:
        once = normalize(text)
        assert normalize(once) == once


STRIP_TABLE = [
    ("Đà Lạt", "Da Lat"),
    ("hòa bình", "hoa binh"),
    ("đường đèo Prenn sạt lở", "duong deo Prenn sat lo"),
    ("Ưu tiên", "Uu tien"),
    ("Vie\u0302\u0323t", "Viet"),
    ("plain ascii", "plain ascii"),
]


@pytest.mark.parametrize(("text", "expected"), STRIP_TABLE)
def test_strip_diacritics_table(text: str, expected: str) -> None:
    assert strip_diacritics(text) == expected


def test_normalize_rejects_non_string() -> None:
    with pytest.raises(TextError):
        normalize(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("", "empty"),
        ("   \n\t", "whitespace"),
        ("x" * 101, "too_long"),
        (None, "not_string"),
        (12, "not_string"),
        (b"\xff\xfe", "invalid_utf8"),
        ("a\udcff", "invalid_utf8"),
    ],
)
def test_validate_text_errors(item: object, reason: str) -> None:
    with pytest.raises(TextError) as info:
        validate_text(item, index=3, max_chars=100)
    assert info.value.reason == reason
    assert info.value.index == 3
    assert "texts[3]" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_validate_text_accepts_and_composes() -> None:
    assert validate_text("Vie\u0302\u0323t") == "Việt"
    assert validate_text("xin chào".encode()) == "xin chào"


def test_validate_texts_names_the_first_bad_item() -> None:
    with pytest.raises(TextError, match=r"texts\[1\]"):
        validate_texts(["ok", "  ", None])
    with pytest.raises(TextError) as info:
        validate_texts(["a"] * 5, max_items=4)
    assert info.value.reason == "too_many"
    with pytest.raises(TextError):
        validate_texts("not a list")
    assert validate_texts(["a", "b"]) == ["a", "b"]
