import pytest

from speech.metrics import word_error_rate


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("Đà Lạt đón khách", "đà lạt, đón khách.", 0.0),
        ("Đà Lạt đón khách", "Đà Lạt đón", 0.25),  # one deletion
        ("Đà Lạt đón khách", "Đà Lạt đón rất nhiều khách", 0.5),  # two insertions
        ("Bảo Lộc", "Bảo Lộc Bảo Lộc Bảo Lộc", 2.0),  # a loop costs insertions
        ("hòa", "hoà", 1.0),  # different code points after NFC: tone placement matters
        ("", "anything", 1.0),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, expected: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(expected)
