"""Optional encoder backend: a Vietnamese transformer encoder (PhoBERT, ViSoBERT) fine-tuned for sentiment.

For a center that supplies an encoder directory in Hugging Face format (config, weights, tokenizer);
nothing is downloaded. Texts go through the same :func:`social_listening.normalize.normalize` as the
linear model; PhoBERT expects word-segmented input, so ``word_segment=True`` joins syllables of a word
with ``_`` using underthesea's offline ``word_tokenize``.

Needs ``torch`` and ``transformers`` (the ``social`` extra); imported on first use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from social_listening.errors import ModelFormatError, SocialListeningError
from social_listening.labels import LABELS, label_indices
from social_listening.normalize import normalize, strip_diacritics

__all__ = ["EncoderSentimentClassifier"]

logger = logging.getLogger(__name__)

_CONFIG_NAME = "social_listening_encoder.json"


class EncoderSentimentClassifier:
    """Negative / neutral / positive classifier on a transformer encoder (scikit-learn style).

    Args:
        model_dir: Hugging Face model directory (encoder weights + tokenizer), e.g. PhoBERT-base.
        train_encoder: fine-tune the encoder (``True``) or train only the classification head.
        epochs: passes over the training texts.
        learning_rate: AdamW learning rate.
        batch_size: texts per step.
        max_length: tokens per text (longer texts are truncated).
        word_segment: join multi-syllable words with ``_`` (PhoBERT's input convention).
        diacritics_free_copies: also train on the diacritics-stripped copy of each text.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (cuda when available).
        random_state: seed of shuffling and head initialisation.

    Fitted attributes: ``model_`` (transformers sequence-classification model), ``tokenizer_``,
    ``classes_``.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        train_encoder: bool = True,
        epochs: int = 3,
        learning_rate: float = 3e-5,
        batch_size: int = 32,
        max_length: int = 128,
        word_segment: bool = False,
        diacritics_free_copies: bool = True,
        device: str | None = None,
        random_state: int = 0,
    ) -> None:
        self.model_dir = model_dir
        self.train_encoder = train_encoder
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.word_segment = word_segment
        self.diacritics_free_copies = diacritics_free_copies
        self.device = device
        self.random_state = random_state

    def get_params(self) -> dict[str, Any]:
        return {
            "model_dir": str(self.model_dir),
            "train_encoder": self.train_encoder,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "max_length": self.max_length,
            "word_segment": self.word_segment,
            "diacritics_free_copies": self.diacritics_free_copies,
            "device": self.device,
            "random_state": self.random_state,
        }

    # ------------------------------------------------------------------ helpers
    def _device(self) -> Any:
        import torch

        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def _prepare(self, texts: Sequence[str]) -> list[str]:
        out = [normalize(t) for t in texts]
        if self.word_segment:
            from underthesea import word_tokenize

            out = [" ".join(w.replace(" ", "_") for w in word_tokenize(t)) if t else t for t in out]
        return out

    def _batches(self, texts: list[str]) -> Any:
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            yield (
                start,
                self.tokenizer_(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"),
            )

    # ------------------------------------------------------------------ fit / predict
    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        sample_weight: Sequence[float] | NDArray[np.floating[Any]] | None = None,
    ) -> EncoderSentimentClassifier:
        """Fine-tune on raw texts and labels; ``sample_weight`` scales each text's loss. Returns self."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        texts = list(texts)
        y = label_indices(list(labels))
        if len(texts) != len(y) or not texts:
            raise SocialListeningError(f"expected as many labels as texts (> 0). Got: {len(texts)}, {len(y)}")
        w = np.ones(len(texts)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (len(texts),):
            raise SocialListeningError(f"expected {len(texts)} sample weights. Got: shape {w.shape}")
        model_dir = Path(self.model_dir)
        if not model_dir.is_dir():
            raise ModelFormatError(f"expected an encoder directory. Got: {model_dir} (not a directory)")
        torch.manual_seed(self.random_state)
        self.tokenizer_ = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model_ = AutoModelForSequenceClassification.from_pretrained(
            model_dir,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            local_files_only=True,
            ignore_mismatched_sizes=True,
        )
        device = self._device()
        self.model_.to(device)
        prepared = self._prepare(texts)
        if self.diacritics_free_copies:
            stripped = [strip_diacritics(t) for t in prepared]
            keep = [s != t for s, t in zip(stripped, prepared, strict=True)]
            prepared = prepared + [s for s, k in zip(stripped, keep, strict=True) if k]
            y = np.concatenate([y, y[np.asarray(keep, dtype=bool)]])
            w = np.concatenate([w, w[np.asarray(keep, dtype=bool)]])
        w = w * (len(w) / w.sum())
        if not self.train_encoder:
            base = getattr(self.model_, self.model_.base_model_prefix, None)
            if base is not None:
                for p in base.parameters():
                    p.requires_grad = False
        params = [p for p in self.model_.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.learning_rate)
        rng = np.random.default_rng(self.random_state)
        self.model_.train()
        steps = 0
        for epoch in range(self.epochs):
            order = rng.permutation(len(prepared))
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.tokenizer_(
                    [prepared[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(device)
                logits = self.model_(**enc).logits
                target = torch.as_tensor(y[idx], device=device)
                weight = torch.as_tensor(w[idx], dtype=logits.dtype, device=device)
                loss = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * weight).mean()
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                total += float(loss.detach()) * len(idx)
                steps += 1
            logger.info("epoch %d/%d: mean loss %.4f", epoch + 1, self.epochs, total / len(order))
        self.model_.eval()
        self.classes_ = np.array(LABELS)
        self.n_steps_ = steps
        return self

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Probabilities, shape (n, 3), rows sum to 1, columns in :data:`LABELS` order."""
        import torch

        if not hasattr(self, "model_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("EncoderSentimentClassifier is not fitted; call fit() or load() first")
        if isinstance(texts, str):
            raise SocialListeningError("expected a sequence of texts. Got: a single str")
        prepared = self._prepare(list(texts))
        out = np.zeros((len(prepared), len(LABELS)), dtype=np.float32)
        device = next(self.model_.parameters()).device
        with torch.no_grad():
            for start, enc in self._batches(prepared):
                logits = self.model_(**enc.to(device)).logits.float()
                out[start : start + logits.shape[0]] = torch.softmax(logits, dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str]) -> NDArray[np.str_]:
        """Most probable label per text, shape (n,)."""
        labels: NDArray[np.str_] = np.asarray(LABELS)[np.argmax(self.predict_proba(texts), axis=1)]
        return labels

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fine-tuned model, tokenizer and settings into directory ``path``."""
        if not hasattr(self, "model_"):
            raise SocialListeningError("expected a fitted model before save(). Got: not fitted")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model_.save_pretrained(path, safe_serialization=True)  # safetensors, not pickle
        self.tokenizer_.save_pretrained(path)
        params = self.get_params() | {"model_dir": "."}
        (path / _CONFIG_NAME).write_text(json.dumps({"labels": list(LABELS), "params": params}, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> EncoderSentimentClassifier:
        """Load a directory written by :meth:`save` (safetensors weights only).

        Raises:
            ModelFormatError: not a saved encoder directory.
        """
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(path)
        config = path / _CONFIG_NAME
        if not config.is_file():
            raise ModelFormatError(f"expected an encoder directory with {_CONFIG_NAME}. Got: {path}")
        meta = json.loads(config.read_text())
        if tuple(meta.get("labels", ())) != LABELS:
            raise ModelFormatError(f"expected labels {LABELS}. Got: {meta.get('labels')!r}")
        params = dict(meta["params"]) | {"model_dir": path, "device": device}
        model = cls(**params)
        model.tokenizer_ = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model.model_ = AutoModelForSequenceClassification.from_pretrained(
            path, local_files_only=True, use_safetensors=True
        )
        model.model_.to(model._device())
        model.model_.eval()
        model.classes_ = np.array(LABELS)
        return model
