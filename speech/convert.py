"""Bring a better Whisper model: validate a CTranslate2 directory or convert a Hugging Face one.

A center that has better weights (VinAI's PhoWhisper, Whisper large-v3 or turbo) supplies a
directory; :func:`import_model` turns it into a CTranslate2 directory that
:class:`speech.Transcriber` loads offline:

- a CTranslate2 Whisper directory (``model.bin``, ``config.json``, ``tokenizer.json``,
  ``vocabulary.json``/``.txt``, optionally ``preprocessor_config.json``) is checked and copied;
- a Hugging Face directory (``config.json`` with ``model_type: whisper``, ``*.safetensors`` or
  ``pytorch_model.bin``, tokenizer files) is converted with CTranslate2's ``TransformersConverter``
  (needs the ``speech-convert`` extra: transformers and torch), with ``tokenizer.json`` and
  ``preprocessor_config.json`` written so that faster-whisper never reaches for the network.

The result is written to a temporary sibling and renamed into place: ``dst_dir`` is complete or absent.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from speech.errors import ModelError

__all__ = ["ImportedModel", "detect_format", "import_model", "validate_ct2_model"]

logger = logging.getLogger(__name__)

_CT2_REQUIRED = ("model.bin", "config.json", "tokenizer.json")
_CT2_OPTIONAL = ("preprocessor_config.json", "vocabulary.json", "vocabulary.txt")
_HF_WEIGHTS = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
_QUANTIZATIONS = (
    None,
    "int8",
    "int8_float16",
    "int8_float32",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
)


@dataclass(frozen=True)
class ImportedModel:
    """What :func:`import_model` produced.

    Attributes:
        path: the CTranslate2 directory.
        source_format: ``"ctranslate2"`` (validated and copied) or ``"huggingface"`` (converted).
        n_mels: mel bins the model expects (80, or 128 for large-v3).
        multilingual: whether the vocabulary has the language tokens.
        files: the files written, names only.
    """

    path: Path
    source_format: Literal["ctranslate2", "huggingface"]
    n_mels: int
    multilingual: bool
    files: tuple[str, ...]


def detect_format(src_dir: str | os.PathLike[str]) -> Literal["ctranslate2", "huggingface"]:
    """Say whether ``src_dir`` holds a CTranslate2 or a Hugging Face Whisper model.

    Raises:
        ModelError: (``bad_model``) when it is neither.
    """
    src = Path(src_dir)
    if not src.is_dir():
        raise ModelError(
            f"Expected a model directory. Got: {src} does not exist or is not a directory.", code="bad_model"
        )
    if (src / "model.bin").is_file():
        return "ctranslate2"
    cfg = _read_json(src / "config.json") if (src / "config.json").is_file() else {}
    if any((src / w).is_file() for w in _HF_WEIGHTS):
        if cfg.get("model_type") != "whisper":
            raise ModelError(
                f"Expected a Whisper model (config.json model_type 'whisper'). "
                f"Got: {cfg.get('model_type')!r} in {src}.",
                code="bad_model",
            )
        return "huggingface"
    raise ModelError(
        f"Expected a CTranslate2 Whisper directory (model.bin) or a Hugging Face one (config.json + "
        f"model.safetensors/pytorch_model.bin). Got: {sorted(p.name for p in src.iterdir())[:12]} in {src}.",
        code="bad_model",
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelError(f"Expected valid JSON in {path}. Got: {type(e).__name__}: {e}.", code="bad_model") from e
    if not isinstance(data, dict):
        raise ModelError(f"Expected a JSON object in {path}. Got: {type(data).__name__}.", code="bad_model")
    return data


def validate_ct2_model(model_dir: str | os.PathLike[str], *, load: bool = True) -> ImportedModel:
    """Check that ``model_dir`` is a complete CTranslate2 Whisper directory usable offline.

    Args:
        model_dir: the directory.
        load: also load it with ``ctranslate2.models.Whisper`` on CPU (catches corrupt weights).

    Raises:
        ModelError: ``bad_model`` naming what is missing or wrong.
    """
    d = Path(model_dir)
    missing = [f for f in _CT2_REQUIRED if not (d / f).is_file()]
    if not ((d / "vocabulary.json").is_file() or (d / "vocabulary.txt").is_file()):
        missing.append("vocabulary.json or vocabulary.txt")
    if missing:
        raise ModelError(
            f"Expected a CTranslate2 Whisper directory with {', '.join(_CT2_REQUIRED)} and a vocabulary. "
            f"Got: {d} lacks {', '.join(missing)}.",
            code="bad_model",
        )
    cfg = _read_json(d / "config.json")
    for key in ("suppress_ids", "suppress_ids_begin", "lang_ids"):
        if key not in cfg:
            raise ModelError(
                f"Expected {key!r} in {d / 'config.json'} (a Whisper model). Got: keys {sorted(cfg)}.",
                code="bad_model",
            )
    tok = _read_json(d / "tokenizer.json")
    if "model" not in tok:
        raise ModelError(
            f"Expected a Hugging Face tokenizers file at {d / 'tokenizer.json'}. Got: keys {sorted(tok)}.",
            code="bad_model",
        )
    n_mels = 80
    if (d / "preprocessor_config.json").is_file():
        n_mels = int(_read_json(d / "preprocessor_config.json").get("feature_size", 80))
    multilingual = bool(cfg.get("lang_ids"))
    if load:
        import ctranslate2

        try:
            model = ctranslate2.models.Whisper(str(d), device="cpu", compute_type="int8")
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(
                f"Expected loadable CTranslate2 weights in {d}. Got: {type(e).__name__}: {e}",
                code="bad_model",
            ) from e
        multilingual = bool(model.is_multilingual)
        n_mels = int(getattr(model, "n_mels", n_mels))
        del model
    return ImportedModel(
        path=d,
        source_format="ctranslate2",
        n_mels=n_mels,
        multilingual=multilingual,
        files=tuple(sorted(p.name for p in d.iterdir() if p.is_file())),
    )


def import_model(
    src_dir: str | os.PathLike[str],
    dst_dir: str | os.PathLike[str],
    *,
    quantization: str | None = "int8_float16",
    force: bool = False,
) -> ImportedModel:
    """Make ``dst_dir`` a validated CTranslate2 Whisper directory from the model in ``src_dir``.

    Args:
        src_dir: a CTranslate2 directory, or a Hugging Face Whisper directory to convert.
        dst_dir: where to write; must not exist unless ``force``.
        quantization: weight type stored by the conversion (``int8_float16`` keeps the file small
            and loads as int8 on CPU, float16 on GPU); ignored for CTranslate2 input.
        force: replace an existing ``dst_dir``.

    Returns:
        The :class:`ImportedModel` at ``dst_dir``.

    Raises:
        ModelError: ``bad_model`` (input not a usable Whisper), ``conversion_failed``,
            ``missing_dependency`` (transformers/torch not installed for a conversion).
    """
    if quantization not in _QUANTIZATIONS:
        raise ValueError(f"Expected quantization among {_QUANTIZATIONS}. Got: {quantization!r}.")
    src, dst = Path(src_dir), Path(dst_dir)
    fmt = detect_format(src)
    if dst.exists() and not force:
        raise ModelError(
            f"Expected {dst} not to exist (pass force=True to replace it). Got: it exists.", code="bad_model"
        )
    if src.resolve() == dst.resolve():
        raise ModelError(f"Expected different source and destination directories. Got: {src} twice.", code="bad_model")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    os.chmod(tmp, 0o755)
    try:
        if fmt == "ctranslate2":
            validate_ct2_model(src, load=False)
            for f in (*_CT2_REQUIRED, *_CT2_OPTIONAL):
                if (src / f).is_file():
                    shutil.copy2(src / f, tmp / f)
        else:
            _convert_hf(src, tmp, quantization)
        info = validate_ct2_model(tmp, load=True)
        if dst.exists():
            shutil.rmtree(dst)
        os.rename(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("Imported a %s Whisper model from %s into %s", fmt, src, dst)
    return ImportedModel(
        path=dst, source_format=fmt, n_mels=info.n_mels, multilingual=info.multilingual, files=info.files
    )


def _convert_hf(src: Path, out: Path, quantization: str | None) -> None:
    try:
        import transformers
        from ctranslate2.converters import TransformersConverter
    except ImportError as e:
        raise ModelError(
            "Expected transformers and torch to convert a Hugging Face model (pip install "
            f"'dieu-hanh-ai[speech-convert]'). Got: {e}.",
            code="missing_dependency",
        ) from e
    cfg = _read_json(src / "config.json")
    try:
        tokenizer_cls: Any = transformers.WhisperTokenizerFast  # type: ignore[attr-defined]
        tokenizer = tokenizer_cls.from_pretrained(str(src), local_files_only=True)
    except (OSError, ValueError, TypeError) as e:
        raise ModelError(
            f"Expected Whisper tokenizer files (tokenizer.json, or vocab.json + merges.txt) in {src}. Got: {e}",
            code="bad_model",
        ) from e
    copy = [f for f in ("preprocessor_config.json",) if (src / f).is_file()]
    try:
        # ctranslate2 rewrites the output directory: convert into a subdirectory, then move.
        staged = out / "_ct2"
        TransformersConverter(str(src), copy_files=copy or None, low_cpu_mem_usage=True).convert(
            str(staged), quantization=quantization, force=True
        )
    except (RuntimeError, ValueError, OSError, KeyError, NotImplementedError) as e:
        raise ModelError(
            f"Expected CTranslate2 to convert {src}. Got: {type(e).__name__}: {e}", code="conversion_failed"
        ) from e
    for p in staged.iterdir():
        shutil.move(str(p), out / p.name)
    staged.rmdir()
    # faster-whisper downloads a tokenizer when tokenizer.json is absent: always write one.
    if not (out / "tokenizer.json").is_file():
        tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    if not (out / "preprocessor_config.json").is_file():
        (out / "preprocessor_config.json").write_text(
            json.dumps({"feature_size": int(cfg.get("num_mel_bins", 80)), "sampling_rate": 16000}, indent=2),
            encoding="utf-8",
        )
