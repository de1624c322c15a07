"""The exception tree of the speech package.

Every error the package raises on purpose derives from :class:`SpeechError`; each also subclasses
the matching built-in, so callers' ``except ValueError`` / ``except RuntimeError`` still work.
Each carries a short machine-readable ``code`` that the API turns into ``{"error": {"code": ...}}``.
"""

from __future__ import annotations

__all__ = ["AudioError", "ModelError", "SpeechError"]


class SpeechError(Exception):
    """Base class of all errors raised by :mod:`speech`.

    Attributes:
        code: short machine-readable reason, e.g. ``"not_audio"`` or ``"bad_model"``.
        detail: JSON-ready data about the bad input, or ``None``.
    """

    default_code = "speech_error"

    def __init__(self, message: str, code: str | None = None, detail: object = None) -> None:
        super().__init__(message)
        self.code: str = code or self.default_code
        self.detail = detail

    @property
    def message(self) -> str:
        """The human-readable message (what was expected, and what came)."""
        return str(self.args[0]) if self.args else ""


class AudioError(SpeechError, ValueError):
    """The input file cannot be used as meeting audio.

    Codes: ``not_found``, ``empty``, ``not_audio``, ``no_audio_stream``, ``unsupported_codec``,
    ``too_long``, ``truncated``, ``corrupt``, ``unknown_duration``.
    A caller should answer 4xx (415/413/422) for these: the input, not the service, is at fault.
    """

    default_code = "bad_audio"


class ModelError(SpeechError, RuntimeError):
    """A Whisper model directory is missing, incomplete, corrupt or cannot be converted.

    Codes: ``missing_weights``, ``checksum_mismatch``, ``bad_model``, ``conversion_failed``,
    ``missing_dependency``.
    """

    default_code = "bad_model"
