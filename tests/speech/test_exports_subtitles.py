"""SRT and VTT cues: at most 2 lines of 42 characters and 7 seconds, split at word boundaries."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from speech.exports import export
from speech.transcript import Segment, Transcript, Word

Cue = tuple[str, str, list[str]]  # start, end ("hh:mm:ss,mmm"), lines


def _srt(segments: tuple[Segment, ...], fmt: str = "srt") -> list[Cue]:
    """Parse our SRT (or VTT, times with a dot) back into cues; checks the numbering too."""
    text = export(Transcript("t", datetime(2024, 1, 1), 60.0, segments), fmt).decode("utf-8")
    if fmt == "vtt":
        assert text.startswith("WEBVTT\n\n")
        text = text[len("WEBVTT\n\n") :]
    cues: list[Cue] = []
    for n, block in enumerate(text.strip("\n").split("\n\n"), start=1):
        lines = block.split("\n")
        if fmt == "srt":
            assert lines.pop(0) == str(n)
        start, end = re.fullmatch(r"(\S+) --> (\S+)", lines[0]).groups()  # type: ignore[union-attr]
        cues.append((start.replace(".", ","), end.replace(".", ","), lines[1:]))
    return cues


N8 = " ".join(["ngày"] * 8)  # 39 characters
N7 = " ".join(["ngày"] * 7)  # 34
N5 = " ".join(["ngày"] * 5)  # 24
# Twenty 4-character words over 9.9 s without word timings: 0.1 s a character, word k spans
# 0.5k .. 0.5k + 0.4 s.
TWENTY = " ".join(["ngày"] * 20)

# fmt: off
CASES: list[tuple[str, Segment, str, list[Cue]]] = [
    (
        "short segment: one cue, speaker prefix",
        Segment(11.0, 13.25, "Hôm nay họp về Đà Lạt.", speaker="Người nói 1"),
        "srt",
        [("00:00:11,000", "00:00:13,250", ["Người nói 1: Hôm nay họp về Đà Lạt."])],
    ),
    (
        # 2 lines hold 16 words, but word 14 ends at 7.4 s: 14 words (0 .. 6.9 s), balanced 7 + 7.
        "no words, no speaker: split by characters and by the 7 s limit",
        Segment(0.0, 9.9, TWENTY),
        "srt",
        [
            ("00:00:00,000", "00:00:06,900", [N7, N7]),
            ("00:00:07,000", "00:00:09,900", [" ".join(["ngày"] * 6)]),
        ],
    ),
    (
        # "Ông Nguyễn Văn A: " takes 18 characters of line 1, so 2 lines hold 13 words (42 + 39 characters),
        # fewer than the 14 of the 7 s limit; the rest is balanced as 27 + 24 characters.
        "speaker prefix counts in SRT lines and comes on every cue",
        Segment(0.0, 9.9, TWENTY, speaker="Ông Nguyễn Văn A"),
        "srt",
        [
            ("00:00:00,000", "00:00:06,400", [f"Ông Nguyễn Văn A: {N5}", N8]),
            ("00:00:06,500", "00:00:09,900", ["Ông Nguyễn Văn A: ngày ngày", N5]),
        ],
    ),
    (
        # The voice tag is not shown as text, so the lines are those without a speaker.
        "VTT voice tag does not count in the lines",
        Segment(0.0, 9.9, TWENTY, speaker="Người nói 2"),
        "vtt",
        [
            ("00:00:00,000", "00:00:06,900", [f"<v Người nói 2>{N7}", N7]),
            ("00:00:07,000", "00:00:09,900", ["<v Người nói 2>" + " ".join(["ngày"] * 6)]),
        ],
    ),
    (
        # The "." word is glued to "chí"; "Hôm" ends 8.6 s after the cue began: a new cue, which ends
        # with the segment.
        "word timings place the split",
        Segment(
            0.0, 9.5, "Kính thưa các đồng chí. Hôm nay",
            words=(
                Word(0.0, 0.4, " Kính"), Word(0.5, 0.9, " thưa"), Word(1.0, 1.4, " các"),
                Word(1.5, 1.9, " đồng"), Word(2.0, 2.4, " chí"), Word(2.4, 2.5, "."),
                Word(8.0, 8.6, " Hôm"), Word(8.7, 9.0, " nay"),
            ),
        ),
        "srt",
        [
            ("00:00:00,000", "00:00:02,500", ["Kính thưa các đồng chí."]),
            ("00:00:08,000", "00:00:09,500", ["Hôm nay"]),
        ],
    ),
    (
        "a word longer than a line is cut",
        Segment(0.0, 5.0, "x" * 50),
        "srt",
        [("00:00:00,000", "00:00:05,000", ["x" * 42, "x" * 8])],
    ),
    (
        "one word held longer than 7 s is shown 7 s",
        Segment(0.0, 12.0, "Vâng."),
        "srt",
        [("00:00:00,000", "00:00:07,000", ["Vâng."])],
    ),
    (
        # 42 characters as shown, one line: the escapes do not count in the line length.
        "VTT escapes what would read as tags",
        Segment(1.0, 2.0, "Q&A <lúc> 2 > 1 " + "x" * 26, speaker="A&B"),
        "vtt",
        [("00:00:01,000", "00:00:02,000", ["<v A&amp;B>Q&amp;A &lt;lúc&gt; 2 &gt; 1 " + "x" * 26])],
    ),
    (
        "an arrow in the text cannot read as a timing line",
        Segment(1.0, 2.0, "A --> B"),
        "srt",
        [("00:00:01,000", "00:00:02,000", ["A -> B"])],
    ),
]
# fmt: on


@pytest.mark.parametrize(("case", "segment", "fmt", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cues(case: str, segment: Segment, fmt: str, expected: list[Cue]) -> None:
    assert _srt((segment,), fmt) == expected


def test_edited_text_is_timed_by_characters() -> None:
    # The secretary corrected the text, so the word timings no longer spell it: timed by characters.
    # 11 characters over 8 s: "ab cd" is chars 0..5 (3.64 s), so "ef" (6..8, ends 5.82 s) still fits in a
    # 7 s cue, and "gh" (9..11, ends 8.0 s) does not.
    seg = Segment(0.0, 8.0, "ab cd ef gh", words=(Word(0.0, 8.0, " xyz"),))
    assert _srt((seg,)) == [
        ("00:00:00,000", "00:00:05,818", ["ab cd ef"]),
        ("00:00:06,545", "00:00:08,000", ["gh"]),
    ]


def _seconds(clock: str) -> float:
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


LONG = (
    "Kính thưa các đồng chí, hôm nay Ủy ban nhân dân tỉnh Lâm Đồng tổ chức cuộc họp giao ban để đánh giá "
    "tình hình thực hiện nhiệm vụ phát triển kinh tế - xã hội tháng mười một và triển khai nhiệm vụ tháng "
    "mười hai, đề nghị các sở, ban, ngành phát biểu ngắn gọn, tập trung vào các khó khăn, vướng mắc."
)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
@pytest.mark.parametrize("with_words", [False, True])
def test_long_segment_limits(fmt: str, with_words: bool) -> None:
    tokens = LONG.split(" ")
    words = tuple(Word(2.0 + 0.3 * i, 2.25 + 0.3 * i, f" {w}") for i, w in enumerate(tokens)) if with_words else ()
    end = 2.0 + 0.3 * len(tokens)
    seg = Segment(2.0, end, LONG, speaker="Ông Nguyễn Văn A", words=words)
    cues = _srt((seg,), fmt)
    assert len(cues) > 1
    shown = []
    previous_end = 0.0
    for start, stop, lines in cues:
        t0, t1 = (_seconds(v) for v in (start, stop))
        assert 0 < t1 - t0 <= 7.0 + 1e-9 and t0 >= previous_end - 1e-9
        previous_end = t1
        assert 1 <= len(lines) <= 2
        if fmt == "srt":
            assert lines[0].startswith("Ông Nguyễn Văn A: ")
            assert all(len(line) <= 42 for line in lines)
            shown.append(" ".join(lines).removeprefix("Ông Nguyễn Văn A: "))
        else:
            assert lines[0].startswith("<v Ông Nguyễn Văn A>")
            lines = [lines[0].removeprefix("<v Ông Nguyễn Văn A>"), *lines[1:]]
            assert all(len(line) <= 42 for line in lines)
            shown.append(" ".join(lines))
    assert " ".join(shown) == LONG  # every word once, in order, split only at spaces


def test_limits_are_options() -> None:
    from speech.exports import to_srt, to_vtt

    t = Transcript("t", datetime(2024, 1, 1), 9.9, (Segment(0.0, 9.9, TWENTY),))
    # One line of 9 characters: two words a cue (word k ends 0.5k + 0.4 s).
    srt = to_srt(t, 3.0, max_line_chars=9, max_lines=1).decode("utf-8")
    assert srt.split("\n\n")[0] == "1\n00:00:00,000 --> 00:00:00,900\nngày ngày"
    assert srt.count(" --> ") == 10
    # 0.8 s: one word a cue, however wide the lines.
    assert to_srt(t, 0.8).decode("utf-8").count(" --> ") == 20
    with pytest.raises(ValueError, match="Expected max_cue_s > 0"):
        to_vtt(t, 0.0)
