"""Benchmark of the meeting transcription pipeline against raw faster-whisper (issue 4's targets).

Builds >= 10 minutes of Vietnamese meeting audio with espeak-ng from the script in
experiments/data/speech_meeting_vi.txt (8 speakers: the three espeak-ng Vietnamese accents with
different voice variants, pitches and speeds; pauses between turns; the script is read again with
the voices rotated until the target length is reached), encodes it as a 32 kbit/s mp3 (what phones
upload), then, each in its own subprocess (so each peak RSS is its own):

- ``ours``: speech.Transcriber (windowed decoding, Silero VAD, batched decoding, loop repair),
  then speech.Diarizer (timed separately);
- ``raw``: faster-whisper ``BatchedInferencePipeline.transcribe(path, ...)`` with the same weights
  and the same decoding settings (``TranscribeOptions.batched_kwargs()``);
- ``raw_fw_defaults``: the same, with faster-whisper's batched defaults for the timestamp options
  (``without_timestamps=True``, no word timestamps), for reference;
- ``ours_collapse_only``: ours with ``redecode_loops=False`` (loops collapsed, not decoded again).

It reports WER (NFC, lower case, punctuation removed), real-time factor (transcription wall time /
audio duration, model load excluded), CPU seconds, peak RSS, repetition loops found in the output,
and the diarization frame accuracy. A second part builds a 3-hour mp3 (the meeting, then silence)
and measures the peak RSS of both pipelines on it, end to end.

    python -m experiments.speech_benchmark --help
    nice -n 10 python -m experiments.speech_benchmark --cpu-threads 2

``--meeting-dir DIR`` keeps the built meeting (meeting.mp3 and meeting.json) and reuses it on the next
run with the same script and length, which is how it travels to a machine without espeak-ng;
``--device cuda`` measures the GPU path (float16 unless ``--compute-type`` says otherwise).

Timings are noisy on a shared machine: the report gives the load average before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from speech.metrics import word_error_rate, words

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = REPO / "experiments" / "data" / "speech_meeting_vi.txt"
DEFAULT_OUT = REPO / "experiments" / "results"
SR = 16000

# Voice per speaker: (espeak-ng voice+variant, pitch 0-99, words per minute).
VOICES = [
    ("vi+m3", 40, 150),
    ("vi-vn-x-south+f3", 70, 160),
    ("vi-vn-x-central+m1", 30, 140),
    ("vi+f2", 65, 155),
    ("vi-vn-x-south+m2", 45, 165),
    ("vi-vn-x-central+f4", 60, 150),
    ("vi+m7", 35, 145),
    ("vi-vn-x-south+f5", 55, 170),
]
PAUSE_SAME_S = 0.5
PAUSE_TURN_S = 1.3


# ----------------------------------------------------------------------------------------- audio
def _read_script(path: Path) -> list[tuple[str, str]]:
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        speaker, text = raw.split("|", 1)
        lines.append((speaker.strip(), unicodedata.normalize("NFC", text.strip())))
    return lines


def _encode_mp3(samples: np.ndarray, path: Path, bit_rate: int = 32000) -> Path:
    import av

    with av.open(str(path), "w", options={"write_xing": "0", "id3v2_version": "0", "write_id3v1": "0"}) as out:
        stream = out.add_stream("libmp3lame", rate=SR, layout="mono")
        stream.bit_rate = bit_rate
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 1152 * 8):
            frame = av.AudioFrame.from_ndarray(pcm[i : i + 1152 * 8].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = SR
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return path


def build_meeting(text_path: Path, work: Path, min_minutes: float) -> dict[str, Any]:
    """Render the script with espeak-ng; returns paths, reference text and speaker turns."""
    from speech.audio import read_audio

    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is required (apt-get install espeak-ng)")
    script = _read_script(text_path)
    speakers = sorted({s for s, _ in script}, key=[s for s, _ in script].index)
    parts: list[np.ndarray] = []
    turns: list[tuple[float, float, str]] = []
    reference: list[str] = []  # one sentence (script line) per turn
    t = 0.0
    n_pass = 0
    previous = None
    while t < min_minutes * 60:
        for speaker, text in script:
            voice, pitch, speed = VOICES[(speakers.index(speaker) + n_pass) % len(VOICES)]
            wav = work / "line.wav"
            subprocess.run([espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav), text], check=True)
            audio = read_audio(wav)
            if previous is not None:
                pause = PAUSE_SAME_S if previous == speaker else PAUSE_TURN_S
                parts.append(np.zeros(int(pause * SR), np.float32))
                t += pause
            parts.append(0.5 * audio / max(1e-3, float(np.abs(audio).max())))
            # The reference speaker is the voice (what a diarizer can hear), not the script's role:
            # voices rotate over roles from one pass of the script to the next.
            turns.append((t, t + len(audio) / SR, voice))
            t += len(audio) / SR
            reference.append(text)
            previous = speaker
        n_pass += 1
    samples = np.concatenate(parts)
    mp3 = _encode_mp3(samples, work / "meeting.mp3")
    return {
        "path": str(mp3),
        "duration_s": len(samples) / SR,
        "reference": " ".join(reference),
        "sentences": reference,
        "turns": turns,
        "passes": n_pass,
        "n_speakers": len(speakers),
        "samples": samples,
    }


def build_long(meeting: dict[str, Any], work: Path, hours: float) -> dict[str, Any]:
    """A ``hours``-long mp3: the meeting, then silence (CBR mp3 frames concatenated byte-wise)."""
    head = Path(meeting["path"]).read_bytes()
    silence = _encode_mp3(np.zeros(60 * SR, np.float32), work / "silence60.mp3").read_bytes()
    minutes = int(round(hours * 60 - meeting["duration_s"] / 60))
    path = work / "long.mp3"
    with path.open("wb") as f:
        f.write(head)
        for _ in range(minutes):
            f.write(silence)
    return {"path": str(path), "speech_s": meeting["duration_s"], "silence_minutes": minutes}


# ------------------------------------------------------------------------------------- metrics
normalize = words
wer = word_error_rate


def sentence_coverage(
    turns: list[tuple[float, float, str]], sentences: list[str], segments: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Whether each reference sentence (script line, spoken from ``turns[i][0]`` to ``turns[i][1]`` s) is at least
    partly in the transcript: ``covered`` is the share of its span under segments, ``hits`` the share of its
    words found in the segments overlapping it. Dropped: ``covered`` < 0.2 (no text for most of it)."""
    out = []
    for (a, b, _), text in zip(turns, sentences, strict=True):
        covered = sum(max(0.0, min(b, s["end"]) - max(a, s["start"])) for s in segments) / max(1e-9, b - a)
        hyp = {w for s in segments if s["end"] > a and s["start"] < b for w in words(s["text"])}
        ref = words(text)
        hits = sum(w in hyp for w in ref) / max(1, len(ref))
        out.append(
            {
                "start": round(a, 2),
                "end": round(b, 2),
                "covered": round(min(1.0, covered), 3),
                "hits": round(hits, 3),
                "dropped": covered < 0.2,
                "text": text,
            }
        )
    return out


