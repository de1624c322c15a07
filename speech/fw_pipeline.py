"""The one module coupled to faster-whisper's private methods: the loop-safe ``BatchedInferencePipeline``.

It overrides three methods of faster-whisper 1.2's ``BatchedInferencePipeline`` (``generate_segment_batched``,
``_batched_segments_generator``, ``forward``) and reads ``WhisperModel.get_prompt``, ``max_length``,
``frames_per_second`` and the CTranslate2 model (``WhisperModel.model.generate``). The supported range is pinned
in pyproject.toml (``faster-whisper>=1.2,<1.3``) and :data:`PRIVATE_API` lists what is relied on;
tests/speech/test_fw_pipeline.py checks both against the installed version.

What the subclass does (the rules themselves are in :mod:`speech.decoding`): the first pass (beam search)
stops each batch at a token budget from its longest chunk; a chunk whose text loops and swallowed speech is
decoded again from the encoder output the first pass computed (no second encoding), resuming after the words
before the loop, greedily, with an n-gram block; a chunk still speaking at the budget is finished the same way.
Those chunks wait until 2 x ``batch_size`` of them are pending (or :data:`MAX_HELD` batches) and are decoded in
one call (greedy decoding of one or two sequences leaves the cores idle: at 8 a chunk costs 0.4x as much as
alone).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import faster_whisper
import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel

from speech import decoding
from speech.options import TranscribeOptions
from speech.repetition import has_loop

__all__ = [
    "MAX_HELD",
    "PRIVATE_API",
    "SUPPORTED_VERSIONS",
    "LoopSafePipeline",
    "check_private_api",
    "prompt_length",
    "prompt_tokens",
]

logger = logging.getLogger(__name__)

#: faster-whisper versions this module was written and tested against (pyproject.toml pins the same).
SUPPORTED_VERSIONS = ">=1.2,<1.3"
#: What is relied on: class -> method -> its parameters (after ``self``), as in faster-whisper 1.2.1.
PRIVATE_API: dict[type, dict[str, tuple[str, ...]]] = {
    BatchedInferencePipeline: {
        "forward": ("features", "tokenizer", "chunks_metadata", "options"),
        "generate_segment_batched": ("features", "tokenizer", "options"),
        "_batched_segments_generator": (
            "features",
            "tokenizer",
            "chunks_metadata",
            "batch_size",
            "options",
            "log_progress",
        ),
    },
    WhisperModel: {"get_prompt": ("tokenizer", "previous_tokens", "without_timestamps", "prefix", "hotwords")},
}
#: Batches of the first pass held back at most while their looping chunks wait to be decoded again
#: together (each holds its features and encoder output: ~16 MB at batch 4).
MAX_HELD = 6
#: A first-pass batch held back: features, chunks' metadata, encoder output, outputs (tokens) and the chunks
#: to decode again as (index in the batch, tokens to resume after, True for a loop / False if cut short).
_Held = tuple[Any, Any, Any, list[dict[str, Any]], list[tuple[int, list[int], bool]]]


def check_private_api() -> list[str]:
    """What differs between :data:`PRIVATE_API` and the installed faster-whisper ([] when nothing does)."""
    problems = []
    for cls, methods in PRIVATE_API.items():
        for name, params in methods.items():
            method = getattr(cls, name, None)
            if method is None:
                problems.append(f"{cls.__name__}.{name} is missing")
                continue
            found = tuple(inspect.signature(method).parameters)[1:]
            if found != params:
                problems.append(f"{cls.__name__}.{name}{found} instead of {params}")
    return problems


def prompt_tokens(
    model: Any, tokenizer: Any, initial_prompt: str | None, without_timestamps: bool, hotwords: str | None
) -> list[int]:
    """The decoder prompt (token ids) faster-whisper's batched pipeline builds for these options."""
    return list(
        model.get_prompt(
            tokenizer,
            previous_tokens=(tokenizer.encode(initial_prompt) if initial_prompt is not None else []),
            without_timestamps=without_timestamps,
            hotwords=hotwords,
        )
    )


def version() -> str:
    """The installed faster-whisper's version."""
    return str(faster_whisper.__version__)


