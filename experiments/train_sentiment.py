"""Train the shipped default sentiment model and write its artifact, metrics and model card.

    python -m experiments.train_sentiment --data-dir ../shared/data/sentiment --output models/shipped/sentiment/

Trains :class:`social_listening.SentimentClassifier` on the public corpora that may be used for the shipped
model (UIT-VSFC, UIT-VSMEC, UIT-ViHSD negatives down-weighted, AIVIVN 2019; **not** VLSP 2016, whose terms
forbid shipping models trained on it) plus the ``train`` part of the seed set (weighted up), evaluates on the
seed set's ``eval`` part (also with its texts stripped of diacritics and rewritten in teencode), on its
``challenge`` part (short minimal pairs) and on every
public test set (VLSP 2016 on all of it), measures single-process throughput, and writes:

- ``<output>/model.skops``: the model (skops, trusted types listed in the library; no pickle);
- ``<output>/metrics.json``: flat metrics, data fingerprint, parameters;
- ``<output>/MODEL_CARD.md``: data, label mapping, weights, measured metrics, terms.

``--mlflow-uri`` also logs params and metrics to MLflow (the library itself has no MLflow code).
"""

# ruff: noqa: E501  (the model card template below is Markdown with long table rows)
from __future__ import annotations

import os

# Throughput is measured per core: keep numeric libraries single-threaded (before numpy is imported).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from social_listening.classifier import SentimentClassifier  # noqa: E402
from social_listening.corpora import CORPORA, load_corpus, load_seed  # noqa: E402
from social_listening.normalize import strip_diacritics  # noqa: E402
from social_listening.training import (  # noqa: E402
    DEFAULT_CORPUS_WEIGHTS,
    SHIPPABLE_CORPORA,
    TrainingOptions,
    evaluate,
    train_sentiment,
)

logger = logging.getLogger("experiments.train_sentiment")

REPO = Path(__file__).resolve().parents[1]

# C=2 rather than the classifier's default 8: with 8 the model memorised rare topic n-grams of the seed
# notices ("hội hoa" -> neutral); measured in experiments/results/sentiment_topic_audit.md.
SHIPPED_C = float(TrainingOptions().classifier_params["C"])
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "sentiment"

# Standard word -> teencode rewrites used to build the teencode variant of the evaluation texts
# (the reverse direction of social_listening/data/teencode.tsv, plus common spellings).
_TEENCODE = [
    ("không", "ko"),
    ("được", "dc"),
    ("gì", "j"),
    ("mọi người", "mn"),
    ("anh em", "ae"),
    ("với", "vs"),
    ("rồi", "r"),
    ("biết", "bik"),
    ("vậy", "z"),
    ("quá", "wá"),
    ("cũng", "cx"),
    ("nhiều", "nhìu"),
    ("người", "ng"),
    ("mình", "mik"),
    ("thôi", "thui"),
    ("bây giờ", "bh"),
    ("như thế nào", "ntn"),
    ("yêu", "iu"),
    ("thích", "thik"),
    ("trước", "trc"),
    ("làm", "lm"),
    ("luôn", "lun"),
    ("mới", "ms"),
    ("cảm ơn", "thanks"),
    ("tốt", "good"),
    ("bình thường", "bt"),
    ("đang", "dg"),
    ("chồng", "ck"),
]


def to_teencode(text: str) -> str:
    """Rewrite ``text`` the way residents type in teencode ("không được" -> "ko dc")."""
    out = text
    for word, code in _TEENCODE:
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", code, out, flags=re.IGNORECASE)
    return out


