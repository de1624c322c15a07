"""Vectorised hashed n-grams: same n-gram counts as scikit-learn's, stable hashes, row isolation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from social_listening.features import char_ngram_counts, word_ngram_counts

TEXTS = ["đèo prenn sạt lở", "mọi người không đi được emoneg", "a", "", "quá đẹp quá đẹp"]


def test_char_ngram_totals_match_sklearn_char_wb() -> None:
    ours = char_ngram_counts(TEXTS, (2, 4), 2**18)
    ref = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        n_features=2**18,
        alternate_sign=False,
        norm=None,
        lowercase=False,
    ).transform(TEXTS)
    np.testing.assert_array_equal(np.asarray(ours.sum(axis=1)).ravel(), np.asarray(ref.sum(axis=1)).ravel())


def test_word_ngram_totals_match_sklearn() -> None:
    ours = word_ngram_counts(TEXTS, (1, 2), 2**18)
    ref = HashingVectorizer(
        token_pattern=r"\S+",
        ngram_range=(1, 2),
        n_features=2**18,
        alternate_sign=False,
        norm=None,
        lowercase=False,
    ).transform(TEXTS)
    np.testing.assert_array_equal(np.asarray(ours.sum(axis=1)).ravel(), np.asarray(ref.sum(axis=1)).ravel())


def test_rows_do_not_leak_into_each_other() -> None:
    batch = word_ngram_counts(["a b", "c d"], (1, 2), 1024).toarray()
    single = np.vstack([word_ngram_counts([t], (1, 2), 1024).toarray() for t in ["a b", "c d"]])
    np.testing.assert_array_equal(batch, single)
    batch = char_ngram_counts(["ab cd", "ef"], (2, 4), 1024).toarray()
    single = np.vstack([char_ngram_counts([t], (2, 4), 1024).toarray() for t in ["ab cd", "ef"]])
    np.testing.assert_array_equal(batch, single)


def test_hashes_are_fixed() -> None:
    # Saved models depend on these column indices: a change here silently breaks every shipped model.
    assert sorted(word_ngram_counts(["đà lạt"], (1, 2), 2**18).indices.tolist()) == [191970, 215866, 225596]
    assert sorted(char_ngram_counts(["ab"], (2, 3), 2**18).indices.tolist()) == [
        51015,
        143366,
        174791,
        190500,
        198430,
    ]  # " a", "ab", "b ", " ab", "ab "


@pytest.mark.parametrize("bad", [(0, 2), (3, 2), (1, 4)])
def test_word_range_checked(bad: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        word_ngram_counts(["a"], bad, 16)


def test_empty_batch() -> None:
    assert word_ngram_counts([], (1, 2), 16).shape == (0, 16)
    assert char_ngram_counts([], (2, 4), 16).shape == (0, 16)
