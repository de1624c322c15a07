from __future__ import annotations

import unicodedata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from speech.decoding import collapse_segment, is_repeated, max_length, prefix_before_loop
from speech.errors import AudioError, ModelError
from speech.transcriber import (
    TranscribeOptions,
    Transcriber,
    _quiet_cut,
    default_compute_type,
)
from speech.transcript import Segment, Word
from tests.speech import media
from tests.speech.conftest import TWO_SPEAKERS


def test_options_validation_and_kwargs() -> None:
    opts = TranscribeOptions(vocabulary=("Đà Lạt", " Bảo Lộc ", ""), initial_prompt="Họp UBND tỉnh.")
    kw = opts.batched_kwargs()
    assert kw["language"] == "vi" and kw["hotwords"] == "Đà Lạt, Bảo Lộc"
    assert kw["initial_prompt"] == "Họp UBND tỉnh." and kw["condition_on_previous_text"] is False
    assert TranscribeOptions(vocabulary=("Đơn Dương",), vocabulary_mode="prompt").prompt() == "Đơn Dương."
    with pytest.raises(ValueError, match="beam_size >= 1"):
        TranscribeOptions(beam_size=0)
    with pytest.raises(ValueError, match="tuple of terms"):
        TranscribeOptions(vocabulary="Đà Lạt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="window_s >= 60"):
        TranscribeOptions(window_s=10)
    for bad in (0.0, -3.0, float("nan")):
        with pytest.raises(ValueError, match="first_pass_tokens_per_s > 0"):
            TranscribeOptions(first_pass_tokens_per_s=bad)
    with pytest.raises(ValueError, match="redecode_tokens_per_s > 0"):
        TranscribeOptions(redecode_tokens_per_s=0)


def test_bad_audio_fails_before_model(tmp_path: Path) -> None:
    (tmp_path / "x.mp3").write_text("Biên bản, không phải âm thanh. " * 10)
    t = Transcriber(tmp_path / "no-model")
    with pytest.raises(AudioError) as err:
        list(t.transcribe(tmp_path / "x.mp3"))
    assert err.value.code == "not_audio"
    with pytest.raises(ModelError) as merr:
        list(t.transcribe(TWO_SPEAKERS))
    assert merr.value.code == "missing_weights"


def test_collapse_keeps_words_in_step() -> None:
    words = tuple(
        Word(i, i + 0.5, f" {w}") for i, w in enumerate(["kinh", "tế", "tình", "tình", "tình", "tình", "tình", "hình"])
    )
    seg = Segment(0, 8, "kinh tế tình tình tình tình tình hình", words=words)
    fixed = collapse_segment(seg)
    assert fixed.text == "kinh tế tình hình"
    assert [w.text for w in fixed.words] == [" kinh", " tế", " tình", " hình"]
    assert fixed.flags == ("repetition_repaired",)


def test_identical_segments_dropped_from_the_third() -> None:
    seen: list[str] = []
    text = "cảm ơn các bạn đã theo dõi"
    assert [is_repeated(text, seen) for _ in range(4)] == [False, False, True, True]
    assert not is_repeated("Dạ.", ["dạ.", "dạ."])  # short replies repeat for real


def test_quiet_cut_finds_the_pause() -> None:
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.1, 16000 * 100).astype(np.float32)
    audio[16000 * 80 : 16000 * 81] = 0.0
    cut = _quiet_cut(audio, 16000 * 90)
    assert 16000 * 80 <= cut <= 16000 * 81


class _FakePipeline:
    """Stands in for BatchedInferencePipeline: one segment per call covering the window."""

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[list[Any], None]:
        self.lengths.append(len(audio))
        seg = SimpleNamespace(
            start=0.0,
            end=len(audio) / 16000,
            text=" xin chào",
            words=None,
            avg_logprob=-0.1,
            no_speech_prob=0.0,
            compression_ratio=1.0,
        )
        return [seg], None


