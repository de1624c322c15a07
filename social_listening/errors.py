"""Exceptions of the social_listening package (one tree, all ``ValueError`` subclasses)."""

from __future__ import annotations

__all__ = ["CorpusError", "ModelFormatError", "PublicCorpusNotFoundError", "SocialListeningError", "TextError"]


class SocialListeningError(ValueError):
    """Base class of every error raised by :mod:`social_listening`.

    ``code`` is short and machine-readable; ``detail`` is JSON-ready data about the bad input, or ``None``.
    """

    code: str = "social_listening_error"
    detail: object = None


class TextError(SocialListeningError):
    """An input text is unusable (empty, whitespace only, too long, not a string, bad UTF-8).

    ``index`` is the position of the offending item in the batch (``None`` for a single text);
    ``reason`` is a short machine-readable code: ``empty``, ``whitespace``, ``too_long``,
    ``not_string``, ``invalid_utf8``, ``too_many``.
    """

    def __init__(self, message: str, *, index: int | None = None, reason: str = "invalid") -> None:
        prefix = f"texts[{index}]: " if index is not None else ""
        super().__init__(prefix + message)
        self.index = index
        self.reason = reason
        self.code = reason
        self.detail = {"index": index}


class CorpusError(SocialListeningError):
    """A corpus directory or file is missing or does not have the expected layout."""

    code = "corpus_error"


class PublicCorpusNotFoundError(CorpusError, FileNotFoundError):
    """The folder of the public corpora, or one corpus file in it, does not exist.

    Also a ``FileNotFoundError``, so ``except FileNotFoundError`` catches it. ``path`` is the missing path;
    the message names the setting to fix (``IOC_SOCIAL__PUBLIC_DATA_DIR``).
    """

    SETTING = "IOC_SOCIAL__PUBLIC_DATA_DIR"

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class ModelFormatError(SocialListeningError):
    """A saved model cannot be loaded (wrong format, untrusted types, missing files)."""

    code = "model_format_error"
