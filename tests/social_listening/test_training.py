"""train_sentiment on center labels (and a tiny public corpus), metrics names, review ordering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from social_listening import SocialListeningError, TrainingOptions, review_candidates, train_sentiment
from social_listening.corpora import load_seed
from social_listening.training import ReviewCandidate

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
