"""train_sentiment on center labels (and a tiny public corpus), metrics names, review ordering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from social_listening import (
    PublicCorpusNotFoundError,
    SocialListeningError,
    TrainingOptions,
    review_candidates,
    train_sentiment,
)
from social_listening.corpora import load_seed
from social_listening.evaluation import evaluate_heldout, heldout_split
from social_listening.training import ReviewCandidate, TrainingResult

FAST = {"n_features": 2**14, "calibrate": False, "max_iter": 150}


def _tiny_public(tmp_path: Path) -> Path:
    vsfc = tmp_path / "uit-vsfc"
    vsfc.mkdir()
    rows = [
        "giảng viên nhiệt tình .\tpositive",
        "phòng học nóng .\tnegative",
        "môn học có 3 tín chỉ .\tneutral",
    ] * 8
    for split in ("train", "test"):
        (vsfc / f"{split}.tsv").write_text(
            "text\tlabel\ttopic\n" + "".join(f"{r}\tx\n" for r in rows), encoding="utf-8"
        )
    return tmp_path


@pytest.mark.slow
def test_center_only_with_held_back_fraction() -> None:
    seed = load_seed().subset("train")
    clf, metrics = train_sentiment(
        None, (seed.texts, seed.labels), options=TrainingOptions(eval_fraction=0.25, classifier_params=FAST)
    )
    assert metrics["n_center_eval"] == pytest.approx(0.25 * len(seed), abs=3)
    assert metrics["n_center_train"] + metrics["n_center_eval"] == len(seed)
    assert 0.0 <= metrics["center_eval_macro_f1"] <= 1.0
    assert {"center_eval_accuracy", "center_eval_weighted_f1", "center_eval_f1_neutral"} <= set(metrics)
    assert all(isinstance(v, float) for v in metrics.values())
    assert clf.predict(["Đường xấu quá"]).shape == (1,)


@pytest.mark.slow
def test_public_and_center_with_explicit_eval(tmp_path: Path) -> None:
    seed = load_seed()
    train, held = seed.subset("train"), seed.subset("eval")
    options = TrainingOptions(
        train_corpora=("uit-vsfc",),
        eval_corpora=("uit-vsfc",),
        eval_prefix="seed_eval",
        classifier_params=FAST,
    )
    _, metrics = train_sentiment(
        _tiny_public(tmp_path),
        (train.texts[:200], train.labels[:200]),
        center_eval=(held.texts[:60], held.labels[:60]),
        options=options,
    )
    assert metrics["n_train_uit_vsfc"] == 24
    assert metrics["n_train_texts"] == 224
    assert metrics["seed_eval_n"] == 60
    assert metrics["uit_vsfc_test_macro_f1"] > 0.9  # the tiny corpus is learnt
    assert metrics["eval_public_n"] == 24 and metrics["eval_n"] == 310
    result = train_sentiment(
        tmp_path, (train.texts[:200], train.labels[:200]), center_eval=(held.texts[:60], held.labels[:60]),
        options=options,
    )  # fmt: skip
    assert (result.center_texts, result.public_corpus_texts, result.center_eval_texts) == (200, 24, 60)
    assert dict(result.public_texts_by_corpus) == {"uit-vsfc": 24}
    assert result.warnings == ()


EVAL_NAMES = {f"eval_{m}" for m in ("accuracy", "macro_f1", "weighted_f1", "n")} | {
    f"eval_f1_{label}" for label in ("negative", "neutral", "positive")
}


def test_heldout_split_is_fixed(tmp_path: Path) -> None:
    seed = load_seed()
    first, again = heldout_split(), heldout_split()
    assert first == again
    assert [p.prefix for p in first.parts] == ["eval", "eval_challenge"]
    assert first.parts[0].texts == seed.subset("eval").texts
    public = heldout_split(_tiny_public(tmp_path), corpora=("uit-vsfc",), per_corpus=10)
    assert public == heldout_split(tmp_path, corpora=("uit-vsfc",), per_corpus=10)
    part = public.part("eval_public")
    assert part is not None and len(part) == 10
    assert public.fingerprint != first.fingerprint
    assert public.parts[:2] == first.parts


@pytest.mark.slow
def test_every_version_reports_the_same_evaluation(tmp_path: Path) -> None:
    seed = load_seed()
    train, held = seed.subset("train"), seed.subset("eval")
    options = TrainingOptions(classifier_params=FAST)
    small = train_sentiment(None, (train.texts[:300], train.labels[:300]), options=options)
    # A later version: more labels, some of which (5) are held-out texts, which must not be trained on.
    texts = list(train.texts) + list(held.texts[:5])
    labels = list(train.labels) + list(held.labels[:5])
    big = train_sentiment(None, (texts, labels), options=options)
    for result in (small, big):
        assert isinstance(result, TrainingResult)
        assert set(result.metrics) >= EVAL_NAMES
        assert result.metrics["eval_n"] == len(held) == 310
        assert result.metrics["eval_challenge_n"] == len(seed.subset("challenge"))
        assert result.eval_fingerprint == heldout_split().fingerprint
        assert result.public_corpus_texts == 0 and result.metrics["n_public_train"] == 0
        assert result.warnings and "public_dir=None" in result.warnings[0]
    assert (small.center_texts, small.center_excluded) == (300, 0)
    assert (big.center_texts, big.center_excluded) == (len(train), 5)
    assert big.metrics["n_center_train"] == len(train) and big.metrics["n_center_excluded"] == 5
    # The shipped model (or any loaded one) gets the same names through evaluate_heldout.
    classifier, metrics = big
    assert {k: v for k, v in evaluate_heldout(classifier).items()} == {
        k: v for k, v in metrics.items() if k.startswith("eval")
    }


def test_missing_public_folder_fails_before_training(tmp_path: Path) -> None:
    missing = tmp_path / "sentiment"
    seed = load_seed().subset("train")
    with pytest.raises(FileNotFoundError, match="IOC_SOCIAL__PUBLIC_DATA_DIR") as info:
        train_sentiment(missing, (seed.texts, seed.labels))
    assert isinstance(info.value, PublicCorpusNotFoundError)
    assert info.value.path == str(missing)


@pytest.mark.slow
def test_missing_public_folder_skipped_on_request(tmp_path: Path) -> None:
    seed = load_seed().subset("train")
    result = train_sentiment(
        tmp_path / "sentiment",
        (seed.texts[:200], seed.labels[:200]),
        options=TrainingOptions(missing_public="skip", classifier_params=FAST),
    )
    assert result.public_corpus_texts == 0 and dict(result.public_texts_by_corpus) == {}
    assert result.center_texts == 200
    assert len(result.warnings) == 1
    assert "missing_public='skip'" in result.warnings[0] and str(tmp_path / "sentiment") in result.warnings[0]
    assert "eval_public_n" not in result.metrics


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(SocialListeningError):
        train_sentiment(None, (["a"], []))
    with pytest.raises(SocialListeningError):
        train_sentiment(None, ([], []))
    with pytest.raises(SocialListeningError):
        train_sentiment(tmp_path, (["a"], ["positive"]), options=TrainingOptions(train_corpora=("imdb",)))


class _Fixed:
    def __init__(self, proba: list[list[float]]) -> None:
        self.proba = np.asarray(proba)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return self.proba[: len(texts)]


def test_review_candidates_least_confident_first() -> None:
    model = _Fixed([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.34, 0.33, 0.33], [0.1, 0.1, 0.8], [0.5, 0.45, 0.05]])
    picked = review_candidates(model, ["a", "b", "c", "d", "e"], k=3)
    assert [c.index for c in picked] == [2, 4, 1]
    assert isinstance(picked[0], ReviewCandidate)
    assert picked[0].label == "negative"
    assert picked[0].margin == pytest.approx(0.01)
    assert sum(picked[0].probabilities.values()) == pytest.approx(1.0)
    assert review_candidates(model, [], k=3) == []
    assert review_candidates(model, ["a"], k=0) == []
