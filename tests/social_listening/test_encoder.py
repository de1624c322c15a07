"""Encoder backend, for real, on a tiny randomly initialised RoBERTa and a tokenizer built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from social_listening import LABELS, normalize, strip_diacritics  # noqa: E402
from social_listening.classifier import load_classifier  # noqa: E402
from social_listening.encoder import EncoderSentimentClassifier  # noqa: E402

TRAIN = [
    ("Bệnh viện phục vụ tốt quá, cảm ơn bác sĩ", "positive"),
    ("Đường mới làm đẹp quá, rất hài lòng", "positive"),
    ("Cán bộ nhiệt tình, tuyệt vời", "positive"),
    ("Lễ hội hoa năm nay đẹp quá 😍", "positive"),
    ("Kẹt xe kinh khủng, quá tệ", "negative"),
    ("Rác bốc mùi, bức xúc quá", "negative"),
    ("Thủ tục chậm, tệ hết chỗ nói 😡", "negative"),
    ("Đèo sạt lở mà không ai xử lý, thất vọng", "negative"),
    ("Thông báo lịch cắt điện ngày mai", "neutral"),
    ("Cho hỏi bộ phận một cửa làm việc thứ bảy không?", "neutral"),
    ("Thông báo phân luồng giao thông đèo Prenn", "neutral"),
    ("Mọi người cho hỏi giờ mở cửa bệnh viện?", "neutral"),
]


def _build_tiny_encoder(directory: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    corpus = [normalize(t) for t, _ in TRAIN]
    corpus += [strip_diacritics(t) for t in corpus]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["<s>", "<pad>", "</s>", "<unk>"]))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=64,
    )
    fast.save_pretrained(directory)
    config = RobertaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=72,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        type_vocab_size=1,
    )
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(directory)  # encoder only, like a PhoBERT checkpoint
    return directory


@pytest.mark.slow
def test_encoder_fits_predicts_saves_and_loads(tmp_path: Path) -> None:
    encoder_dir = _build_tiny_encoder(tmp_path / "tiny-encoder")
    texts, labels = zip(*TRAIN, strict=True)
    clf = EncoderSentimentClassifier(
        encoder_dir, epochs=40, learning_rate=3e-3, batch_size=8, max_length=32, device="cpu"
    )
    assert clf.fit(texts, labels) is clf

    proba = clf.predict_proba(list(texts))
    assert proba.shape == (len(texts), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float(np.mean(clf.predict(list(texts)) == np.asarray(labels)))
    assert accuracy >= 0.9, f"the tiny encoder did not learn its training set: {accuracy:.2f}"
    # Diacritics-free input is understood as well (trained on stripped copies).
    stripped = [strip_diacritics(t) for t in texts]
    assert float(np.mean(clf.predict(stripped) == np.asarray(labels))) >= 0.75

    saved = clf.save(tmp_path / "saved")
    assert not list(saved.glob("*.bin")), "weights must be safetensors, not pickle"
    reloaded = load_classifier(saved)
    assert isinstance(reloaded, EncoderSentimentClassifier)
    np.testing.assert_allclose(reloaded.predict_proba(list(texts)), proba, atol=1e-5)
    assert list(reloaded.classes_) == list(LABELS)


def test_encoder_rejects_missing_directory(tmp_path: Path) -> None:
    from social_listening import ModelFormatError

    with pytest.raises(ModelFormatError):
        EncoderSentimentClassifier(tmp_path / "nope").fit(["a", "b"], ["negative", "positive"])
    with pytest.raises(ModelFormatError):
        EncoderSentimentClassifier.load(tmp_path)
