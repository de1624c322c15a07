"""Corpus loaders on tiny fixture folders with each corpus's layout, and the packaged seed set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from social_listening import CorpusError, PublicCorpusNotFoundError
from social_listening.corpora import check_public_dir, load_corpus, load_seed

LAYOUT = {
    "uit-vsfc/test.tsv": "text\tlabel\ttopic\nthầy dạy hay .\tpositive\tlecturer\n"
    "phòng nóng .\tnegative\tfacility\n"
    "môn học 3 tín chỉ .\tneutral\ttraining_program\n",
    "uit-vsmec/train.tsv": "text\tlabel\temotion\torig_index\nvui quá\tpositive\tEnjoyment\t1\n"
    "buồn ghê\tnegative\tSadness\t2\nghê quá\tnegative\tDisgust\t3\nthật sao\tneutral\tSurprise\t4\n"
    "ai biết không\tneutral\tOther\t5\n",
    "uit-vihsd/train.tsv": "text\tlabel\torig_label\nbình thường\tunmapped\tCLEAN\n"
    "đồ ngu\tnegative\tOFFENSIVE\n"
    "cút đi\tnegative\tHATE\n",
    "aivivn-2019-sa/train.tsv": "text\tlabel\torig_label\tid\n"
    + "".join(f"sản phẩm {i} tốt\tpositive\t0\ttrain_{i}\nsản phẩm {i} tệ\tnegative\t1\tt_{i}\n" for i in range(50)),
    "vlsp2016-sa/all.tsv": "text\tlabel\n" + "".join(f'máy {i} "ok"\tneutral\n' for i in range(40)),
}


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    for rel, content in LAYOUT.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return tmp_path


def test_label_mappings(data_dir: Path) -> None:
    assert load_corpus(data_dir, "uit-vsfc", "test").labels == ("positive", "negative", "neutral")
    vsmec = load_corpus(data_dir, "uit-vsmec", "train")
    assert vsmec.labels == ("positive", "negative", "negative", "neutral", "neutral")
    vihsd = load_corpus(data_dir, "uit-vihsd", "train")
    assert vihsd.texts == ("đồ ngu", "cút đi") and set(vihsd.labels) == {"negative"}  # CLEAN dropped
    aivivn = load_corpus(data_dir, "aivivn-2019-sa", "all")
    assert Counter(aivivn.labels) == {"positive": 50, "negative": 50}


def test_derived_splits_are_disjoint_and_deterministic(data_dir: Path) -> None:
    train = load_corpus(data_dir, "aivivn-2019-sa", "train")
    test = load_corpus(data_dir, "aivivn-2019-sa", "test")
    assert not set(train.texts) & set(test.texts)
    assert len(train) + len(test) == 100
    assert 5 <= len(test) <= 40
    assert load_corpus(data_dir, "aivivn-2019-sa", "test") == test
    vlsp = load_corpus(data_dir, "vlsp2016-sa", "all")
    assert vlsp.texts[0] == 'máy 0 "ok"'  # quotes kept (QUOTE_NONE)


@pytest.mark.parametrize(("name", "split"), [("nope", "train"), ("uit-vsfc", "all"), ("vlsp2016-sa", "dev")])
def test_unknown_name_or_split(data_dir: Path, name: str, split: str) -> None:
    with pytest.raises(CorpusError):
        load_corpus(data_dir, name, split)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="expected the uit-vsfc corpus file"):
        load_corpus(tmp_path, "uit-vsfc", "train")


def test_missing_public_folder_names_the_path_and_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError, match="IOC_SOCIAL__PUBLIC_DATA_DIR") as info:
        load_corpus(missing, "uit-vsfc", "train")
    assert isinstance(info.value, PublicCorpusNotFoundError) and isinstance(info.value, ValueError)
    assert info.value.path == str(missing) and str(missing) in str(info.value)
    (tmp_path / "uit-vsfc").mkdir()
    for split in ("train",):
        (tmp_path / "uit-vsfc" / f"{split}.tsv").write_text("text\tlabel\nTốt\tpositive\n", encoding="utf-8")
    with pytest.raises(PublicCorpusNotFoundError, match="test.tsv") as info:
        check_public_dir(tmp_path, ["uit-vsfc"])
    assert info.value.path == str(tmp_path / "uit-vsfc" / "test.tsv")


def test_packaged_seed_set() -> None:
    seed = load_seed()
    assert len(seed) >= 800
    assert set(seed.labels) == {"negative", "neutral", "positive"}
    assert len(set(seed.texts)) == len(seed.texts)
    held = seed.subset("eval")
    assert len(held) / (len(held) + len(seed.subset("train"))) >= 0.25
    assert set(held.topics) == set(seed.topics)  # every topic evaluated
    challenge = seed.subset("challenge")
    assert len(challenge) >= 150 and set(challenge.topics) == set(seed.topics)
    assert set(challenge.splits) == {"challenge"}
    assert not set(challenge.texts) & set(seed.subset("train").texts)
    counts = Counter(seed.labels)
    assert min(counts.values()) / max(counts.values()) > 0.6  # balanced-ish


def test_seed_missing_columns(tmp_path: Path) -> None:
    bad = tmp_path / "seed.tsv"
    bad.write_text("text\tlabel\nxin chào\tneutral\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="Missing"):
        load_seed(bad)
