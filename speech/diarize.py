"""Offline speaker labels ("who spoke when") for transcribed segments.

Each transcribed segment's audio is cut into 1.6 s windows every second and embedded with the
``resemblyzer`` voice encoder (its wheel carries the weights; 256-dim, L2-normalised). The windows
are clustered (average-linkage agglomerative clustering on cosine distance) into a given number of
speakers, or into the number with the best silhouette (1 when no split is convincing). Each word
takes the label of the nearest window, a segment whose words change speaker is split there, and the
labels are renamed by order of first appearance: ``"Người nói 1"``, ``"Người nói 2"``, ...
(:data:`DEFAULT_LABEL_FORMAT`; the minutes are read by Vietnamese secretaries).

Example::

    segments = list(Transcriber(model_dir).transcribe("hop.m4a"))
    labelled = Diarizer(n_speakers=None).diarize("hop.m4a", segments)
    turns = merge_turns(labelled)
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from speech.audio import SAMPLE_RATE, iter_audio
from speech.errors import ModelError
from speech.transcript import Segment, Word

__all__ = ["DEFAULT_LABEL_FORMAT", "Diarizer", "SpeakerClustering", "merge_turns"]

logger = logging.getLogger(__name__)

#: Speaker label template; ``{n}`` is 1, 2, ... in order of first appearance.
DEFAULT_LABEL_FORMAT = "Người nói {n}"
_WINDOW_RATE = 1.0  # partial embeddings per second (resemblyzer windows are 1.6 s long)
_MIN_SEGMENT_S = 0.5
#: Below this RMS (-80 dBFS) a segment's audio is silence: no voice to embed (and resemblyzer's volume
#: normalisation divides by it).
_SILENT_RMS = 1e-4
_ENCODER_BATCH = 64  # partials per voice-encoder call


class SpeakerClustering:
    """Cluster speaker embeddings into speakers (scikit-learn estimator contract).

    Args:
        n_speakers: the number of speakers if known, else None to choose it.
        max_speakers: upper bound when choosing, inclusive.
        min_silhouette: below this best silhouette (cosine), everything is one speaker.
        max_centroid_similarity: when choosing the number, a clustering with two centroids more
            similar than this (cosine) is rejected: resemblyzer puts one voice's windows at
            0.8-0.95 and different voices at 0.5-0.7, and silhouette alone, being scale-free, would
            happily split one speaker in two.
        max_fit_samples: fit on at most this many embeddings (a deterministic subsample; the others
            go to the nearest centroid), bounding the O(n^2) memory of the linkage.
        random_state: seed of the subsample.

    Attributes (after :meth:`fit`):
        labels_: int array of shape (n_samples,), clusters numbered from 0.
        n_speakers_: the number of clusters.
        centroids_: array of shape (n_speakers_, n_features), L2-normalised cluster means.
        silhouette_: the silhouette of the chosen clustering (nan for one cluster).
    """

    def __init__(
        self,
        n_speakers: int | None = None,
        max_speakers: int = 8,
        min_silhouette: float = 0.12,
        max_centroid_similarity: float = 0.85,
        max_fit_samples: int = 3000,
        random_state: int = 0,
    ) -> None:
        self.n_speakers = n_speakers
        self.max_speakers = max_speakers
        self.min_silhouette = min_silhouette
        self.max_centroid_similarity = max_centroid_similarity
        self.max_fit_samples = max_fit_samples
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Any = None) -> SpeakerClustering:
        """Cluster ``X``, an array of shape (n_samples, n_features) of embeddings."""
        from scipy.cluster.hierarchy import fcluster, linkage
        from sklearn.metrics import silhouette_score

        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"Expected embeddings of shape (n_samples, n_features). Got: {X.shape}.")
        if self.n_speakers is not None and self.n_speakers < 1:
            raise ValueError(f"Expected n_speakers >= 1 or None. Got: {self.n_speakers!r}.")
        if self.max_speakers < 1:
            raise ValueError(f"Expected max_speakers >= 1. Got: {self.max_speakers!r}.")
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        n = len(X)
        if n > self.max_fit_samples:
            rng = np.random.default_rng(self.random_state)
            fit_idx = np.sort(rng.choice(n, self.max_fit_samples, replace=False))
        else:
            fit_idx = np.arange(n)
        Xf = X[fit_idx]
        if self.n_speakers is not None:
            candidates = [min(self.n_speakers, len(Xf))]
        else:
            candidates = list(range(2, min(self.max_speakers, len(Xf) - 1) + 1))
        best_k, best_labels, best_score = 1, np.zeros(len(Xf), dtype=int), float("nan")
        if len(Xf) >= 2 and candidates and candidates != [1]:
            Z = linkage(Xf, method="average", metric="cosine")
            for k in candidates:
                labels = fcluster(Z, t=k, criterion="maxclust") - 1
                if len(set(labels.tolist())) < 2:
                    continue
                if self.n_speakers is None and _max_centroid_similarity(Xf, labels) > self.max_centroid_similarity:
                    continue
                score = float(silhouette_score(Xf, labels, metric="cosine"))
                if self.n_speakers is not None or np.isnan(best_score) or score > best_score:
                    best_k, best_labels, best_score = len(set(labels.tolist())), labels, score
            if self.n_speakers is None and (np.isnan(best_score) or best_score < self.min_silhouette):
                best_k, best_labels = 1, np.zeros(len(Xf), dtype=int)
        centroids = _centroids(Xf, best_labels)
        labels_all = np.argmax(X @ centroids.T, axis=1)
        labels_all[fit_idx] = best_labels
        self.labels_ = labels_all.astype(int)
        self.n_speakers_ = int(best_k)
        self.centroids_ = centroids
        self.silhouette_ = best_score
        return self

    def fit_predict(self, X: np.ndarray, y: Any = None) -> np.ndarray:
        """``fit(X).labels_``."""
        return self.fit(X).labels_


def _centroids(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    c = np.stack([X[labels == k].mean(axis=0) for k in np.unique(labels)])
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def _max_centroid_similarity(X: np.ndarray, labels: np.ndarray) -> float:
    c = _centroids(X, labels)
    sim = c @ c.T
    np.fill_diagonal(sim, -1.0)
    return float(sim.max())


@dataclass(frozen=True)
class _Window:
    segment: int
    center: float  # seconds from the start of the recording


def _load_encoder(device: str) -> Any:
    try:
        from resemblyzer import VoiceEncoder
    except (ImportError, AttributeError) as e:
        raise ModelError(
            "Expected the resemblyzer voice encoder to import. Got: "
            f"{type(e).__name__}: {e}. If the error names pkg_resources or webrtcvad, the original "
            "'webrtcvad' package overwrote 'webrtcvad-wheels': run "
            "'pip install --force-reinstall --no-deps webrtcvad-wheels'.",
            code="missing_dependency",
        ) from e
    return VoiceEncoder(device=device, verbose=False)


class Diarizer:
    """Label transcribed segments with speakers.

    Args:
        n_speakers: the number of speakers if the secretary gives it, else None (automatic).
        max_speakers: upper bound of the automatic choice.
        label_format: label template, ``{n}`` = 1, 2, ... by first appearance.
        device: torch device of the voice encoder (``"cpu"`` or ``"cuda"``).
        min_silhouette: see :class:`SpeakerClustering`.
    """

    def __init__(
        self,
        n_speakers: int | None = None,
        max_speakers: int = 8,
        label_format: str = DEFAULT_LABEL_FORMAT,
        device: str = "cpu",
        min_silhouette: float = 0.12,
    ) -> None:
        self.n_speakers = n_speakers
        self.max_speakers = max_speakers
        self.label_format = label_format
        self.device = device
        self.min_silhouette = min_silhouette
        self._encoder: Any = None

    def _get_encoder(self) -> Any:
        if self._encoder is None:
            self._encoder = _load_encoder(self.device)
        return self._encoder

    def embed(self, path: str | os.PathLike[str], segments: Sequence[Segment]) -> tuple[np.ndarray, list[_Window]]:
        """Embeddings of 1.6 s windows over the segments' audio.

        Returns:
            An array of shape (n_windows, 256) and, per row, the segment index and centre time.
        """
        import torch
        from resemblyzer.audio import normalize_volume, wav_to_mel_spectrogram

        encoder = self._get_encoder()
        embeddings: list[np.ndarray] = []
        windows: list[_Window] = []
        pending: list[np.ndarray] = []  # mel frames of partials not yet through the encoder

        def flush() -> None:
            # One LSTM call per batch of partials, not per segment: the recurrent steps dominate and
            # cost the same for 1 or 64 sequences.
            if pending:
                with torch.inference_mode():
                    out = encoder(torch.from_numpy(np.stack(pending)).to(encoder.device))
                embeddings.extend(out.cpu().numpy())
                pending.clear()

        for idx, wav in _segment_audio(path, segments):
            if len(wav) < int(_MIN_SEGMENT_S * SAMPLE_RATE):
                continue
            if float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) < _SILENT_RMS:
                continue  # takes its neighbour's speaker in diarize()
            wav = normalize_volume(wav, -30, increase_only=False).astype(np.float32)
            n = len(wav)
            wav_slices, mel_slices = encoder.compute_partial_slices(n, rate=_WINDOW_RATE, min_coverage=0.75)
            if wav_slices[-1].stop > n:
                wav = np.pad(wav, (0, wav_slices[-1].stop - n))
            mel = wav_to_mel_spectrogram(wav)
            start = segments[idx].start
            for wsl, msl in zip(wav_slices, mel_slices, strict=True):
                pending.append(mel[msl])
                center = start + (wsl.start + min(wsl.stop, n)) / 2 / SAMPLE_RATE
                windows.append(_Window(segment=idx, center=center))
                if len(pending) >= _ENCODER_BATCH:
                    flush()
        flush()
        if not embeddings:
            return np.zeros((0, 256), dtype=np.float32), []
        return np.stack(embeddings).astype(np.float32), windows

    def diarize(
        self,
        path: str | os.PathLike[str],
        segments: Sequence[Segment],
        progress: Callable[[float], None] | None = None,
    ) -> list[Segment]:
        """Label ``segments`` (from the recording at ``path``) with speakers.

        Returns:
            Segments in time order with ``speaker`` set; a segment whose words change speaker is
            split at that word. With no usable audio, every segment gets speaker 1.
        """
        segs = sorted(segments, key=lambda s: (s.start, s.end))
        if not segs:
            return []
        X, windows = self.embed(path, segs)
        if progress is not None:
            progress(0.9)
        if len(X) == 0:
            return [s.with_speaker(self.label_format.format(n=1)) for s in segs]
        clustering = SpeakerClustering(
            n_speakers=self.n_speakers, max_speakers=self.max_speakers, min_silhouette=self.min_silhouette
        ).fit(X)
        labels = _smooth(clustering.labels_, windows)
        logger.info(
            "Diarization: %d windows, %d speakers (silhouette %.3f)",
            len(X),
            clustering.n_speakers_,
            clustering.silhouette_,
        )
        by_segment: dict[int, list[tuple[float, int]]] = {}
        for w, lab in zip(windows, labels, strict=True):
            by_segment.setdefault(w.segment, []).append((w.center, int(lab)))
        out: list[Segment] = []
        previous: int | None = None
        for i, seg in enumerate(segs):
            wl = by_segment.get(i)
            if not wl:
                lab = previous if previous is not None else int(Counter(labels.tolist()).most_common(1)[0][0])
                out.append(replace(seg, speaker=str(lab)))
                continue
            pieces = _split_by_speaker(seg, wl)
            out.extend(pieces)
            previous = int(pieces[-1].speaker or 0)
        names: dict[str, str] = {}
        for s in out:
            names.setdefault(s.speaker or "0", self.label_format.format(n=len(names) + 1))
        if progress is not None:
            progress(1.0)
        return [s.with_speaker(names[s.speaker or "0"]) for s in out]


def _smooth(labels: np.ndarray, windows: list[_Window]) -> np.ndarray:
    """Relabel isolated windows (a different label than both neighbours, which agree)."""
    lab = labels.copy()
    for i in range(1, len(lab) - 1):
        if lab[i - 1] == lab[i + 1] != lab[i] and windows[i + 1].center - windows[i - 1].center < 2.5:
            lab[i] = lab[i - 1]
    return lab


def _split_by_speaker(seg: Segment, wl: list[tuple[float, int]]) -> list[Segment]:
    centers = np.array([c for c, _ in wl])
    labs = [lab for _, lab in wl]
    majority = Counter(labs).most_common(1)[0][0]
    if len(set(labs)) == 1 or not seg.words:
        return [replace(seg, speaker=str(majority))]
    word_labels = [labs[int(np.argmin(np.abs(centers - (w.start + w.end) / 2)))] for w in seg.words]
    runs: list[tuple[int, list[Word]]] = []
    for w, lab in zip(seg.words, word_labels, strict=True):
        if runs and runs[-1][0] == lab:
            runs[-1][1].append(w)
        else:
            runs.append((lab, [w]))
    # Runs under 1 s are too short to trust: give them to the previous run.
    merged: list[tuple[int, list[Word]]] = []
    for lab, words in runs:
        if merged and (words[-1].end - words[0].start < 1.0 or merged[-1][0] == lab):
            merged[-1][1].extend(words)
        else:
            merged.append((lab, list(words)))
    if len(merged) > 1 and merged[0][1][-1].end - merged[0][1][0].start < 1.0:
        merged[1] = (merged[1][0], merged[0][1] + merged[1][1])
        merged.pop(0)
    if len(merged) == 1:
        return [replace(seg, speaker=str(merged[0][0]))]
    pieces = []
    for k, (lab, words) in enumerate(merged):
        start = seg.start if k == 0 else words[0].start
        end = seg.end if k == len(merged) - 1 else words[-1].end
        text = "".join(w.text for w in words).strip()
        # The seconds a repair removed are not located: the first piece keeps them, so a sum stays right.
        dropped_s = seg.dropped_s if k == 0 else 0.0
        pieces.append(
            replace(seg, start=start, end=end, text=text, words=tuple(words), speaker=str(lab), dropped_s=dropped_s)
        )
    return pieces


def _segment_audio(path: str | os.PathLike[str], segments: Sequence[Segment]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index, 16 kHz mono float32 audio) for time-sorted segments, in one decoding pass
    that keeps only the audio still needed."""
    if not segments:
        return
    first = max(0.0, segments[0].start)
    buf = np.zeros(0, dtype=np.float32)
    buf_start = int(round(first * SAMPLE_RATE))  # sample index of buf[0]
    i = 0
    blocks = iter_audio(path, start_s=first, block_s=30.0)
    exhausted = False
    while i < len(segments):
        seg = segments[i]
        a = int(round(seg.start * SAMPLE_RATE))
        b = int(round(seg.end * SAMPLE_RATE))
        while not exhausted and buf_start + len(buf) < b:
            try:
                buf = np.concatenate([buf, next(blocks)])
            except StopIteration:
                exhausted = True
        yield i, buf[max(0, a - buf_start) : max(0, b - buf_start)].copy()
        i += 1
        if i < len(segments):
            keep_from = min(int(round(segments[j].start * SAMPLE_RATE)) for j in range(i, min(len(segments), i + 8)))
            drop = max(0, keep_from - buf_start)
            if drop:
                buf = buf[drop:]
                buf_start += drop


def merge_turns(segments: Sequence[Segment], max_gap_s: float = 2.0) -> list[Segment]:
    """Join consecutive segments of the same speaker separated by at most ``max_gap_s`` seconds.

    Returns:
        One segment per speaker turn (text joined with spaces, words concatenated, flags united,
        ``dropped_s`` summed).
    """
    turns: list[Segment] = []
    for s in sorted(segments, key=lambda s: (s.start, s.end)):
        if turns and turns[-1].speaker == s.speaker and s.start - turns[-1].end <= max_gap_s:
            t = turns[-1]
            turns[-1] = replace(
                t,
                end=max(t.end, s.end),
                text=f"{t.text} {s.text}".strip(),
                words=t.words + s.words,
                flags=tuple(dict.fromkeys(t.flags + s.flags)),
                dropped_s=round(t.dropped_s + s.dropped_s, 3),
            )
        else:
            turns.append(s)
    return turns