def fingerprint(paths: Sequence[Path]) -> str:
    """sha256 over the bytes of the data files (sorted by path), first 16 hex digits."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def code_version() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "uncommitted"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def measure_throughput(
    classifier: Any, texts: Sequence[str], warmup: Sequence[str], batch: int = 1000
) -> tuple[float, float]:
    """(comments per wall-clock second, comments per CPU second of this process), one process, batches of
    ``batch``, normalisation included. On a shared machine the CPU-second figure is the per-core rate."""
    classifier.predict_proba(list(warmup))
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        classifier.predict_proba(list(texts[i : i + batch]))
    return len(texts) / (time.perf_counter() - wall), len(texts) / (time.process_time() - cpu)


def variant_metrics(classifier: Any, texts: Sequence[str], labels: Sequence[str], prefix: str) -> dict[str, float]:
    """Metrics of the evaluation texts as typed without diacritics, in teencode, and both."""
    out: dict[str, float] = {}
    out.update(evaluate(classifier, [strip_diacritics(t) for t in texts], labels, f"{prefix}_nodiacritics"))
    out.update(evaluate(classifier, [to_teencode(t) for t in texts], labels, f"{prefix}_teencode"))
    out.update(
        evaluate(
            classifier,
            [strip_diacritics(to_teencode(t)) for t in texts],
            labels,
            f"{prefix}_teencode_nodiacritics",
        )
    )
    return out


def throughput_texts(data_dir: Path, seed_texts: Sequence[str]) -> tuple[list[str], list[str]]:
    """(timed texts, warm-up texts): unique public test texts + seed texts; warm-up from VSFC dev."""
    timed: list[str] = list(seed_texts)
    for name in ("uit-vsmec", "uit-vsfc"):
        timed.extend(load_corpus(data_dir, name, "test").texts)
    timed.extend(load_corpus(data_dir, "aivivn-2019-sa", "test").texts)
    timed = list(dict.fromkeys(timed))[:10000]
    warmup = list(load_corpus(data_dir, "uit-vsfc", "dev").texts[:500])
    return timed, warmup


def write_card(path: Path, metrics: dict[str, float], info: dict[str, Any]) -> None:
    def m(key: str) -> str:
        return f"{metrics[key]:.3f}" if key in metrics else "n/a"

    rows = []
    for prefix, what in [
        ("seed_eval", "seed set, eval split (proxy for provincial comments; never trained on)"),
        ("seed_eval_nodiacritics", "same texts, diacritics stripped"),
        ("seed_eval_teencode", "same texts, rewritten in teencode"),
        ("seed_eval_teencode_nodiacritics", "same texts, teencode and no diacritics"),
        (
            "seed_challenge",
            "seed set, challenge split (short minimal pairs: same topic, other sentiment; never trained on)",
        ),
        ("uit_vsfc_test", "UIT-VSFC test (student feedback)"),
        ("uit_vsmec_test", "UIT-VSMEC test (Facebook emotions, mapped)"),
        ("aivivn_2019_sa_test", "AIVIVN 2019, derived 20% test (2 classes)"),
        ("uit_vihsd_test", "UIT-ViHSD test, negatives only (= negative recall)"),
        ("vlsp2016_sa_all", "VLSP 2016, all 5,100 (not trained on: cross-domain)"),
    ]:
        if f"{prefix}_macro_f1" in metrics:
            rows.append(
                f"| {what} | {int(metrics[f'{prefix}_n'])} | {m(prefix + '_accuracy')} | {m(prefix + '_macro_f1')} "
                f"| {m(prefix + '_weighted_f1')} | {m(prefix + '_f1_negative')} | {m(prefix + '_f1_neutral')} "
                f"| {m(prefix + '_f1_positive')} |"
            )
    weights = ", ".join(f"{k} {v:g}" for k, v in info["corpus_weights"].items() if k in info["train_corpora"])
    card = f"""# Model card: sentiment (shipped default)

Three-class sentiment (negative / neutral / positive) of Vietnamese comments about provincial public
matters. Registered as version 1 of the `sentiment` model at first start; retrain with

    python -m experiments.train_sentiment --data-dir ../shared/data/sentiment --output models/shipped/sentiment/

## Model
- `social_listening.SentimentClassifier` (file `model.skops`, {info["size_mb"]:.1f} MB; load with
  `SentimentClassifier.load`, which trusts only the listed numpy/builtin types; no pickle).
- Input: raw text. Every text goes through `social_listening.normalize` (NFC, tone-mark placement, lowercase,
  repeated letters, teencode/English dictionary, emoji -> sentiment tokens, URL/mention/phone masking).
- Features: hashed word {info["params"]["word_ngrams"]}-grams and character {info["params"]["char_ngrams"]}-grams inside word boundaries ({info["params"]["n_features"]} dims each), sublinear TF-IDF,
  L2 per block; multinomial logistic regression (C={info["params"]["C"]}, class weights balanced {"within each source" if info["balance_per_source"] else "over the whole mixture"}); trained also on a
  diacritics-stripped copy of every text; probabilities temperature-scaled (T={info["temperature"]:.3f}) on a
  10% held-out slice, then refit on all. Weights stored as float32.
