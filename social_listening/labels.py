"""The sentiment classes and their order, shared by every classifier of the package."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from social_listening.errors import SocialListeningError

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
"""Class order of every probability matrix: column 0 negative, 1 neutral, 2 positive."""


def label_indices(labels: Sequence[object]) -> NDArray[np.int64]:
    """Column index in :data:`LABELS` of each label; an unknown label is a :class:`SocialListeningError`."""
    index = {label: i for i, label in enumerate(LABELS)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        if label not in index:
            raise SocialListeningError(f"labels[{i}]: expected one of {LABELS}. Got: {label!r}")
        out[i] = index[label]
    return out
