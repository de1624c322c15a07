"""What a Whisper decoding costs in CTranslate2, the facts behind the loop repair's price (issue 4).

Encodes the first ``--chunks`` 30 s chunks of a recording once, then times ``Whisper.generate`` on those
encoder outputs:

- greedy decoding to the 224-token limit with a forced prefix (the words kept before a loop) of 0, 100, 150
  and 200 tokens: if the prefix were read in one pass, longer prefixes would cost less;
- greedy decoding of 1, 4 and 16 chunks to 2, 20, 100 and 224 tokens: cost per step and per chunk;
- beam 5 over 4 chunks, the first pass's shape, for comparison.

    python -m experiments.decode_cost --audio /tmp/meeting/meeting.mp3 --cpu-threads 2

The audio is typically the speech benchmark's meeting (``--meeting-dir`` of experiments.speech_benchmark);
the model is Whisper base from the wheels unless ``--model-dir`` says otherwise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK = 16000 * 30


def _timed(fn: object, *args: object, **kwargs: object) -> tuple[float, list[int]]:
    t = time.perf_counter()
    results = fn(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - t, [len(r.sequences_ids[0]) for r in results]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--audio", type=Path, required=True, help="a recording of at least --chunks x 30 s")
    p.add_argument("--model-dir", type=Path, default=None, help="CTranslate2 Whisper dir (default: base, assembled)")
    p.add_argument("--cpu-threads", type=int, default=2)
    p.add_argument("--chunks", type=int, default=16)
    args = p.parse_args(argv)

    import ctranslate2
    from faster_whisper import WhisperModel, decode_audio
    from faster_whisper.tokenizer import Tokenizer

    from speech.weights import ensure_default_model

    model_dir = args.model_dir or ensure_default_model(Path(tempfile.mkdtemp(prefix="decode-cost-")) / "whisper-base")
    m = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=args.cpu_threads)
    audio = decode_audio(str(args.audio))
    if len(audio) < args.chunks * CHUNK:
        p.error(f"--audio is {len(audio) / 16000:.0f} s long; {args.chunks} chunks need {args.chunks * 30} s")
    feats = np.stack([m.feature_extractor(audio[i * CHUNK : (i + 1) * CHUNK])[:, :3000] for i in range(args.chunks)])
    enc = np.ascontiguousarray(np.asarray(m.encode(feats)))
    prompt = list(Tokenizer(m.hf_tokenizer, True, task="transcribe", language="vi").sot_sequence)

    def view(n: int) -> object:
        return ctranslate2.StorageView.from_array(np.ascontiguousarray(enc[:n]))

    print(f"Whisper {model_dir.name} int8, {args.cpu_threads} threads, CTranslate2 {ctranslate2.__version__}")
    _, _ = _timed(m.model.generate, view(1), [prompt], beam_size=1, max_length=8)  # warm-up
    full = m.model.generate(view(4), [prompt] * 4, beam_size=1, max_length=448)
    tokens = [list(r.sequences_ids[0]) for r in full]
    print("\nforced prefix (greedy, to at most 224 tokens)")
    print("| chunks | prefix tokens | seconds | output tokens |\n| --- | --- | --- | --- |")
    for n in (1, 4):
        for cut in (0, 100, 150, 200):
            prompts = [prompt + t[:cut] for t in tokens[:n]]
            dt, out = _timed(m.model.generate, view(n), prompts, beam_size=1, max_length=448)
            print(f"| {n} | {cut} | {dt:.2f} | {out} |")
    print("\ncost per step (no prefix)")
    print("| chunks | beam | max tokens | seconds | longest output |\n| --- | --- | --- | --- | --- |")
    for n, beam in ((1, 1), (4, 1), (args.chunks, 1), (4, 5)):
        for max_length in (4, 40, 200, 448):
            dt, out = _timed(m.model.generate, view(n), [prompt] * n, beam_size=beam, max_length=max_length)
            print(f"| {n} | {beam} | {max_length // 2} | {dt:.2f} | {max(out)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