- Output: probabilities over (negative, neutral, positive), summing to 1.

## Training data
| source | texts | weight | label mapping |
|---|---|---|---|
| seed set `train` split (`social_listening/data/seed/`, written for this project) | {int(metrics["n_center_train"])} | {info["center_weight"]:g} | as labelled |
| UIT-VSFC train (student feedback) | {int(metrics.get("n_train_uit_vsfc", 0))} | {info["corpus_weights"].get("uit-vsfc", 1):g} | 0/1/2 -> negative/neutral/positive |
| UIT-VSMEC train (Facebook, 7 emotions) | {int(metrics.get("n_train_uit_vsmec", 0))} | {info["corpus_weights"].get("uit-vsmec", 1):g} | Enjoyment -> positive; Sadness, Anger, Fear, Disgust -> negative; Surprise, Other -> neutral |
| UIT-ViHSD train, OFFENSIVE + HATE only | {int(metrics.get("n_train_uit_vihsd", 0))} | {info["corpus_weights"].get("uit-vihsd", 1):g} | -> negative (CLEAN unmapped, not used) |
| AIVIVN 2019 train, 80% by text hash | {int(metrics.get("n_train_aivivn_2019_sa", 0))} | {info["corpus_weights"].get("aivivn-2019-sa", 1):g} | 0 -> positive, 1 -> negative |

Weights: {weights}; seed {info["center_weight"]:g}. **VLSP 2016 is not in the training data**: its terms say models
trained on it must not be shipped without VLSP's permission; it is used here only to evaluate (cross-domain).
Data fingerprint (sha256 of the files): `{info["fingerprint"]}`; code version `{info["code_version"]}`.

## Metrics (measured by the command above on {info["host"]}, {info["date"]})
Macro-F1 is averaged over the classes present in the reference labels.

| evaluation set | n | accuracy | macro-F1 | weighted F1 | F1 neg | F1 neu | F1 pos |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Throughput: {metrics["throughput_texts_per_cpu_s"]:.0f} comments per CPU-second (per core) and {metrics["throughput_texts_per_s"]:.0f}
comments per wall-clock second on the shared machine; one process, one thread, batches of 1,000, normalisation
included ({int(metrics["throughput_n"])} distinct comments).

## Intended use and limits
- For counting and trending sentiment of public comments and for picking posts for analysts to review. Not for
  decisions about individual people.
- The seed set is small ({int(metrics["n_center_train"]) + int(metrics["n_center_eval"])} train and eval comments, plus {int(metrics.get("seed_challenge_n", 0))} in the challenge split) and was written by the
  project team, not collected from real users: the seed `eval` score is a proxy. Retrain with the center's own
  labels (`train_sentiment(..., center=(texts, labels))`) as soon as analysts have labelled real posts.
- The seed `challenge` split (short minimal pairs: the same topic praised, criticised and asked about) checks
  that topic words ("lễ hội hoa", "công an", "bệnh viện") do not carry the label. It was written by the same
  writer (an AI assistant) and in the same session as the last 171 train comments, on the same topics: it is
  an optimistic proxy, not real data.
- Public corpora bring their own topic confounds: in UIT-VSFC "quá" is mostly negative and "thư viện phục vụ"
  complaints make "viện phục vụ" negative, so "Bệnh viện phục vụ tốt quá" still comes out negative (0.53 vs 0.46 positive).
- Sarcasm, mixed comments and notices reporting bad news (labelled neutral) remain the usual errors.

