"""SentimentClassifier contract, calibration, persistence with skops, and the shipped default."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score

from social_listening import LABELS, ModelFormatError, SentimentClassifier, SocialListeningError
from social_listening.corpora import load_seed
from social_listening.normalize import strip_diacritics

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "shipped" / "sentiment" / "model.skops"
SMALL = {"n_features": 2**14, "max_iter": 200}


@pytest.fixture(scope="module")
def seed_model() -> SentimentClassifier:
    train = load_seed().subset("train")
    return SentimentClassifier(**SMALL).fit(train.texts, train.labels)


def test_init_only_stores_params_and_clone_works() -> None:
    clf = SentimentClassifier(C=2.0, char_ngrams=None)
    assert clf.get_params()["C"] == 2.0
    assert not hasattr(clf, "coef_")
    assert clone(clf).get_params() == clf.get_params()


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict(["xin chào"])


@pytest.mark.slow
def test_fit_returns_self_and_learned_attributes(seed_model: SentimentClassifier) -> None:
    assert list(seed_model.classes_) == list(LABELS)
    assert seed_model.coef_.dtype == np.float32
    assert seed_model.coef_.shape == (3, 2 * 2**14)
    assert 0.05 < seed_model.temperature_ < 20


@pytest.mark.slow
def test_probabilities_sum_to_one_and_match_predict(seed_model: SentimentClassifier) -> None:
    texts = ["Đường sạt lở quá nguy hiểm", "Thông báo lịch cắt điện", "Cảm ơn bác sĩ tận tình", "ok", "😡"]
    proba = seed_model.predict_proba(texts)
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba >= 0).all()
    assert list(seed_model.predict(texts)) == [LABELS[i] for i in proba.argmax(axis=1)]
    with pytest.raises(SocialListeningError):
        seed_model.predict("a single string")  # type: ignore[arg-type]


@pytest.mark.slow
def test_learns_from_seed_and_handles_missing_diacritics(seed_model: SentimentClassifier) -> None:
    held = load_seed().subset("eval")
    predicted = seed_model.predict(held.texts)
    assert f1_score(held.labels, predicted, average="macro") >= 0.5
    stripped = seed_model.predict([strip_diacritics(t) for t in held.texts])
    assert f1_score(held.labels, stripped, average="macro") >= 0.45


@pytest.mark.slow
def test_calibrated_confidence_is_not_absurd(seed_model: SentimentClassifier) -> None:
    # Mean top probability should be within 0.2 of accuracy on held-out texts (temperature scaling).
    held = load_seed().subset("eval")
    proba = seed_model.predict_proba(held.texts)
    accuracy = float(np.mean(np.asarray(LABELS)[proba.argmax(1)] == np.asarray(held.labels)))
    assert abs(float(proba.max(axis=1).mean()) - accuracy) < 0.2


@pytest.mark.slow
def test_sample_weight_changes_the_model() -> None:
    texts = ["tốt quá", "tệ quá", "bình thường thôi", "tốt lắm", "tệ lắm", "cũng được"] * 10
    labels = ["positive", "negative", "neutral", "positive", "negative", "neutral"] * 10
    a = SentimentClassifier(calibrate=False, **SMALL).fit(texts, labels)
    w = np.where(np.asarray(labels) == "neutral", 0.01, 1.0)
    b = SentimentClassifier(calibrate=False, class_weight=None, **SMALL).fit(texts, labels, sample_weight=w)
    assert not np.allclose(a.coef_, b.coef_)


@pytest.mark.parametrize(
    ("labels", "weights"),
    [
        (["positive", "angry"], None),
        (["positive"], None),
        (["positive", "positive"], None),
        (["positive", "negative"], [1.0, -1.0]),
    ],
)
def test_fit_rejects_bad_input(labels: list[str], weights: list[float] | None) -> None:
    with pytest.raises(SocialListeningError):
        SentimentClassifier(**SMALL).fit(["a", "b"], labels, sample_weight=weights)


def test_two_class_training_never_predicts_the_missing_class() -> None:
    texts = ["rất tốt", "quá tệ", "tốt ghê", "tệ ghê"] * 5
    labels = ["positive", "negative", "positive", "negative"] * 5
    clf = SentimentClassifier(calibrate=False, **SMALL).fit(texts, labels)
    proba = clf.predict_proba(["tốt", "tệ", "không biết"])
    assert (proba[:, 1] < 1e-3).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_class_prior_is_the_fitting_mix() -> None:
    texts = ["tốt lắm", "tệ quá", "bình thường", "rất tốt", "quá tệ", "hôm nay họp"] * 4 + ["tốt"] * 6
    labels = ["positive", "negative", "neutral"] * 8 + ["positive"] * 6
    balanced = SentimentClassifier(calibrate=False, **SMALL).fit(texts, labels)
    np.testing.assert_allclose(balanced.class_prior_, [1 / 3, 1 / 3, 1 / 3])
    plain = SentimentClassifier(calibrate=False, class_weight=None, **SMALL).fit(texts, labels)
    np.testing.assert_allclose(plain.class_prior_, [8 / 30, 8 / 30, 14 / 30])


@pytest.mark.slow
def test_save_load_round_trip(seed_model: SentimentClassifier, tmp_path: Path) -> None:
    path = seed_model.save(tmp_path / "m" / "model.skops")
    texts = list(load_seed().subset("eval").texts[:30])
    loaded = SentimentClassifier.load(path)
    np.testing.assert_allclose(loaded.predict_proba(texts), seed_model.predict_proba(texts), atol=1e-6)
    assert loaded.get_params() == seed_model.get_params()
    np.testing.assert_allclose(loaded.class_prior_, seed_model.class_prior_)
    with zipfile.ZipFile(path) as z:  # a skops archive, not a pickle
        assert "schema.json" in z.namelist()


def test_load_refuses_untrusted_and_foreign_files(tmp_path: Path) -> None:
    import skops.io
    from sklearn.linear_model import LogisticRegression

    foreign = tmp_path / "foreign.skops"
    skops.io.dump(LogisticRegression(), foreign)
    with pytest.raises(ModelFormatError, match="untrusted"):
        SentimentClassifier.load(foreign)
    other = tmp_path / "other.skops"
    skops.io.dump({"format": "something else"}, other)
    with pytest.raises(ModelFormatError):
        SentimentClassifier.load(other)
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError):
        SentimentClassifier.load(junk)
    with pytest.raises(ModelFormatError):
        SentimentClassifier.load(tmp_path / "missing.skops")


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model not built")
@pytest.mark.parametrize("prior", [[0.5, 0.5], [0.7, 0.7, -0.4], [0.2, 0.2, 0.2], [float("nan")] * 3])
def test_load_refuses_a_malformed_class_prior(tmp_path: Path, prior: list[float]) -> None:
    import skops.io

    state = skops.io.load(SHIPPED, trusted=skops.io.get_untrusted_types(file=SHIPPED))
    state["class_prior"] = np.asarray(prior)
    bad = tmp_path / "bad_prior.skops"
    skops.io.dump(state, bad)
    with pytest.raises(ModelFormatError, match="class_prior"):
        SentimentClassifier.load(bad)
    state["class_prior"] = np.asarray([0.25, 0.25, 0.5])
    skops.io.dump(state, bad)
    np.testing.assert_allclose(SentimentClassifier.load(bad).class_prior_, [0.25, 0.25, 0.5])


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model not built")
def test_shipped_default_loads_small_and_scores_the_seed_eval() -> None:
    assert SHIPPED.stat().st_size < 15 * 1024 * 1024
    clf = SentimentClassifier.load(SHIPPED)
    held = load_seed().subset("eval")
    assert f1_score(held.labels, clf.predict(held.texts), average="macro") >= 0.70


COMPLAINT = ["bv da lat phuc vu te qua", "bệnh viện Đà Lạt phục vụ tệ quá"]  # issue 14: typed without marks


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model not built")
def test_shipped_default_calls_a_diacritics_free_complaint_negative() -> None:
    assert list(SentimentClassifier.load(SHIPPED).predict(COMPLAINT)) == ["negative", "negative"]


@pytest.mark.slow
def test_seed_trained_model_calls_a_diacritics_free_complaint_negative() -> None:
    # Retraining without the public corpora learns from the seed set alone: it needs the seed set's
    # generic evaluative words ("tệ", "kém", ...) and expansions of teencode without marks ("bv").
    from social_listening import train_sentiment

    train = load_seed().subset("train")
    result = train_sentiment(None, (train.texts, train.labels))
    proba = result.classifier.predict_proba(COMPLAINT)
    assert list(result.classifier.predict(COMPLAINT)) == ["negative", "negative"]
    assert (proba[:, 0] > 0.6).all()


def test_balance_within_groups_keeps_group_totals_and_equalises_classes() -> None:
    from social_listening.classifier import _balance_within_groups

    y = np.array([0, 0, 0, 1, 2, 2, 0, 0])  # group a: 3 neg, 1 neu, 2 pos; group b: 2 neg only
    w = np.array([1.0, 1, 1, 1, 1, 1, 0.5, 0.5])
    groups = ["a"] * 6 + ["b"] * 2
    out = _balance_within_groups(y, w, groups)
    a = np.arange(6)
    assert out[a].sum() == pytest.approx(6.0)
    per_class = [out[a][y[a] == c].sum() for c in range(3)]
    assert per_class == pytest.approx([2.0, 2.0, 2.0])
    np.testing.assert_allclose(out[6:], [0.5, 0.5])  # one class: left as it is


def test_fit_with_groups_and_bad_groups() -> None:
    texts = ["tốt quá", "dở tệ", "thông báo lịch họp", "rất hài lòng", "chán quá", "mấy giờ mở cửa?"] * 3
    labels = ["positive", "negative", "neutral", "positive", "negative", "neutral"] * 3
    groups = ["center"] * 6 + ["public"] * 12
    clf = SentimentClassifier(**SMALL, calibrate=False).fit(texts, labels, groups=groups)
    assert list(clf.predict(["tốt quá", "dở tệ"])) == ["positive", "negative"]
    with pytest.raises(SocialListeningError, match="one group per text"):
        SentimentClassifier(**SMALL).fit(texts, labels, groups=groups[:3])