def test_windows_offsets_and_progress(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    audio = rng.normal(0, 0.1, 16000 * 200).astype(np.float32)
    audio[16000 * 75 : 16000 * 76] = 0.0  # the quiet moment where window 1 must end
    path = media.write_audio(tmp_path / "long.wav", audio)
    t = Transcriber(tmp_path)
    fake = _FakePipeline()
    t._model, t._pipeline = object(), fake
    progress: list[float] = []
    segs = list(t.transcribe(path, progress=progress.append, options=TranscribeOptions(window_s=90.0)))
    assert len(segs) == 3
    assert 75.0 <= segs[0].end <= 76.0
    assert segs[1].start == segs[0].end and segs[2].start == segs[1].end
    assert segs[-1].end == pytest.approx(200.0, abs=0.01)
    assert max(fake.lengths) <= 16000 * 90
    assert progress == sorted(progress) and progress[-1] == 1.0 and progress[0] == 0.0
    # Resume after a crash: starts at start_s, times stay absolute.
    resumed = list(t.transcribe(path, start_s=segs[0].end, options=TranscribeOptions(window_s=90.0)))
    assert resumed[0].start == pytest.approx(segs[0].end, abs=0.01)
    assert resumed[-1].end == pytest.approx(200.0, abs=0.01)


@pytest.mark.slow
def test_real_transcription_of_vietnamese(transcriber: Transcriber, two_speaker_segments: list[Segment]) -> None:
    segs = two_speaker_segments
    assert segs, "no segment transcribed"
    text = " ".join(s.text for s in segs).lower()
    assert text == unicodedata.normalize("NFC", text)
    # Whisper base on espeak-ng Vietnamese is rough; a few words must come through.
    hits = [w for w in ("đồng", "hôm nay", "tình", "kinh tế", "thành phố", "du lịch", "năm") if w in text]
    assert len(hits) >= 3, text
    assert all(0 <= s.start < s.end <= 18.7 for s in segs)
    assert all(s.words for s in segs)
    assert [s.start for s in segs] == sorted(s.start for s in segs)


@pytest.mark.slow
def test_real_transcription_resume_and_progress(transcriber: Transcriber) -> None:
    progress: list[float] = []
    segs = list(
        transcriber.transcribe(
            TWO_SPEAKERS,
            start_s=12.5,
            progress=progress.append,
            options=TranscribeOptions(vocabulary=("Lâm Đồng",), beam_size=2),
        )
    )
    assert segs and all(s.start >= 12.5 for s in segs)
    assert progress[0] == pytest.approx(12.5 / 18.62, abs=0.01) and progress[-1] == 1.0


class _FakeRedecoder:
    """Stands in for the re-decoding BatchedInferencePipeline: one segment per clip."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: list[dict[str, Any]] = []

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[list[Any], None]:
        self.calls.append(kwargs)
        segs = [
            SimpleNamespace(
                seek=int(int(c["start"] * 16000) / 16000 * 100),
                start=c["start"],
                end=c["end"],
                text=self.text,
                words=None,
                avg_logprob=-0.2,
                no_speech_prob=0.0,
                compression_ratio=1.2,
            )
            for c in reversed(kwargs["clip_timestamps"])  # order must not matter
        ]
        return segs, None


@pytest.mark.parametrize(
    ("redecoded", "expected_text", "flag"),
    [
        (" thu ngân sách tăng", "thu ngân sách tăng", "repetition_redecoded"),
        (" mơ mơ mơ mơ mơ mơ", "mơ", "repetition_repaired"),
    ],
)
def test_loops_are_redecoded_in_one_batch_then_collapsed(
    tmp_path: Path, redecoded: str, expected_text: str, flag: str
) -> None:
    t = Transcriber(tmp_path)
    t._redecoder = _FakeRedecoder(redecoded)
    looping = Segment(10.0, 14.0, "thu ngân sách mơ mơ mơ mơ mơ mơ mơ mơ", compression_ratio=2.9)
    clean = Segment(14.0, 16.0, "kinh tế xã hội", compression_ratio=1.1)
    looping2 = Segment(16.0, 18.0, "dân dân dân dân dân", compression_ratio=1.5)
    audio = np.zeros(16000 * 20, np.float32)
    fixed = t._repair([looping, clean, looping2], audio, 5.0, TranscribeOptions(), "vi")
    assert fixed[0].text == expected_text and flag in fixed[0].flags
    assert fixed[1] is clean
    assert flag in fixed[2].flags
    assert len(t._redecoder.calls) == 1  # both looping spans in one batched call
    call = t._redecoder.calls[0]
    assert call["beam_size"] == 1 and call["temperature"] == 0.0 and call["no_repeat_ngram_size"] == 10
    assert call["batch_size"] == 2 and call["language"] == "vi"
    # The longest span is 4.4 s (0.2 s margins): 16 + 12 * 4.4 tokens, which CTranslate2 emits with a max_length
    # of twice that (3 prompt tokens without a loaded model).
    assert call["max_new_tokens"] == 2 * (16 + int(12 * 4.4)) - 3
    assert call["clip_timestamps"][0] == {"start": 4.8, "end": 9.2}  # the span only, window times
    collapsed = t._repair([looping], audio, 5.0, TranscribeOptions(redecode_loops=False))
    assert collapsed[0].text == "thu ngân sách mơ" and collapsed[0].flags == ("repetition_repaired",)
    assert len(t._redecoder.calls) == 1  # collapse-only mode did not decode again
    assert t._repair([clean], audio, 0.0, TranscribeOptions()) == [clean]


def test_window_keeps_order_and_batches_the_redecoding(tmp_path: Path) -> None:
    from speech.transcriber import _Progress

    texts = [
        "mở đầu cuộc họp",
        "tình tình tình tình tình tình",
        "kinh tế xã hội",
        "dân dân dân dân dân",
        "phát triển du lịch",
        "mơ mơ mơ mơ mơ",
        "kết luận",
    ]
    first = [
        SimpleNamespace(
            start=2.0 * i,
            end=2.0 * i + 2,
            text=f" {x}",
            words=None,
            avg_logprob=-0.3,
            no_speech_prob=0.0,
            compression_ratio=1.2,
        )
        for i, x in enumerate(texts)
    ]
    t = Transcriber(tmp_path)
    t._pipeline = SimpleNamespace(transcribe=lambda audio, **kw: (iter(first), SimpleNamespace(language="vi")))
    t._redecoder = _FakeRedecoder(" sửa lại")
    done: list[float] = []
    segs = list(
        t._window(
            np.zeros(16000 * 15, np.float32),
            100.0,
            TranscribeOptions(batch_size=2),
            _Progress(200.0, 0.0, done.append),
            [],
        )
    )
    assert [s.start for s in segs] == [100.0 + 2 * i for i in range(7)]
    assert [s.text for s in segs] == [
        "mở đầu cuộc họp",
        "sửa lại",
        "kinh tế xã hội",
        "sửa lại",
        "phát triển du lịch",
        "sửa lại",
        "kết luận",
    ]
    assert [c["batch_size"] for c in t._redecoder.calls] == [2, 1]  # batches of batch_size looping spans
    assert done == sorted(done)


def test_prefix_before_loop_keeps_the_words_before_it() -> None:
    vocab = {1: " kinh", 2: " t", 3: "ế", 4: " tình", 5: ".", 50000: ""}  # 50000: a timestamp token
    tok = SimpleNamespace(decode=lambda ids: "".join(vocab[i] for i in ids))
    tokens = [50000, 1, 2, 3, 4, 4, 4, 4, 4, 5]
    assert prefix_before_loop(tok, tokens) == [50000, 1, 2, 3]
    assert prefix_before_loop(tok, [4, 4, 4, 4, 4]) == []
    assert prefix_before_loop(tok, [1, 2, 3, 5]) == []


@pytest.mark.slow
def test_first_pass_token_cap_leaves_room_for_a_long_prompt(transcriber: Transcriber) -> None:
    # ~220 prompt tokens (faster-whisper keeps at most 223): a per-chunk token cap added blindly
    # to them would pass Whisper's 448-token limit and faster-whisper would refuse the batch.
    vocabulary = tuple(f"Phường {i} thành phố Bảo Lộc" for i in range(60))
    segs = list(transcriber.transcribe(TWO_SPEAKERS, options=TranscribeOptions(vocabulary=vocabulary, beam_size=1)))
    assert all(0 <= s.start < s.end <= 18.7 for s in segs)


def test_max_length_accounts_for_ctranslate2_halving_it() -> None:
    assert max_length(448, 3, 0, 100) == 200
    assert max_length(448, 3, 30, 100) == 260  # a forced prefix counts in the output
    assert max_length(448, 150, 0, 100) == 249  # a long prompt leaves room for the output after it
    assert max_length(448, 3, 0, 224) is None  # Whisper's own limit: no cap needed
    assert max_length(448, 3, 0, 300) is None


@pytest.mark.slow
def test_max_length_caps_real_decoding_at_the_token_budget(transcriber: Transcriber) -> None:
    import ctranslate2
    from faster_whisper.audio import decode_audio
    from faster_whisper.tokenizer import Tokenizer

    whisper = transcriber.model
    tokenizer = Tokenizer(whisper.hf_tokenizer, True, task="transcribe", language="vi")
    features = whisper.feature_extractor(decode_audio(str(TWO_SPEAKERS)))[:, :3000]
    encoded = np.asarray(whisper.encode(features[None]))
    for prompt in ([], tokenizer.encode(" Phường 1, thành phố Bảo Lộc, Đà Lạt, Đơn Dương." * 4)):
        full = whisper.get_prompt(tokenizer, prompt, without_timestamps=False)
        for budget in (12, 30):
            length = max_length(whisper.max_length, len(full), 0, budget)
            assert length is not None
            out = whisper.model.generate(
                ctranslate2.StorageView.from_array(encoded), [full], beam_size=1, max_length=length
            )
            assert len(out[0].sequences_ids[0]) == budget  # 18 s of speech need more: the budget binds exactly


@pytest.mark.slow
def test_looping_chunks_are_decoded_again_together_across_batches(
    transcriber: Transcriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faster_whisper.audio import decode_audio

    import speech.decoding as sd

    # Four copies of the two-speaker recording, 30.7 s apart: several VAD chunks (at most 30 s each), batches of 1.
    clip = decode_audio(str(TWO_SPEAKERS))
    gap = np.zeros(int(30.7 * 16000) - len(clip), np.float32)
    path = media.write_audio(tmp_path / "four.wav", np.concatenate([clip, gap] * 4))
    flagged: list[float] = []

    def every_chunk_loops(text: str, compression_ratio: float, duration_s: float, opts: TranscribeOptions) -> bool:
        flagged.append(duration_s)
        return True

    monkeypatch.setattr(sd, "loop_swallowed_speech", every_chunk_loops)
    whisper = transcriber.model
    calls: list[tuple[int, int]] = []
    real = whisper.model

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def generate(self, features: Any, prompts: Any, **kwargs: Any) -> Any:
            calls.append((len(prompts), kwargs.get("no_repeat_ngram_size", 0)))
            return real.generate(features, prompts, **kwargs)

    monkeypatch.setattr(whisper, "model", Counting())
    # Gaps left (fill_gaps) would be decoded again by the same greedy, blocked decoding: off here.
    segs = list(transcriber.transcribe(path, options=TranscribeOptions(batch_size=1, beam_size=1, fill_gaps=False)))
    n = len(flagged)
    assert n >= 3
    first = [size for size, block in calls if block == 0]
    again = [size for size, block in calls if block == 10]  # the re-decoding blocks repeated 10-grams
    assert first == [1] * n
    # Batches wait until 2 * batch_size looping chunks are pending, then those are decoded again together.
    assert sum(again) == n and again[0] == 2 and max(again) == 2 and len(again) == (n + 1) // 2
    assert all("repetition_redecoded" in s.flags for s in segs)
    starts = [s.start for s in segs]
    assert starts == sorted(starts) and segs[-1].end <= 4 * 30.7
    words = [w for s in segs for w in s.words]
    assert words and all(a.start <= b.start + 1e-6 for a, b in zip(words, words[1:], strict=False))
    copies = {int(s.start // 30.7) for s in segs}
    assert copies == {0, 1, 2, 3}  # every copy transcribed, in its own place


@pytest.mark.slow
def test_chunks_cut_at_the_first_pass_budget_are_finished_greedily(transcriber: Transcriber) -> None:
    # Greedy first pass: finishing a chunk cut at the budget from its encoder output must give the words
    # that an uncut greedy decoding gives, without the flag of a repaired loop. The continuation is not
    # bit-identical (CTranslate2's float paths differ by CPU: identical words on one machine, 3 of 57 words
    # different on another, both with CTranslate2 4.8.5), so the words must agree within 10% WER.
    from speech.metrics import word_error_rate

    uncut = list(transcriber.transcribe(TWO_SPEAKERS, options=TranscribeOptions(beam_size=1)))
    cut = list(
        transcriber.transcribe(TWO_SPEAKERS, options=TranscribeOptions(beam_size=1, first_pass_tokens_per_s=0.5))
    )
    said = " ".join(s.text for s in uncut).casefold()
    assert word_error_rate(said, " ".join(s.text for s in cut).casefold()) <= 0.10
    assert len(" ".join(s.text for s in cut).split()) > 16  # far more than the 16 + 0.5 * 18.7 budget allows
    assert not any("repetition_redecoded" in s.flags for s in cut)


@pytest.mark.slow
def test_prompt_length_counts_the_vocabulary_and_the_prompt(transcriber: Transcriber) -> None:
    bare = transcriber._prompt_length(TranscribeOptions(), "vi")
    assert bare == 3  # <|startoftranscript|><|vi|><|transcribe|>
    hinted = transcriber._prompt_length(TranscribeOptions(vocabulary=("Đà Lạt", "Bảo Lộc")), "vi")
    prompted = transcriber._prompt_length(TranscribeOptions(initial_prompt="Họp Ủy ban nhân dân tỉnh Lâm Đồng."), "vi")
    assert hinted > bare + 4 and prompted > bare + 8


def test_default_compute_type_follows_the_device() -> None:
    assert default_compute_type("cpu") == "int8"
    assert default_compute_type("cuda") == "float16"
    with pytest.raises(ValueError, match="device"):
        default_compute_type("tpu")


def _fw_segment(start: float, end: float, text: str) -> SimpleNamespace:
    return SimpleNamespace(
        start=start, end=end, text=f" {text}", words=None, avg_logprob=-0.3, no_speech_prob=0.0, compression_ratio=1.2
    )


class _GappyPipeline:
    """Stands in for the loop-safe pipeline: VAD found speech at 0-5 s and 8-15 s of the window, the first pass
    left 3-5 s and 8-10 s without text; it reports its one batch (12 s of VAD speech) before the segments."""

    def __init__(self, segments: list[SimpleNamespace]) -> None:
        self.segments = segments
        self.on_batch: Any = None
        self.loop_options: Any = None
        self.redecoded_seeks: set[int] = set()

    def transcribe(self, audio: np.ndarray, **kwargs: Any) -> tuple[Any, Any]:
        clips = [{"start": 0, "end": 5 * 16000}, {"start": 8 * 16000, "end": 15 * 16000}]
        info = SimpleNamespace(language="vi", transcription_options=SimpleNamespace(clip_timestamps=clips))

        def run() -> Any:
            self.on_batch(12.0)
            yield from self.segments

        return run(), info


def test_speech_left_without_text_is_decoded_again_and_flagged(tmp_path: Path) -> None:
    t = Transcriber(tmp_path)
    t._pipeline = _GappyPipeline([_fw_segment(0.0, 3.0, "kính thưa"), _fw_segment(10.0, 15.0, "đầu tư công")])
    t._redecoder = _FakeRedecoder("thu ngân sách")
    from speech.transcriber import _Progress

    done: list[float] = []
    audio = np.zeros(16000 * 16, np.float32)
    segs = list(t._window(audio, 100.0, TranscribeOptions(), _Progress(200.0, 100.0, done.append), []))
    assert [s.text for s in segs] == ["kính thưa", "thu ngân sách", "đầu tư công"]
    assert segs[1].flags == ("gap_recovered",) and segs[1].repaired
    # The hole was 3-5 s and 8-10 s of VAD speech (the silence between them is not decoded again).
    assert t._redecoder.calls[0]["clip_timestamps"] == [{"start": 3.0, "end": 10.0}]
    # The batch's 12 s of speech end at 15 s of the window; no segment is final yet: the mean of 115 and 100 s.
    assert done[0] == pytest.approx(107.5 / 200.0)
    t._redecoder.calls.clear()
    kept = list(t._window(audio, 100.0, TranscribeOptions(fill_gaps=False), _Progress(200.0, 0.0, None), []))
    assert [s.text for s in kept] == ["kính thưa", "đầu tư công"] and not t._redecoder.calls


def test_segments_never_pass_the_end_of_the_recording(tmp_path: Path) -> None:
    audio = np.random.default_rng(2).normal(0, 0.1, int(16000 * 10.77)).astype(np.float32)
    path = media.write_audio(tmp_path / "end.wav", audio)
    t = Transcriber(tmp_path)
    fake = _FakePipeline()  # one segment covering the window: replaced below by one past the end
    t._model, t._pipeline = object(), fake

    def past_end(audio: np.ndarray, **kwargs: Any) -> tuple[list[Any], None]:
        n = len(audio) / 16000
        return [_fw_segment(0.0, n - 0.3, "kính thưa"), _fw_segment(n - 0.46, n + 0.52, "Các bạn nhé")], None

    fake.transcribe = past_end  # type: ignore[method-assign]
    segs = list(t.transcribe(path))
    assert [s.text for s in segs] == ["kính thưa"] and segs[-1].end <= 10.77
    # Resumed 0.46 s before the end (the service's case): nothing is invented past it.
    resumed = list(t.transcribe(path, start_s=10.31))
    assert all(s.end <= 10.77 + 1e-6 for s in resumed)


def test_progress_detail_gives_a_time_left_estimate(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = media.write_audio(tmp_path / "p.wav", rng.normal(0, 0.1, 16000 * 200).astype(np.float32))
    t = Transcriber(tmp_path)
    t._model, t._pipeline = object(), _FakePipeline()
    seen: list[Any] = []
    list(t.transcribe(path, on_progress=seen.append, options=TranscribeOptions(window_s=90.0)))
    assert [p.fraction for p in seen] == sorted(p.fraction for p in seen) and seen[-1].fraction == 1.0
    assert seen[0].eta_s is None and seen[-1].eta_s == 0.0
    middle = seen[1]
    assert 0 < middle.fraction < 1 and middle.done_s == pytest.approx(middle.fraction * 200.0, abs=0.01)
    assert middle.eta_s is not None and middle.eta_s >= 0 and middle.duration_s == pytest.approx(200.0, abs=0.01)


@pytest.mark.slow
@pytest.mark.skipif(media.ESPEAK is None, reason="espeak-ng is not installed")
def test_no_sentence_of_a_meeting_is_dropped(transcriber: Transcriber, tmp_path: Path) -> None:
    # Four lines, 30 s: Whisper base ends the one 30 s chunk at ~22.6 s, and the fourth line (23.5-30.1 s) had
    # no text at all. Each line must now be covered by segments for most of its span.
    path, spans = media.make_meeting(tmp_path / "meeting.mp3", tmp_path)

    def covered(segs: list[Segment], a: float, b: float) -> float:
        return sum(max(0.0, min(b, s.end) - max(a, s.start)) for s in segs) / (b - a)

    before = list(transcriber.transcribe(path, options=TranscribeOptions(fill_gaps=False)))
    assert covered(before, *spans[3][:2]) < 0.2  # the hole this test is about (first pass alone)
    segs = list(transcriber.transcribe(path))
    assert all(covered(segs, a, b) > 0.5 for a, b, _ in spans), [(s.start, s.end, s.text) for s in segs]
    recovered = [s for s in segs if "gap_recovered" in s.flags]
    assert recovered and all(spans[3][0] - 1 <= s.start and s.end <= spans[3][1] + 1 for s in recovered)
    assert all(s.words and all(0.0 <= w.probability <= 1.0 for w in s.words) for s in segs)
