"""Hashed word and character n-gram features, vectorised with numpy.

Equivalent in spirit to scikit-learn's ``HashingVectorizer`` (word n-grams, and ``char_wb`` character
n-grams that never span two words; the same n-gram counts) but several times faster on short comments:
character n-grams are hashed for a whole batch at once with a rolling polynomial hash over the code points,
word tokens through a cached CRC32. Hashes are stable across processes and platforms (no Python ``hash()``),
so a saved model keeps its meaning.

All functions take texts already passed through :func:`social_listening.normalize.normalize` (lowercase,
single spaces).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["char_ngram_counts", "word_ngram_counts"]

_MULT = np.uint64(1_000_003)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SPACE = 32
_SEP = 0


def _mix(h: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # splitmix64 finaliser: spreads the polynomial hash over all bits before the modulo.
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def _to_csr(rows: NDArray[np.int64], cols: NDArray[np.int64], n_rows: int, n_features: int) -> sp.csr_matrix:
    data = np.ones(len(rows), dtype=np.float32)
    m = sp.csr_matrix((data, (rows, cols)), shape=(n_rows, n_features), dtype=np.float32)
    m.sum_duplicates()
    return m


def char_ngram_counts(texts: Sequence[str], ngram_range: tuple[int, int], n_features: int) -> sp.csr_matrix:
    """Counts of character n-grams inside word boundaries (each word padded with one space).

    Returns:
        float32 CSR matrix, shape (len(texts), n_features).
    """
    lo, hi = ngram_range
    if lo < 2 or lo > hi:
        raise ValueError(f"char ngram_range: expected 2 <= min <= max. Got: {ngram_range}")
    n_docs = len(texts)
    if n_docs == 0:
        return sp.csr_matrix((0, n_features), dtype=np.float32)
    joined = "\x00".join(f" {t} " for t in texts) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) + 3 for t in texts), dtype=np.int64, count=n_docs)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    is_sep = np.concatenate([[0], np.cumsum(codes == _SEP)])
    is_space = np.concatenate([[0], np.cumsum(codes == _SPACE)])
    total = len(codes)
    rows_parts: list[NDArray[np.int64]] = []
    cols_parts: list[NDArray[np.int64]] = []
    h = codes.copy()  # hash of the 1-gram starting at each position, extended one character per step
    start = np.arange(total)
    for n in range(2, hi + 1):
        m = total - n + 1
        if m <= 0:
            break
        h = h[:m] * _MULT + codes[n - 1 : n - 1 + m]
        if n < lo:
            continue
        s = start[:m]
        keep = (is_sep[s + n] - is_sep[s]) == 0
        if n > 2:  # no space strictly inside the window: the n-gram stays within one padded word
            keep &= (is_space[s + n - 1] - is_space[s + 1]) == 0
        else:  # "  " only comes from the padding of an empty text
            keep &= (is_space[s + 2] - is_space[s]) < 2
        rows_parts.append(doc_of[:m][keep])
        cols_parts.append((_mix(h[keep] ^ np.uint64(n)) % np.uint64(n_features)).astype(np.int64))
    rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols_parts) if cols_parts else np.zeros(0, dtype=np.int64)
    return _to_csr(rows, cols, n_docs, n_features)


@functools.lru_cache(maxsize=524288)
def _token_hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8"))


def word_ngram_counts(texts: Sequence[str], ngram_range: tuple[int, int], n_features: int) -> sp.csr_matrix:
    """Counts of word (whitespace token) n-grams for n in ``ngram_range`` (at most 3).

    Returns:
        float32 CSR matrix, shape (len(texts), n_features).
    """
    lo, hi = ngram_range
    if hi > 3 or lo < 1 or lo > hi:
        raise ValueError(f"word ngram_range: expected 1 <= min <= max <= 3. Got: {ngram_range}")
    n_docs = len(texts)
    if n_docs == 0:
        return sp.csr_matrix((0, n_features), dtype=np.float32)
    ids: list[int] = []
    counts = np.zeros(n_docs, dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = text.split()
        counts[i] = len(tokens)
        ids.extend(map(_token_hash, tokens))
    h1 = np.asarray(ids, dtype=np.uint64)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), counts)
    rows_parts: list[NDArray[np.int64]] = []
    cols_parts: list[NDArray[np.int64]] = []
    for n in range(lo, hi + 1):
        m = len(h1) - n + 1
        if m <= 0:
            continue
        h = np.full(m, 7919 * n, dtype=np.uint64)
        for k in range(n):
            h = h * _MULT + h1[k : k + m]
        keep = doc_of[:m] == doc_of[n - 1 : n - 1 + m]  # the n tokens belong to one text
        rows_parts.append(doc_of[:m][keep])
        cols_parts.append((_mix(h[keep]) % np.uint64(n_features)).astype(np.int64))
    rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols_parts) if cols_parts else np.zeros(0, dtype=np.int64)
    return _to_csr(rows, cols, n_docs, n_features)