def diarization_accuracy(turns: list[tuple[float, float, str]], segments: list[dict[str, Any]]) -> float:
    """Fraction of reference speech frames (0.1 s) whose hypothesis speaker matches after the best
    one-to-one mapping of labels (unlabelled frames count as errors)."""
    from scipy.optimize import linear_sum_assignment

    step = 0.1
    ref_names = sorted({s for _, _, s in turns})
    hyp_names = sorted({s["speaker"] for s in segments if s.get("speaker")})
    if not hyp_names:
        return 0.0
    m = np.zeros((len(ref_names), len(hyp_names)))
    total = 0
    hyp = sorted(segments, key=lambda s: s["start"])
    starts = np.array([s["start"] for s in hyp])
    for a, b, spk in turns:
        for t in np.arange(a, b, step):
            total += 1
            k = int(np.searchsorted(starts, t, side="right")) - 1
            if k >= 0 and hyp[k]["start"] <= t <= hyp[k]["end"] and hyp[k].get("speaker"):
                m[ref_names.index(spk), hyp_names.index(hyp[k]["speaker"])] += 1
    rows, cols = linear_sum_assignment(-m)
    return float(m[rows, cols].sum() / max(1, total))


def voice_similarity(meeting: dict[str, Any]) -> dict[str, float]:
    """How far apart the reference voices are for the voice encoder the diarizer uses: cosine
    similarity between voice centroids (max and mean over pairs) and of windows to their own
    voice's centroid (mean). Real voices of different people sit around 0.5-0.7; when the synthetic
    voices' pairs reach ~0.9, low speaker accuracy says more about the audio than the diarizer."""
    from speech.diarize import Diarizer
    from speech.transcript import Segment

    turns = meeting["turns"]
    X, windows = Diarizer().embed(meeting["path"], [Segment(start=a, end=b, text="") for a, b, _ in turns])
    voice = np.array([turns[w.segment][2] for w in windows], dtype=object)
    names = sorted(set(voice.tolist()))
    c = np.stack([X[voice == n].mean(axis=0) for n in names])
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    sim = c @ c.T
    pairs = sim[np.triu_indices(len(names), k=1)]
    own = np.mean([float(X[i] @ c[names.index(voice[i])]) for i in range(len(X))])
    return {"between_max": float(pairs.max()), "between_mean": float(pairs.mean()), "within_mean": float(own)}


