from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from speech.convert import detect_format, import_model, validate_ct2_model
from speech.errors import ModelError
from speech.weights import default_model_files


def _tiny_hf_whisper(out: Path) -> Path:
    """A randomly initialised 2-layer Whisper in Hugging Face format, with the base tokenizer."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    files = {p.name: p for p in default_model_files().side_files}
    ct2_cfg = json.loads(files["config.json"].read_text())
    tokenizer = transformers.WhisperTokenizerFast(tokenizer_file=str(files["tokenizer.json"]))
    torch.manual_seed(0)
    config = transformers.WhisperConfig(
        vocab_size=51865,
        num_mel_bins=80,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=448,
        suppress_tokens=ct2_cfg["suppress_ids"],
        begin_suppress_tokens=ct2_cfg["suppress_ids_begin"],
        decoder_start_token_id=50258,
        pad_token_id=50257,
        bos_token_id=50257,
        eos_token_id=50257,
    )
    transformers.WhisperForConditionalGeneration(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.mark.slow
def test_convert_tiny_hugging_face_whisper(tmp_path: Path) -> None:
    from faster_whisper import WhisperModel

    src = _tiny_hf_whisper(tmp_path / "hf")
    assert detect_format(src) == "huggingface"
    info = import_model(src, tmp_path / "ct2")
    assert info.source_format == "huggingface" and info.n_mels == 80 and info.multilingual
    assert {"model.bin", "config.json", "tokenizer.json", "preprocessor_config.json"} <= set(info.files)
    model = WhisperModel(str(info.path), device="cpu", compute_type="int8")
    segments, tinfo = model.transcribe(
        np.zeros(32000, np.float32), language="vi", beam_size=1, max_new_tokens=4, vad_filter=False
    )
    list(segments)  # random weights: any text, but it must decode without reaching for the network
    assert tinfo.language == "vi"
    with pytest.raises(ModelError, match="not to exist"):
        import_model(src, tmp_path / "ct2")


def test_import_ctranslate2_directory(tmp_path: Path, model_dir: Path) -> None:
    info = import_model(model_dir, tmp_path / "copy")
    assert info.source_format == "ctranslate2" and info.n_mels == 80 and info.multilingual
    assert (tmp_path / "copy" / "model.bin").stat().st_size == (model_dir / "model.bin").stat().st_size


@pytest.mark.parametrize("missing", ["tokenizer.json", "config.json"])
def test_incomplete_ctranslate2_directory(tmp_path: Path, model_dir: Path, missing: str) -> None:
    d = tmp_path / "broken"
    d.mkdir()
    for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if f != missing:
            shutil.copy(model_dir / f, d / f)
    (d / "model.bin").write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match=f"lacks {missing}") as err:
        validate_ct2_model(d, load=False)
    assert err.value.code == "bad_model"


def test_corrupt_weights_and_unknown_directories(tmp_path: Path, model_dir: Path) -> None:
    d = tmp_path / "corrupt"
    d.mkdir()
    for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(model_dir / f, d / f)
    (d / "model.bin").write_bytes(b"\0" * 100)
    with pytest.raises(ModelError, match="loadable CTranslate2 weights"):
        import_model(d, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="Expected a CTranslate2 Whisper directory"):
        detect_format(tmp_path / "empty")
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text('{"model_type": "bert"}')
    (bert / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelError, match="Got: 'bert'"):
        detect_format(bert)
