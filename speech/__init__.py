"""speech: meeting recordings -> probed, decoded -> Vietnamese segments -> speakers -> exports.

A pure library (no web, no MLflow). Public names are imported lazily, so ``import speech`` stays cheap
(faster-whisper, torch and python-docx load only when the matching function is used).

Example::

    from speech import Transcriber, Diarizer, Transcript, ensure_default_model, export, probe

    info = probe("hop.m4a")                                  # refuses bad files early (AudioError)
    model_dir = ensure_default_model("var/models/whisper-base")
    segments = list(Transcriber(model_dir).transcribe("hop.m4a", progress=print))  # or on_progress=TranscribeProgress
    segments = Diarizer().diarize("hop.m4a", segments)       # "Người nói 1", "Người nói 2", ...
    docx = export(Transcript("Họp UBND tỉnh", datetime.now(), info.duration_s, tuple(segments)), "docx")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "AudioError",
    "AudioInfo",
    "Diarizer",
    "EXPORT_FORMATS",
    "ImportedModel",
    "MEDIA_TYPES",
    "ModelError",
    "Segment",
    "SpeechError",
    "TranscribeOptions",
    "TranscribeProgress",
    "Transcriber",
    "Transcript",
    "Word",
    "collapse_loops",
    "ensure_default_model",
    "export",
    "find_loops",
    "import_model",
    "iter_audio",
    "merge_turns",
    "probe",
    "read_audio",
]

_WHERE = {
    "AudioError": "speech.errors",
    "ModelError": "speech.errors",
    "SpeechError": "speech.errors",
    "AudioInfo": "speech.audio",
    "iter_audio": "speech.audio",
    "probe": "speech.audio",
    "read_audio": "speech.audio",
    "Diarizer": "speech.diarize",
    "merge_turns": "speech.diarize",
    "EXPORT_FORMATS": "speech.exports",
    "MEDIA_TYPES": "speech.exports",
    "export": "speech.exports",
    "ImportedModel": "speech.convert",
    "import_model": "speech.convert",
    "Segment": "speech.transcript",
    "Transcript": "speech.transcript",
    "Word": "speech.transcript",
    "TranscribeOptions": "speech.options",
    "TranscribeProgress": "speech.transcriber",
    "Transcriber": "speech.transcriber",
    "collapse_loops": "speech.repetition",
    "find_loops": "speech.repetition",
    "ensure_default_model": "speech.weights",
}

if TYPE_CHECKING:
    from speech.audio import AudioInfo, iter_audio, probe, read_audio
    from speech.convert import ImportedModel, import_model
    from speech.diarize import Diarizer, merge_turns
    from speech.errors import AudioError, ModelError, SpeechError
    from speech.exports import EXPORT_FORMATS, MEDIA_TYPES, export
    from speech.options import TranscribeOptions
    from speech.repetition import collapse_loops, find_loops
    from speech.transcriber import TranscribeProgress, Transcriber
    from speech.transcript import Segment, Transcript, Word
    from speech.weights import ensure_default_model


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'speech' has no attribute {name!r}")
