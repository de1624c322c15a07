from __future__ import annotations

import math

import pytest

from speech.decoding import (
    clamp_segment,
    collapse_segment,
    original_time,
    speech_pieces,
    uncovered_speech,
)
from speech.options import TranscribeOptions
from speech.transcript import Segment, Word


@pytest.mark.parametrize(
    ("speech", "covered", "expected"),
    [
        # The 102 s meeting's hole: speech 23.2-30.3 s after a segment ending at 22.7 s, the next at 31.1 s.
        (
            [(17.7, 20.4), (20.4, 23.1), (23.2, 24.3), (24.3, 30.3), (31.1, 32.7)],
            [(17.8, 22.7), (31.1, 34.8)],
            [(22.7, 30.3)],  # from the end of the VAD region the segment ends in
        ),
        ([(0.0, 10.0)], [(0.0, 3.0), (8.0, 10.0)], [(3.0, 8.0)]),
        ([(0.0, 10.0)], [(0.0, 9.5)], []),  # 0.5 s of VAD padding after a segment is no hole
        ([(0.0, 4.0), (6.0, 9.0)], [], [(0.0, 9.0)]),  # nothing transcribed at all
        ([(5.0, 9.0)], [(0.0, 2.0)], [(5.0, 9.0)]),  # speech after the last segment
        ([], [(0.0, 2.0)], []),
    ],
)
def test_uncovered_speech(
    speech: list[tuple[float, float]], covered: list[tuple[float, float]], expected: list[tuple[float, float]]
) -> None:
    assert uncovered_speech(speech, covered, 1.0) == expected


def test_speech_pieces_cut_long_gaps_at_speech_starts() -> None:
    assert speech_pieces((0.0, 20.0), [(0.0, 20.0)]) == [(0.0, 20.0)]
    pieces = speech_pieces((0.0, 70.0), [(0.0, 12.0), (12.5, 29.0), (29.4, 50.0), (51.0, 70.0)])
    assert pieces == [(0.0, 29.4), (29.4, 51.0), (51.0, 70.0)]
    assert all(b - a <= 30.0 for a, b in speech_pieces((0.0, 75.0), [(0.0, 75.0)]))  # hard cuts


def test_original_time_maps_vad_time_back() -> None:
    regions = [(1.0, 5.0), (8.0, 15.0)]
    assert original_time(0.0, regions) == 1.0
    assert original_time(4.0, regions) == 5.0
    assert original_time(6.0, regions) == 10.0
    assert original_time(99.0, regions) == 15.0
    assert original_time(3.0, []) == 3.0


def test_clamp_keeps_segments_inside_the_audio() -> None:
    words = (Word(9.0, 9.6, " các"), Word(9.6, 10.4, " bạn"), Word(10.4, 10.9, " nhé"))
    seg = Segment(9.0, 10.9, "các bạn nhé", words=words)
    clamped = clamp_segment(seg, 0.0, 10.5)
    assert clamped is not None and clamped.end == 10.5 and clamped.start == 9.0
    assert [w.text for w in clamped.words] == [" các", " bạn", " nhé"] and clamped.words[-1].end == 10.5
    cut = clamp_segment(seg, 0.0, 10.2)
    assert cut is not None and cut.text == "các bạn" and cut.end == 10.2
    # A resumed job on a 128.77 s file once got "Các bạn nhé" at 128.31-129.29 s: mostly past the end, dropped.
    assert clamp_segment(Segment(128.31, 129.29, "Các bạn nhé"), 128.31, 128.77) is None
    assert clamp_segment(Segment(130.0, 131.0, "x"), 0.0, 128.77) is None
    inside = Segment(1.0, 2.0, "x")
    assert clamp_segment(inside, 0.0, 128.77) is inside


def test_collapse_reports_the_seconds_removed() -> None:
    words = tuple(Word(i, i + 0.5, f" {w}") for i, w in enumerate(["thu", "tình", "tình", "tình", "tình", "hình"]))
    seg = collapse_segment(Segment(0, 6, "thu tình tình tình tình hình", words=words))
    assert seg.text == "thu tình hình" and seg.dropped_s == pytest.approx(1.5) and seg.repaired
    no_words = collapse_segment(Segment(0, 8, "mơ mơ mơ mơ mơ mơ mơ mơ"))
    assert no_words.text == "mơ" and no_words.dropped_s == pytest.approx(7.0)
    clean = Segment(0, 2, "kinh tế")
    assert collapse_segment(clean) is clean and not clean.repaired and clean.dropped_s == 0.0


def test_segment_round_trip_keeps_words_flags_and_dropped_seconds() -> None:
    seg = Segment(
        1.0,
        3.5,
        "Thu ngân sách",
        speaker="Người nói 1",
        words=(Word(1.0, 1.4, " Thu", 0.91), Word(1.4, 2.1, " ngân", 0.42), Word(2.1, 3.5, " sách", 0.77)),
        flags=("repetition_repaired",),
        dropped_s=1.25,
    )
    assert Segment.from_dict(seg.to_dict()) == seg
    # faster-whisper's own word dicts ("word" instead of "text") read too.
    d = {"start": 0.0, "end": 1.0, "text": "a", "words": [{"start": 0.0, "end": 1.0, "word": " a", "probability": 0.5}]}
    assert Segment.from_dict(d).words == (Word(0.0, 1.0, " a", 0.5),)


def test_gap_option_is_validated() -> None:
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="gap_min_speech_s > 0"):
            TranscribeOptions(gap_min_speech_s=bad)
