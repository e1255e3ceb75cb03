"""Benchmark the tone classifier on the val splits and time ``classify_many``.

    .venv/bin/python bench/tone.py [DATA_DIR] [--backend linear|minilm] [--out FILE.json]

``--backend minilm`` (needs ``pip install -e '.[transformer]'``) measures the optional
transformer backend; results go to bench/results/tone.json or tone-minilm.json.

Two views of quality, both on val (the test splits are held back):
  model:   each trained head as TweetEval scores it (sentiment argmax, yes/no heads at
           their macro-F1 threshold): the numbers to compare with published baselines;
  product: what ``classify_many`` reports to a school (tone, and the offensive/hate
           concerns, which fire at the stricter alert threshold or on a reviewed pattern).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np

from crawler.tone import classify_many
from crawler.tone.metrics import macro_f1, macro_recall
from crawler.tone.minilm import ADAPTER_PATH
from crawler.tone.model import MODEL_PATH
from crawler.tone.scorer import BACKENDS, shipped
from crawler.tone.train import DEFAULT_DATA, REPO_ROOT
from crawler.tone.wordvectors import VECTORS_PATH

TONES = ("negative", "neutral", "positive")  # TweetEval label order 0, 1, 2
ANCHORS = {  # held-back test splits, from the TweetEval paper and leaderboard
    "sentiment_macro_recall": {"FastText": 62.9, "RoBERTa-base": 71.3},
    "offensive_macro_f1": {"FastText": 73.4, "best": 82.2},
    "hate_macro_f1": {"FastText": 50.6, "best": 56.4},
}


def _split(data: Path, task: str) -> tuple[list[str], np.ndarray]:
    texts = (data / task / "val_text.txt").read_text(encoding="utf-8").split("\n")[:-1]
    labels = np.array((data / task / "val_labels.txt").read_text().split(), dtype=int)
    return texts, labels


def model_view(data: Path, backend: str) -> dict[str, float]:
    model = shipped(backend)
    out = {}
    for task in ("sentiment", "offensive", "hate"):
        texts, labels = _split(data, task)
        probs = [p for start in range(0, len(texts), 256) for _, p in model.read(texts[start:start + 256])]
        head = model.heads[task]
        if head.threshold is None:
            predicted = np.array([max(range(3), key=lambda i: p[TONES[i]]) for p in probs])
            out[f"{task}_macro_recall"] = round(100 * macro_recall(labels, predicted), 2)
        else:
            predicted = np.array([p[task] >= head.threshold for p in probs], dtype=int)
            out[f"{task}_macro_f1"] = round(100 * macro_f1(labels, predicted), 2)
    return out


def product_view(data: Path, backend: str) -> tuple[dict[str, float], dict[str, float]]:
    """Metrics of what classify_many reports, and its speed over all val texts."""
    out, seconds, count = {}, 0.0, 0
    for task in ("sentiment", "offensive", "hate"):
        texts, labels = _split(data, task)
        start = time.perf_counter()
        judgements = list(classify_many(texts, backend=backend))
        seconds += time.perf_counter() - start
        count += len(texts)
        if task == "sentiment":
            predicted = np.array([TONES.index(j.tone) for j in judgements])
            out["tone_macro_recall"] = round(100 * macro_recall(labels, predicted), 2)
        else:
            predicted = np.array([task in j.concerns for j in judgements], dtype=int)
            out[f"{task}_concern_macro_f1"] = round(100 * macro_f1(labels, predicted), 2)
    return out, {"texts": count, "seconds": round(seconds, 2), "texts_per_second": round(count / seconds, 1)}


def long_post_speed(data: Path, backend: str, n: int = 200, join: int = 12) -> dict[str, float]:
    """Blog-length posts (a dozen tweets joined) exercise the sentence-chunk path."""
    texts, _ = _split(data, "sentiment")
    posts = [" ".join(texts[i:i + join]) for i in range(0, n * join, join)]
    start = time.perf_counter()
    list(classify_many(posts, backend=backend))
    seconds = time.perf_counter() - start
    return {"posts": len(posts), "mean_chars": round(float(np.mean([len(p) for p in posts]))),
            "posts_per_second": round(len(posts) / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--backend", choices=BACKENDS, default="linear")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or REPO_ROOT / "bench" / "results" / ("tone.json" if args.backend == "linear" else
                                                         f"tone-{args.backend}.json")
    shipped(args.backend)  # load outside the timings
    product, speed = product_view(args.data, args.backend)
    files = (MODEL_PATH, VECTORS_PATH) + ((ADAPTER_PATH,) if args.backend == "minilm" else ())
    result = {
        "split": "val",
        "backend": args.backend,
        "model": model_view(args.data, args.backend),
        "product": product,
        "speed": speed,
        "long_posts": long_post_speed(args.data, args.backend),
        "anchors_test_split": ANCHORS,
        "model_sha256": hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest(),
        "model_bytes": {path.name: path.stat().st_size for path in files if path.is_file()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "cpus": os.cpu_count()},
    }
    for name, value in {**result["model"], **result["product"]}.items():
        print(f"{name:28s} {value:6.2f}")
    print(f"{'classify_many texts/s':28s} {speed['texts_per_second']:8.1f}")
    print(f"{'peak memory (RSS) MB':28s} {result['peak_rss_mb']:8.1f}")
    print(f"{'long posts/s':28s} {result['long_posts']['posts_per_second']:8.1f}"
          f"  (~{result['long_posts']['mean_chars']} chars)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