# -------------------------------------------------------------------------------------- workers
def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _meeting_key(text_path: Path, min_minutes: float) -> str:
    """What a built meeting depends on: the script's content and the length asked for."""
    return f"{hashlib.sha256(text_path.read_bytes()).hexdigest()}:{min_minutes:g}:sentences"


def save_meeting(meeting: dict[str, Any], directory: Path, key: str) -> None:
    """Keep a built meeting (its mp3 and its reference) for later runs, here or on another machine."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(meeting["path"], directory / "meeting.mp3")
    meta = {k: v for k, v in meeting.items() if k not in ("path", "samples")} | {"key": key}
    (directory / "meeting.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def load_meeting(directory: Path, key: str) -> dict[str, Any] | None:
    """The meeting kept by :func:`save_meeting` for the same script and length, else None."""
    meta, mp3 = directory / "meeting.json", directory / "meeting.mp3"
    if not (meta.is_file() and mp3.is_file()):
        return None
    meeting = json.loads(meta.read_text(encoding="utf-8"))
    if meeting.pop("key", None) != key:
        print(f"{directory}: kept meeting was built from another script or length; building again", flush=True)
        return None
    meeting["turns"] = [tuple(t) for t in meeting["turns"]]
    return {**meeting, "path": str(mp3)}


def worker(
    kind: str,
    audio: str,
    model_dir: str,
    cpu_threads: int,
    opts_json: str,
    diarize: bool,
    result: str,
    device: str = "cpu",
    compute_type: str | None = None,
) -> None:
    from speech.transcriber import TranscribeOptions, Transcriber

    opts = TranscribeOptions(**json.loads(opts_json))
    if kind == "ours_collapse_only":
        opts = replace(opts, redecode_loops=False)
    out: dict[str, Any] = {"kind": kind}
    t0 = time.perf_counter()
    if kind.startswith("ours"):
        tr = Transcriber(
            model_dir, device=device, compute_type=compute_type, cpu_threads=cpu_threads, options=opts
        ).load()
        out["load_s"] = time.perf_counter() - t0
        out["rss_after_load_mb"] = _rss_mb()
        c0, t1 = _cpu_s(), time.perf_counter()
        segs = list(tr.transcribe(audio))
        out["transcribe_s"] = time.perf_counter() - t1
        out["transcribe_cpu_s"] = _cpu_s() - c0
        out["rss_after_transcribe_mb"] = _rss_mb()
        out["flags"] = sorted({f for s in segs for f in s.flags})
        out["n_flagged"] = sum(1 for s in segs if s.flags)
        out["flag_counts"] = {f: sum(f in s.flags for s in segs) for f in out["flags"]}
        out["dropped_s"] = sum(s.dropped_s for s in segs)
        if diarize:
            from speech.diarize import Diarizer

            t2 = time.perf_counter()
            segs = Diarizer().diarize(audio, segs)
            out["diarize_s"] = time.perf_counter() - t2
        out["segments"] = [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text} for s in segs]
    else:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from speech.transcriber import default_compute_type

        model = WhisperModel(
            model_dir, device=device, compute_type=compute_type or default_compute_type(device), cpu_threads=cpu_threads
        )
        pipe = BatchedInferencePipeline(model)
        out["load_s"] = time.perf_counter() - t0
        out["rss_after_load_mb"] = _rss_mb()
        kwargs = opts.batched_kwargs()
        if kind == "raw_fw_defaults":
            kwargs.update(without_timestamps=True, word_timestamps=False)
        c0, t1 = _cpu_s(), time.perf_counter()
        segments, _info = pipe.transcribe(audio, **kwargs)
        segs = list(segments)
        out["transcribe_s"] = time.perf_counter() - t1
        out["transcribe_cpu_s"] = _cpu_s() - c0
        out["rss_after_transcribe_mb"] = _rss_mb()
        out["segments"] = [{"start": s.start, "end": s.end, "speaker": None, "text": s.text.strip()} for s in segs]
    out["peak_rss_mb"] = _rss_mb()
    Path(result).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


def run_worker(
    kind: str, audio: str, args: argparse.Namespace, model_dir: Path, work: Path, diarize: bool = False
) -> dict[str, Any]:
    result = work / f"{kind}-{Path(audio).stem}.json"
    opts = {"beam_size": args.beam_size, "batch_size": args.batch_size}
    cmd = [
        sys.executable,
        "-m",
        "experiments.speech_benchmark",
        "--worker",
        kind,
        "--audio",
        audio,
        "--model-dir",
        str(model_dir),
        "--cpu-threads",
        str(args.cpu_threads),
        "--opts",
        json.dumps(opts),
        "--result",
        str(result),
        "--device",
        args.device,
    ]
    if args.compute_type:
        cmd += ["--compute-type", args.compute_type]
    if diarize:
        cmd.append("--worker-diarize")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    out = json.loads(result.read_text(encoding="utf-8"))
    out["process_wall_s"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------------------- main
def _score(r: dict[str, Any], kind: str, meeting: dict[str, Any], diarize: bool = True) -> dict[str, Any]:
    """Add accuracy, loops and (ours) speaker figures to one run's result."""
    from speech.repetition import find_loops

    hyp = " ".join(s["text"] for s in r["segments"])
    r["wer"] = wer(meeting["reference"], hyp)
    coverage = sentence_coverage(meeting["turns"], meeting["sentences"], r["segments"])
    r["dropped_sentences"] = [c for c in coverage if c["dropped"]]
    r["sentences_without_a_word"] = sum(1 for c in coverage if c["hits"] == 0)
    r["n_sentences"] = len(coverage)
    r["loops"] = [
        {"start": s["start"], "unit": lp.text, "repeats": lp.repeats}
        for s in r["segments"]
        for lp in find_loops(s["text"])
    ]
    if kind == "ours" and diarize:
        r["diarization_accuracy"] = diarization_accuracy(meeting["turns"], r["segments"])
        r["n_speakers_found"] = len({s["speaker"] for s in r["segments"]})
        r["voice_similarity"] = voice_similarity(meeting)
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--text", type=Path, default=DEFAULT_TEXT, help="meeting script, SPEAKER|text lines")
    p.add_argument(
        "--data-dir", type=Path, default=REPO.parent / "shared" / "data", help="unused (audio is synthesised)"
    )
    p.add_argument("--min-minutes", type=float, default=10.0, help="length of the synthetic meeting")
    p.add_argument("--long-hours", type=float, default=3.0, help="length of the memory-test file; 0 skips it")
    p.add_argument("--long-runs", default="ours,raw", help="comma-separated pipelines run on the long file")
    p.add_argument("--model-dir", type=Path, default=None, help="CTranslate2 Whisper dir (default: base, assembled)")
    p.add_argument("--cpu-threads", type=int, default=2)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both pipelines decode")
    p.add_argument("--compute-type", default=None, help="CTranslate2 compute type (default: int8 CPU, float16 CUDA)")
    p.add_argument("--meeting-dir", type=Path, default=None, help="reuse the meeting kept here, or keep the one built")
    p.add_argument("--no-diarize", dest="diarize", action="store_false", help="skip speaker labels (and their figures)")
    p.add_argument("--repeats", type=int, default=2, help="runs of each pipeline on the meeting, alternated")
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=4, help="first pass, both pipelines (memory grows with it)")
    p.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    p.add_argument("--name", default="speech_benchmark", help="file names of the report in --out-dir (.md, .json)")
    p.add_argument("--work-dir", type=Path, default=None, help="scratch dir (default: a temporary one)")
    p.add_argument("--mlflow-uri", default=None, help="log params and metrics to this MLflow tracking URI")
    p.add_argument(
        "--runs",
        default="raw,ours,raw_fw_defaults,ours_collapse_only",
        help="comma-separated runs on the meeting audio (raw and ours are required for the targets)",
    )
    # internal: one measured run in a subprocess
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--audio", help=argparse.SUPPRESS)
    p.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--worker-diarize", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"expected --repeats >= 1, got {args.repeats}")

    if args.worker:
        worker(
            args.worker,
            args.audio,
            str(args.model_dir),
            args.cpu_threads,
            args.opts,
            args.worker_diarize,
            args.result,
            args.device,
            args.compute_type,
        )
        return 0

    from speech.transcriber import default_compute_type
    from speech.weights import ensure_default_model

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="speech-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or ensure_default_model(work / "whisper-base")
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    key = _meeting_key(args.text, args.min_minutes)
    meeting = load_meeting(args.meeting_dir, key) if args.meeting_dir else None
    if meeting is None:
        meeting = build_meeting(args.text, work, args.min_minutes)
        if args.meeting_dir:
            save_meeting(meeting, args.meeting_dir, key)
    print(
        f"meeting: {meeting['duration_s'] / 60:.1f} min, {meeting['n_speakers']} speakers, "
        f"built in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    duration = meeting["duration_s"]
    runs: dict[str, dict[str, Any]] = {}
    kinds = [k.strip() for k in args.runs.split(",") if k.strip()]
    # Repeats alternate the pipelines (raw, ours, raw, ours, ...) so that a change in the machine's load
    # falls on both; speed is the median over the repeats, the rest comes from the first one.
    for rep in range(args.repeats):
        for kind in kinds:
            load0 = os.getloadavg()[0]
            diarize = args.diarize and kind == "ours" and rep == 0
            r = run_worker(kind, meeting["path"], args, model_dir, work, diarize=diarize)
            sample = {"wall_s": r["transcribe_s"], "cpu_s": r["transcribe_cpu_s"], "load": [load0, os.getloadavg()[0]]}
            if rep == 0:
                runs[kind] = {**_score(r, kind, meeting, args.diarize), "repeats": [], "load_1min": sample["load"]}
            else:
                print(
                    f"{kind} (repeat {rep + 1}): {sample['wall_s']:.1f} s wall, {sample['cpu_s']:.0f} CPU-s", flush=True
                )
            runs[kind]["repeats"].append(sample)
    for kind in kinds:
        r = runs[kind]
        r["transcribe_s"] = float(np.median([x["wall_s"] for x in r["repeats"]]))
        r["transcribe_cpu_s"] = float(np.median([x["cpu_s"] for x in r["repeats"]]))
        r["rtf"] = r["transcribe_s"] / duration
        r["cpu_rtf"] = r["transcribe_cpu_s"] / duration
        if kind == "ours":
            r["rtf_with_diarization"] = (r["transcribe_s"] + r.get("diarize_s", 0.0)) / duration
        print(
            f"{kind}: WER {r['wer']:.3f}  RTF {r['rtf']:.3f}  CPU-s {r['transcribe_cpu_s']:.0f}  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB  loops {len(r['loops'])}",
            flush=True,
        )

    long_runs: dict[str, Any] = {}
    if args.long_hours > 0:
        long = build_long(meeting, work, args.long_hours)
        from speech.audio import probe

        long["duration_s"] = probe(long["path"], max_duration_s=args.long_hours * 3600 + 600).duration_s
        for kind in [k.strip() for k in args.long_runs.split(",") if k.strip()]:
            r = run_worker(kind, long["path"], args, model_dir, work)
            long_runs[kind] = {
                k: r[k] for k in ("peak_rss_mb", "rss_after_load_mb", "transcribe_s", "transcribe_cpu_s", "load_s")
            }
            long_runs[kind]["rtf"] = r["transcribe_s"] / long["duration_s"]
            long_runs[kind]["n_segments"] = len(r["segments"])
            print(f"long {kind}: peak RSS {r['peak_rss_mb']:.0f} MB, {r['transcribe_s']:.0f} s", flush=True)
        long_runs["file"] = {k: v for k, v in long.items() if k != "path"}

    ours, raw = runs["ours"], runs["raw"]
    targets = {
        "rtf_le_0.13": ours["rtf"] <= 0.13,
        "rtf_le_1.10x_raw": ours["rtf"] <= 1.10 * raw["rtf"],
        "wer_not_worse_than_raw": ours["wer"] <= raw["wer"] + 1e-9,
        "no_loops": not ours["loops"],
        "every_sentence_present": not ours["dropped_sentences"],
        # ru_maxrss is in KiB: the limit is 1.5e9 bytes (1430.5 MiB), not 1.5 GiB.
        "peak_rss_3h_le_1.5GB": (long_runs["ours"]["peak_rss_mb"] * 2**20 <= 1.5e9) if long_runs else None,
    }
    report = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "settings": {
            "model_dir": str(model_dir),
            "cpu_threads": args.cpu_threads,
            "beam_size": args.beam_size,
            "batch_size": args.batch_size,
            "device": args.device,
            "compute_type": args.compute_type or default_compute_type(args.device),
            "repeats": args.repeats,
        },
        "audio": {
            "duration_s": duration,
            "n_speakers": meeting["n_speakers"],
            "passes": meeting["passes"],
            "reference_words": len(normalize(meeting["reference"])),
        },
        "runs": {k: {kk: vv for kk, vv in v.items() if kk != "segments"} for k, v in runs.items()},
        "long": long_runs,
        "targets": targets,
        "samples": {k: " ".join(s["text"] for s in v["segments"])[:400] for k, v in runs.items()},
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (args.out_dir / f"{args.name}.md").write_text(_markdown(report), encoding="utf-8")
    print(_markdown(report))
    if args.mlflow_uri:
        _log_mlflow(args.mlflow_uri, report)
    if args.work_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Speech benchmark (issue 4)",
        "",
        f"Run {r['created']} on {r['machine']['cpus']} CPUs (shared; load average before "
        f"{r['machine']['load_before'][0]:.1f}, after {r['machine']['load_after'][0]:.1f}: "
        "timings are noisy). "
        f"Whisper {Path(r['settings']['model_dir']).name} {r['settings']['compute_type']} "
        f"on {r['settings'].get('device', 'cpu')}, beam {r['settings']['beam_size']}, "
        f"batch {r['settings']['batch_size']}, "
        f"{r['settings']['cpu_threads']} threads, {r['settings'].get('repeats', 1)} alternated repeat(s). "
        f"Audio: {r['audio']['duration_s'] / 60:.1f} min of espeak-ng Vietnamese, "
        f"{r['audio']['n_speakers']} voices, {r['audio']['reference_words']} reference words.",
        "",
        "| run | WER | sentences dropped | RTF (wall, median) | CPU s (median) | wall s per repeat | peak RSS MiB | "
        "loops | load 1-min before/after | notes |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k, v in r["runs"].items():
        walls = ", ".join(f"{x['wall_s']:.1f}" for x in v.get("repeats", []))
        notes = ""
        if k == "ours" and "diarization_accuracy" in v:
            notes = (
                f"+ diarization {v.get('diarize_s', 0):.0f} s "
                f"(RTF with it {v.get('rtf_with_diarization', 0):.3f}), "
                f"speaker accuracy {v.get('diarization_accuracy', 0):.2f}, "
                f"{v.get('n_speakers_found')} speakers found; flags {v.get('flag_counts', v.get('flags'))}"
            )
            if "voice_similarity" in v:
                vs = v["voice_similarity"]
                notes += (
                    f"; voice-encoder cosine between the synthetic voices max {vs['between_max']:.2f} "
                    f"mean {vs['between_mean']:.2f} (windows to own voice {vs['within_mean']:.2f})"
                )
        lines.append(
            f"| {k} | {v['wer']:.3f} | {len(v['dropped_sentences'])} of {v['n_sentences']} | {v['rtf']:.3f} | "
            f"{v['transcribe_cpu_s']:.0f} | "
            f"{walls} | "
            f"{v['peak_rss_mb']:.0f} | {len(v['loops'])} | "
            f"{'/'.join(f'{x:.1f}' for x in v.get('load_1min', []))} | {notes} |"
        )
    dropped = [(k, c) for k, v in r["runs"].items() for c in v["dropped_sentences"]]
    if dropped:
        lines += ["", "Sentences dropped (under 20% of their span covered by a segment):", ""]
        lines += [
            f"- {k}: {c['start']:.1f}-{c['end']:.1f} s, covered {c['covered']:.2f}: {c['text'][:70]}"
            for k, c in dropped
        ]
    if r["long"]:
        f = r["long"]["file"]
        lines += [
            "",
            f"3-hour file ({f['duration_s'] / 3600:.2f} h mp3: the meeting then "
            f"{f['silence_minutes']} min of silence; full pipeline end to end):",
            "",
            "| run | peak RSS MiB | wall s | RTF |",
            "| --- | --- | --- | --- |",
        ]
        for k in [k for k in r["long"] if k != "file"]:
            v = r["long"][k]
            lines.append(f"| {k} | {v['peak_rss_mb']:.0f} | {v['transcribe_s']:.0f} | {v['rtf']:.4f} |")
    if "ours" in r["runs"] and "raw" in r["runs"]:
        o, w = r["runs"]["ours"], r["runs"]["raw"]
        lines += [
            "",
            f"ours / raw: wall {o['rtf'] / w['rtf']:.2f}x, CPU seconds "
            f"{o['transcribe_cpu_s'] / w['transcribe_cpu_s']:.2f}x (CPU seconds are less sensitive to the load).",
        ]
    lines += [
        "",
        "Targets: "
        + ", ".join(f"{k}: {'PASS' if v else ('n/a' if v is None else 'FAIL')}" for k, v in r["targets"].items()),
        "",
    ]
    return "\n".join(lines)


def _log_mlflow(uri: str, r: dict[str, Any]) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("speech-benchmark")
    with mlflow.start_run(run_name="speech_benchmark"):
        mlflow.log_params({**r["settings"], "audio_minutes": round(r["audio"]["duration_s"] / 60, 2)})
        for k, v in r["runs"].items():
            mlflow.log_metrics(
                {
                    f"{k}_wer": v["wer"],
                    f"{k}_rtf": v["rtf"],
                    f"{k}_peak_rss_mb": v["peak_rss_mb"],
                    f"{k}_loops": len(v["loops"]),
                }
            )
        for k, v in (r["long"] or {}).items():
            if k != "file":
                mlflow.log_metric(f"long_{k}_peak_rss_mb", v["peak_rss_mb"])
        mlflow.log_dict(r, "speech_benchmark.json")


if __name__ == "__main__":
    raise SystemExit(main())