## Terms of the data
UIT-VSFC, UIT-VSMEC, UIT-ViHSD (UIT NLP Group) and AIVIVN 2019 carry no explicit licence and are released for
research; their SOURCE.md files say "treat as research/evaluation only" and, for UIT-VSFC, "check with UIT before
shipping a model trained on it in a product". This default model is trained on them: before production use outside
research, obtain the data owners' agreement or retrain on the seed set plus the center's own labels only
(`--corpora` with no public corpus, see `--help`). The seed set is the project's own work.
"""
    path.write_text(card, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="folder of the public corpora")
    p.add_argument("--output", type=Path, default=REPO / "models" / "shipped" / "sentiment")
    p.add_argument("--seed-file", type=Path, default=None, help="seed TSV (default: the packaged one)")
    p.add_argument(
        "--corpora",
        nargs="*",
        default=list(SHIPPABLE_CORPORA),
        choices=list(CORPORA),
        help="public corpora to train on (default: all but VLSP 2016, which must not be shipped)",
    )
    p.add_argument("--center-weight", type=float, default=TrainingOptions().center_weight)
    p.add_argument(
        "--C",
        type=float,
        default=SHIPPED_C,
        help="inverse regularisation (default %(default)s: less memorisation of rare topic n-grams than 8)",
    )
    p.add_argument(
        "--balance-per-source",
        action="store_true",
        help="balance classes within each source instead of over the whole mixture",
    )
    p.add_argument("--mlflow-uri", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if "vlsp2016-sa" in args.corpora:
        logger.warning("training on VLSP 2016: the result must NOT be shipped without VLSP's permission")
    seed = load_seed(args.seed_file)
    train, held = seed.subset("train"), seed.subset("eval")
    options = TrainingOptions(
        train_corpora=tuple(args.corpora),
        center_weight=args.center_weight,
        eval_prefix="seed_eval",
        balance_per_source=args.balance_per_source,
        classifier_params={"C": args.C},
    )
    t0 = time.perf_counter()
    classifier, metrics = train_sentiment(
        args.data_dir, (train.texts, train.labels), center_eval=(held.texts, held.labels), options=options
    )
    metrics["train_seconds"] = time.perf_counter() - t0
    metrics.update(variant_metrics(classifier, held.texts, held.labels, "seed_eval"))
    challenge = seed.subset("challenge")
    metrics.update(evaluate(classifier, challenge.texts, challenge.labels, "seed_challenge"))
    timed, warmup = throughput_texts(args.data_dir, seed.texts)
    metrics["throughput_texts_per_s"], metrics["throughput_texts_per_cpu_s"] = measure_throughput(
        classifier, timed, warmup
    )
    metrics["throughput_n"] = float(len(timed))

    args.output.mkdir(parents=True, exist_ok=True)
    model_path = classifier.save(args.output / "model.skops")
    reloaded = SentimentClassifier.load(model_path)
    assert (reloaded.predict(held.texts[:50]) == classifier.predict(held.texts[:50])).all()

    files = [f for name in CORPORA for f in (args.data_dir / name).glob("*.tsv")]
    files.append(args.seed_file or Path(__file__).resolve().parents[1] / "social_listening/data/seed/seed_comments.tsv")
    info: dict[str, Any] = {
        "params": classifier.get_params(),
        "temperature": classifier.temperature_,
        "train_corpora": list(args.corpora),
        "corpus_weights": dict(DEFAULT_CORPUS_WEIGHTS),
        "center_weight": args.center_weight,
        "balance_per_source": args.balance_per_source,
        "fingerprint": fingerprint(files),
        "code_version": code_version(),
        "size_mb": model_path.stat().st_size / 1e6,
        "host": f"{platform.node() or 'this machine'} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)",
        "date": time.strftime("%Y-%m-%d"),
    }
    (args.output / "metrics.json").write_text(
        json.dumps({"metrics": metrics, **{k: v for k, v in info.items() if k != "host"}}, indent=2, default=str),
        encoding="utf-8",
    )
    write_card(args.output / "MODEL_CARD.md", metrics, info)
    for key in sorted(metrics):
        if key.endswith("macro_f1") or key.startswith("throughput"):
            print(f"{key:50s} {metrics[key]:.4f}")
    print(f"wrote {model_path} ({info['size_mb']:.1f} MB)")

    if args.mlflow_uri:
        import mlflow

        mlflow.set_tracking_uri(args.mlflow_uri)
        mlflow.set_experiment("sentiment_training")
        with mlflow.start_run(run_name="shipped-default"):
            mlflow.log_params(
                {
                    **{k: str(v) for k, v in info["params"].items()},
                    "train_corpora": ",".join(args.corpora),
                    "center_weight": args.center_weight,
                    "data_fingerprint": info["fingerprint"],
                    "code_version": info["code_version"],
                }
            )
            mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
            mlflow.log_artifacts(str(args.output))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
