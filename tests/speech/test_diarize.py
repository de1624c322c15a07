from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from speech.diarize import Diarizer, SpeakerClustering, merge_turns
from speech.transcript import Segment
from tests.speech import media
from tests.speech.conftest import TWO_SPEAKERS, TWO_SPEAKERS_TURNS


def _blobs(k: int, n: int = 40, dim: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    y = np.repeat(np.arange(k), n)
    return centers[y] + 0.15 * rng.normal(size=(k * n, dim)), y


@pytest.mark.parametrize("k", [2, 3, 5])
def test_clustering_finds_the_number_of_speakers(k: int) -> None:
    X, y = _blobs(k)
    est = SpeakerClustering()
    assert est.fit(X) is est
    assert est.n_speakers_ == k
    # Same partition as the truth (up to renaming).
    assert len({(a, b) for a, b in zip(est.labels_, y, strict=True)}) == k


def test_clustering_given_number_and_single_speaker() -> None:
    X, _ = _blobs(3)
    assert SpeakerClustering(n_speakers=2).fit(X).n_speakers_ == 2
    one = np.random.default_rng(0).normal(size=(50, 16)) * 0.05 + 1.0
    assert SpeakerClustering().fit(one).n_speakers_ == 1


def test_clustering_subsamples_large_inputs() -> None:
    X, y = _blobs(2, n=600)
    est = SpeakerClustering(max_fit_samples=200).fit(X)
    assert est.n_speakers_ == 2 and len(est.labels_) == 1200
    assert len({(a, b) for a, b in zip(est.labels_, y, strict=True)}) == 2


def test_clustering_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="Expected embeddings of shape"):
        SpeakerClustering().fit(np.zeros(5))
    with pytest.raises(ValueError, match="n_speakers >= 1"):
        SpeakerClustering(n_speakers=0).fit(np.ones((3, 2)))


def test_merge_turns() -> None:
    segs = [
        Segment(0, 2, "a", speaker="S1"),
        Segment(2.5, 4, "b", speaker="S1"),
        Segment(4, 5, "c", speaker="S2"),
        Segment(9, 10, "d", speaker="S2"),
    ]
    turns = merge_turns(segs, max_gap_s=2.0)
    assert [(t.start, t.end, t.text, t.speaker) for t in turns] == [
        (0, 4, "a b", "S1"),
        (4, 5, "c", "S2"),
        (9, 10, "d", "S2"),
    ]


@pytest.mark.slow
def test_diarize_two_speakers(two_speaker_segments: list[Segment]) -> None:
    for n in (2, None):
        labelled = Diarizer(n_speakers=n).diarize(TWO_SPEAKERS, two_speaker_segments)
        assert {s.speaker for s in labelled} <= {"Người nói 1", "Người nói 2"}
        assert labelled[0].speaker == "Người nói 1"

        def speaker_at(t: float, labelled: list[Segment] = labelled) -> str | None:
            for s in labelled:
                if s.start <= t <= s.end:
                    return s.speaker
            return None

        # The middle turn (speaker B) is labelled differently from the first (speaker A).
        a_mid = (TWO_SPEAKERS_TURNS[0][0] + TWO_SPEAKERS_TURNS[0][1]) / 2
        b_mid = (TWO_SPEAKERS_TURNS[1][0] + TWO_SPEAKERS_TURNS[1][1]) / 2
        assert speaker_at(a_mid) == "Người nói 1"
        assert speaker_at(b_mid) == "Người nói 2", [(s.start, s.end, s.speaker) for s in labelled]


@pytest.mark.slow
def test_segment_over_digital_silence_takes_its_neighbours_speaker(
    two_speaker_segments: list[Segment], tmp_path: Path
) -> None:
    # Recorders pad pauses with exact zeros and Whisper can place a segment there (found on the benchmark
    # meeting): resemblyzer's volume normalisation divided by the zero RMS and diarization failed.
    from faster_whisper.audio import decode_audio

    clip = decode_audio(str(TWO_SPEAKERS))
    path = media.write_audio(tmp_path / "gap.wav", np.concatenate([clip, np.zeros(3 * 16000, np.float32)]))
    end = len(clip) / 16000
    silent = Segment(start=round(end + 0.5, 3), end=round(end + 2.5, 3), text="cảm ơn")
    labelled = Diarizer(n_speakers=2).diarize(path, [*two_speaker_segments, silent])
    assert len(labelled) == len(two_speaker_segments) + 1
    assert labelled[-1].start == silent.start and labelled[-1].speaker == labelled[-2].speaker


def test_seconds_removed_by_a_repair_survive_merging_and_splitting() -> None:
    from speech.diarize import _split_by_speaker
    from speech.transcript import Word

    turns = merge_turns(
        [Segment(0, 2, "a", speaker="S1", dropped_s=1.5), Segment(2.5, 4, "b", speaker="S1", dropped_s=0.5)]
    )
    assert [t.dropped_s for t in turns] == [2.0]
    words = tuple(Word(i * 0.5, i * 0.5 + 0.5, f" w{i}") for i in range(8))  # 0-4 s
    seg = Segment(0, 4, "w0 w1 w2 w3 w4 w5 w6 w7", words=words, dropped_s=1.25, flags=("repetition_repaired",))
    pieces = _split_by_speaker(seg, [(0.5, 0), (1.5, 0), (2.5, 1), (3.5, 1)])  # speaker change at 2 s
    assert [p.speaker for p in pieces] == ["0", "1"] and [p.text for p in pieces] == ["w0 w1 w2 w3", "w4 w5 w6 w7"]
    assert sum(p.dropped_s for p in pieces) == 1.25 and all(p.flags == seg.flags for p in pieces)
