"""Loaders for the public Vietnamese sentiment corpora and the project's seed set.

Each public corpus lives in its own folder under a data directory given by the caller (e.g.
``../shared/data/sentiment``), with the layout and label mapping its ``SOURCE.md`` describes:

=================  ==========================  =====================================================
name               splits                      label mapping (-> negative / neutral / positive)
=================  ==========================  =====================================================
``uit-vsfc``       train, dev, test            0/1/2 -> negative/neutral/positive (as released)
``vlsp2016-sa``    all (train/test derived)    file of origin (no remapping)
``uit-vsmec``      train, dev, test            Enjoyment -> positive; Sadness, Anger, Fear, Disgust
                                               -> negative; Surprise, Other -> neutral
``uit-vihsd``      train, dev, test            OFFENSIVE, HATE -> negative; CLEAN dropped (unmapped)
``aivivn-2019-sa`` train (train/test derived)  0 -> positive, 1 -> negative (no neutral)
=================  ==========================  =====================================================

Corpora without an official test split get a deterministic 80/20 split by a hash of the text, so that
duplicates never straddle train and test.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from social_listening.errors import CorpusError, PublicCorpusNotFoundError

__all__ = ["CORPORA", "Corpus", "SeedSet", "check_public_dir", "load_corpus", "load_seed"]

logger = logging.getLogger(__name__)

CORPORA: tuple[str, ...] = ("uit-vsfc", "vlsp2016-sa", "uit-vsmec", "uit-vihsd", "aivivn-2019-sa")
"""Names of the public corpora, as folder names under the data directory."""

_VALID = frozenset({"negative", "neutral", "positive"})
_EMOTION = {
    "Enjoyment": "positive",
    "Sadness": "negative",
    "Anger": "negative",
    "Fear": "negative",
    "Disgust": "negative",
    "Surprise": "neutral",
    "Other": "neutral",
}
_SPLITS = {
    "uit-vsfc": {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)},
    "uit-vsmec": {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)},
    "uit-vihsd": {"train": ("train.tsv",), "dev": ("dev.tsv",), "test": ("test.tsv",)},
    "vlsp2016-sa": {"all": ("all.tsv",)},
    "aivivn-2019-sa": {"all": ("train.tsv",)},
}


@dataclass(frozen=True)
class Corpus:
    """One split of a corpus: parallel tuples of texts and labels (negative/neutral/positive)."""

    name: str
    split: str
    texts: tuple[str, ...]
    labels: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)


def _hash_fold(text: str) -> int:
    return int(hashlib.md5(text.encode("utf-8")).hexdigest()[:8], 16) % 5


def _read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise CorpusError(f"expected corpus file {path}. Got: no such file")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if reader.fieldnames is None or "text" not in reader.fieldnames:
            raise CorpusError(f"{path}: expected a header with a 'text' column. Got: {reader.fieldnames}")
        return list(reader)


def _map_label(name: str, row: dict[str, str]) -> str | None:
    if name == "uit-vsmec":
        return _EMOTION.get(row.get("emotion", ""))
    if name == "uit-vihsd":
        return "negative" if row.get("orig_label") in {"OFFENSIVE", "HATE"} else None
    if name == "aivivn-2019-sa":
        return {"0": "positive", "1": "negative"}.get(row.get("orig_label", ""))
    label = row.get("label", "")
    return label if label in _VALID else None


def _corpus_file(data_dir: str | Path, name: str, split: str) -> Path:
    if name not in _SPLITS:
        raise CorpusError(f"expected a corpus name in {CORPORA}. Got: {name!r}")
    files = _SPLITS[name]
    derived = "all" in files
    allowed = ("all", "train", "test") if derived else tuple(files)
    if split not in allowed:
        raise CorpusError(f"{name}: expected a split in {allowed}. Got: {split!r}")
    folder = Path(data_dir)
    fix = (
        f"Set {PublicCorpusNotFoundError.SETTING} to the folder of the public corpora (one sub-folder per "
        f"corpus: {', '.join(CORPORA)}, as in ../shared/data/sentiment), or train without them explicitly."
    )
    if not folder.is_dir():
        raise PublicCorpusNotFoundError(
            f"expected the public sentiment corpora in {folder}. Got: no such folder. {fix}", path=str(folder)
        )
    path = folder / name / files["all" if derived else split][0]
    if not path.is_file():
        raise PublicCorpusNotFoundError(
            f"expected the {name} corpus file {path}. Got: no such file. {fix}", path=str(path)
        )
    return path


def check_public_dir(data_dir: str | Path, names: Sequence[str] = CORPORA) -> Path:
    """Check that the files training and evaluation read for ``names`` (``train`` and ``test``; the one
    file of a corpus whose split is derived) exist; ``dev`` files are not needed.

    Returns:
        ``data_dir`` as a ``Path``.

    Raises:
        PublicCorpusNotFoundError: the folder or a file is missing (message names the path and
            ``IOC_SOCIAL__PUBLIC_DATA_DIR``).
    """
    for name in names:
        for split in ("all",) if "all" in _SPLITS.get(name, {}) else ("train", "test"):
            _corpus_file(data_dir, name, split)
    return Path(data_dir)


def load_corpus(data_dir: str | Path, name: str, split: str = "train") -> Corpus:
    """Load one split of a public corpus with its label mapping.

    Args:
        data_dir: folder holding one sub-folder per corpus (``uit-vsfc/``, ``vlsp2016-sa/``, ...).
        name: one of :data:`CORPORA`.
        split: ``train``, ``dev`` or ``test`` (derived 80/20 for ``vlsp2016-sa`` and ``aivivn-2019-sa``,
            which also accept ``all``).

    Returns:
        The split; unmapped rows (ViHSD CLEAN) and empty texts are dropped.

    Raises:
        PublicCorpusNotFoundError: ``data_dir`` or the split's file does not exist (also a
            ``FileNotFoundError``).
        CorpusError: unknown name or split, bad header.
    """
    path = _corpus_file(data_dir, name, split)
    derived = "all" in _SPLITS[name]
    texts: list[str] = []
    labels: list[str] = []
    for row in _read_tsv(path):
        text = unicodedata.normalize("NFC", (row.get("text") or "").strip())
        label = _map_label(name, row)
        if not text or label is None:
            continue
        if derived and split != "all" and (_hash_fold(text) == 0) != (split == "test"):
            continue
        texts.append(text)
        labels.append(label)
    logger.debug("loaded %s/%s: %d texts", name, split, len(texts))
    return Corpus(name=name, split=split, texts=tuple(texts), labels=tuple(labels))


@dataclass(frozen=True)
class SeedSet:
    """The project's hand-written seed comments (see ``data/seed/DATASHEET.md``).

    All tuples are parallel, one entry per comment; ``split`` is ``train``, ``eval`` (evaluation only) or
    ``challenge`` (a harder evaluation-only check of short minimal pairs: same topic, different sentiment).
    """

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    topics: tuple[str, ...]
    styles: tuple[str, ...]
    splits: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, split: str) -> SeedSet:
        """Only the rows of ``split`` (one of :data:`SEED_SPLITS`)."""
        keep = [i for i, s in enumerate(self.splits) if s == split]
        return SeedSet(
            *(tuple(col[i] for i in keep) for col in (self.texts, self.labels, self.topics, self.styles, self.splits))
        )


SEED_SPLITS: tuple[str, ...] = ("train", "eval", "challenge")
"""Splits of the seed set: only ``train`` may be trained on."""


def load_seed(path: str | Path | None = None) -> SeedSet:
    """Load the seed set (default: the copy shipped in the package, ``data/seed/seed_comments.tsv``).

    Raises:
        CorpusError: missing columns, unknown label or split.
    """
    if path is None:
        ref = resources.files("social_listening").joinpath("data").joinpath("seed").joinpath("seed_comments.tsv")
        with resources.as_file(ref) as p:
            rows = _read_tsv(Path(p))
    else:
        rows = _read_tsv(Path(path))
    cols: dict[str, list[str]] = {k: [] for k in ("text", "label", "topic", "style", "split")}
    for i, row in enumerate(rows):
        missing = [k for k in cols if row.get(k) is None]
        if missing:
            raise CorpusError(f"seed row {i}: expected columns {list(cols)}. Missing: {missing}")
        if row["label"] not in _VALID or row["split"] not in SEED_SPLITS:
            raise CorpusError(f"seed row {i}: bad label/split. Got: {row['label']!r}/{row['split']!r}")
        for k in cols:
            cols[k].append(unicodedata.normalize("NFC", row[k].strip()))
    return SeedSet(
        tuple(cols["text"]),
        tuple(cols["label"]),
        tuple(cols["topic"]),
        tuple(cols["style"]),
        tuple(cols["split"]),
    )