class LoopSafePipeline(BatchedInferencePipeline):  # type: ignore[misc]
    """A ``BatchedInferencePipeline`` that decodes looping chunks again from their encoder output.

    Set ``loop_options`` (a :class:`TranscribeOptions`, or None to turn it off) before each ``transcribe``; the
    seeks of the chunks decoded again are collected in ``redecoded_seeks``; ``on_batch``, when set, is called
    after each first-pass batch with the end of its last chunk, seconds of VAD speech (the chunks' own time).
    """

    def __init__(self, model: Any, reuse_encoder: bool) -> None:
        super().__init__(model)
        self.reuse_encoder = reuse_encoder
        self.loop_options: TranscribeOptions | None = None
        self.redecoded_seeks: set[int] = set()
        self._metadata: list[dict[str, Any]] = []
        self._precomputed: tuple[Any, list[dict[str, Any]]] | None = None
        self._last_speech = 0.0
        self._budget: int | None = None
        self.on_batch: Callable[[float], None] | None = None

    def generate_segment_batched(self, features: Any, tokenizer: Any, options: Any) -> Any:
        if self._precomputed is not None:  # decoded (and repaired) by _batched_segments_generator
            done, self._precomputed = self._precomputed, None
            return done
        opts = self.loop_options
        self._budget = None
        if opts is not None and options.max_new_tokens is None and self._metadata:
            # A chunk needs at most ~12 tokens per second; a loop runs on to the model's limit. Where
            # chunks cut short can be finished from the encoder output, beam search stops earlier.
            longest = max(m["duration"] for m in self._metadata)
            rate = opts.first_pass_tokens_per_s if self._finishes(opts, options) else None
            budget = decoding.token_cap(opts, longest, rate)
            n_prompt = len(self._prompt(tokenizer, options))
            max_length = decoding.max_length(self.model.max_length, n_prompt, 0, budget)
            if max_length is not None:
                options = replace(options, max_new_tokens=max_length - n_prompt)
                self._budget = budget
        result = super().generate_segment_batched(features, tokenizer, options)
        if self.on_batch is not None and self._metadata:
            self.on_batch(float(self._metadata[-1]["offset"] + self._metadata[-1]["duration"]))
        return result

    def _finishes(self, opts: TranscribeOptions | None, options: Any) -> bool:
        """True when chunks are repaired and finished here, from the first pass's encoder output."""
        return opts is not None and opts.redecode_loops and self.reuse_encoder and not options.multilingual

    def _batched_segments_generator(
        self,
        features: Any,
        tokenizer: Any,
        chunks_metadata: Any,
        batch_size: int,
        options: Any,
        log_progress: bool,
    ) -> Any:
        opts = self.loop_options
        if opts is None or not self._finishes(opts, options):
            yield from super()._batched_segments_generator(
                features, tokenizer, chunks_metadata, batch_size, options, log_progress
            )
            return
        # Batches wait here from the first one with a chunk to decode again on (a loop that swallowed
        # speech, or speech cut at the first pass's budget), until 2 * batch_size such chunks are
        # pending (or MAX_HELD batches): they are decoded together, which costs about 0.4x per chunk
        # of decoding them batch by batch (greedy decoding of one sequence leaves the cores idle).
        self._precomputed = None
        held: list[_Held] = []
        pending = 0
        for i in range(0, len(features), batch_size):
            feats, meta = features[i : i + batch_size], chunks_metadata[i : i + batch_size]
            self._metadata = meta
            encoder_output, outputs = self.generate_segment_batched(feats, tokenizer, options)
            todo = []
            for k, (out, m) in enumerate(zip(outputs, meta, strict=True)):
                text = tokenizer.decode(out["tokens"])
                if decoding.loop_swallowed_speech(text, decoding.compression_ratio(text), m["duration"], opts):
                    # The words before the loop are kept: decoding resumes where the loop began.
                    todo.append((k, decoding.prefix_before_loop(tokenizer, out["tokens"]), True))
                elif self._budget is not None and len(out["tokens"]) >= self._budget and not has_loop(text):
                    todo.append((k, list(out["tokens"]), False))  # cut short: finish it
            held.append((feats, meta, encoder_output, outputs, todo))
            pending += len(todo)
            if pending == 0 or pending >= 2 * batch_size or len(held) >= MAX_HELD:
                yield from self._release(held, tokenizer, options, opts)
                held, pending = [], 0
        yield from self._release(held, tokenizer, options, opts)
        self.last_speech_timestamp = 0.0

    def _release(
        self,
        held: list[_Held],
        tokenizer: Any,
        options: Any,
        opts: TranscribeOptions,
    ) -> Any:
        """Decode the pending chunks of ``held`` again in one call, then turn each batch into segments
        (faster-whisper's own code: timestamps, word timings) in order."""
        if any(todo for *_, todo in held):
            try:
                self._redecode(held, tokenizer, options, opts)
            except (RuntimeError, ValueError, TypeError) as e:  # the span re-decoding takes over
                logger.warning("Re-decoding from the encoder output failed: %s", e)
        for feats, meta, encoder_output, outputs, _ in held:
            self._precomputed = (encoder_output, outputs)
            yield from super()._batched_segments_generator(feats, tokenizer, meta, len(feats), options, False)
            self.last_speech_timestamp = self._last_speech  # the base generator resets it at its end

    def forward(self, features: Any, tokenizer: Any, chunks_metadata: Any, options: Any) -> Any:
        self._metadata = chunks_metadata
        result = super().forward(features, tokenizer, chunks_metadata, options)
        self._last_speech = self.last_speech_timestamp
        return result

    def _prompt(self, tokenizer: Any, options: Any) -> list[int]:
        """The decoder prompt, as ``generate_segment_batched`` builds it."""
        return prompt_tokens(
            self.model, tokenizer, options.initial_prompt, options.without_timestamps, options.hotwords
        )

    def _redecode(
        self,
        held: list[_Held],
        tokenizer: Any,
        options: Any,
        opts: TranscribeOptions,
    ) -> None:
        import ctranslate2

        whisper = self.model
        todo = [(meta, outputs, k, looped) for _, meta, _, outputs, ks in held for k, _, looped in ks]
        subset = np.ascontiguousarray(
            np.concatenate([np.asarray(enc)[[k for k, *_ in ks]] for _, _, enc, _, ks in held if ks], axis=0)
        )
        prompt = self._prompt(tokenizer, options)
        prefixes = [prefix for *_, ks in held for _, prefix, _ in ks]
        longest = max(meta[k]["duration"] for meta, _, k, _ in todo)
        max_length = decoding.max_length(
            whisper.max_length, len(prompt), max(len(p) for p in prefixes), decoding.token_cap(opts, longest)
        )
        results = whisper.model.generate(
            ctranslate2.StorageView.from_array(subset),
            [list(prompt) + p for p in prefixes],
            beam_size=opts.redecode_beam_size,
            max_length=whisper.max_length if max_length is None else max_length,
            suppress_blank=options.suppress_blank,
            suppress_tokens=options.suppress_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            repetition_penalty=options.repetition_penalty,
            no_repeat_ngram_size=opts.redecode_no_repeat_ngram_size,
        )
        for (meta, outputs, k, looped), prefix, res in zip(todo, prefixes, results, strict=True):
            tokens = list(res.sequences_ids[0])
            if tokens[: len(prefix)] != prefix:  # CTranslate2 4.x returns the prefix with the result
                tokens = prefix + tokens
            outputs[k] = {
                "avg_logprob": res.scores[0] * (len(tokens) ** options.length_penalty) / (len(tokens) + 1),
                "no_speech_prob": res.no_speech_prob,
                "tokens": tokens,
            }
            if looped:
                self.redecoded_seeks.add(int(meta[k]["offset"] * whisper.frames_per_second))
        logger.info("Decoded %d chunks again (loops, or cut short) from their encoder output", len(todo))


def prompt_length(model: Any, opts: TranscribeOptions, language: str | None) -> int:
    """Tokens of the decoder prompt faster-whisper builds for ``opts`` (timestamps on) in ``language``."""
    from faster_whisper.tokenizer import Tokenizer

    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language or "en")
    return len(prompt_tokens(model, tokenizer, opts.prompt(), False, opts.hotwords()))
