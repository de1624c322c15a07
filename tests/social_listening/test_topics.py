"""Keyword topic tagger: with and without diacritics, several topics, fallback to other."""

from __future__ import annotations

import pytest

from social_listening import TOPICS, tag_topics
from social_listening.corpora import load_seed

TABLE = [
    ("Đèo Prenn sạt lở, kẹt xe cả tiếng", ["traffic"]),
    ("deo Bao Loc sat lo, xe tai nam cho", ["traffic"]),
    ("Bệnh viện tỉnh quá tải, chờ khám cả buổi", ["health"]),
    ("benh vien tinh qua tai", ["health"]),
    ("Giá phòng khách sạn dịp lễ hội tăng gấp ba", ["tourism", "prices"]),
    ("Nộp hồ sơ trên cổng dịch vụ công mãi không xong", ["public_services"]),
    ("Học phí mầm non tăng", ["education", "prices"]),
    ("Rau Đơn Dương rớt giá, nông dân đổ bỏ", ["agriculture", "prices"]),
    ("Phân lô bán nền trái phép trên đất nông nghiệp", ["agriculture", "land_planning"]),
    ("Trộm xe máy ở khu ký túc xá", ["education", "security_order"]),
    ("Rác thải đầy bờ hồ, mùi hôi", ["environment"]),
    ("Chúc mừng năm mới cả nhà", ["other"]),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_tag_topics_table(text: str, expected: list[str]) -> None:
    assert tag_topics(text) == expected


def test_topics_are_known_and_ordered() -> None:
    tags = tag_topics("kẹt xe ở bệnh viện, giá gửi xe đắt")
    assert tags == [t for t in TOPICS if t in tags]


def test_seed_topic_recall() -> None:
    # The lexicon finds the annotated topic for most seed comments (guards against a broken lexicon).
    seed = load_seed()
    hits = sum(
        topic in tag_topics(text) for text, topic in zip(seed.texts, seed.topics, strict=True) if topic != "other"
    )
    total = sum(topic != "other" for topic in seed.topics)
    assert hits / total >= 0.75
