from __future__ import annotations

import pytest

from speech.repetition import Loop, collapse_loops, find_loops, has_loop, loop_word_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kinh tế tình tình tình tình tình tình hình", "kinh tế tình hình"),
        ("mơ mơ mơ mơ mơ mơ mơ mơ.", "mơ."),
        ("tăng phần trăm tăng phần trăm tăng phần trăm tăng phần trăm so với", "tăng phần trăm so với"),
        ("Tình Tình, tình tình tình", "Tình"),
        # Natural Vietnamese reduplication is not a loop.
        ("từ từ dần dần rất rất rất đẹp", "từ từ dần dần rất rất rất đẹp"),
        ("các đồng chí, các đồng chí", "các đồng chí, các đồng chí"),
        ("", ""),
    ],
)
def test_collapse_table(text: str, expected: str) -> None:
    assert collapse_loops(text) == expected
    assert has_loop(text) == (text != expected)


def test_find_loops_reports_unit_and_count() -> None:
    assert find_loops("kinh tế tình tình tình tình tình tình hình") == [Loop(start=2, ngram=1, repeats=6, text="tình")]
    loops = find_loops("a b c x y x y x y x y d")
    assert loops == [Loop(start=3, ngram=2, repeats=4, text="x y")]
    assert loop_word_spans("a b c x y x y x y x y d") == [(5, 11)]


def test_thresholds_are_configurable() -> None:
    assert not has_loop("rất rất rất")
    assert has_loop("rất rất rất", min_repeats_word=3)
