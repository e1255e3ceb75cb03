"""Label unlabelled tweets with MiniLM, for the linear model to learn from (distillation).

    python -m crawler.tone.teach [DATA_DIR]     # needs the transformer extra; ~2 min

OLID's 12,000 offensive tweets are few for a bag-of-words model; the fine-tuned MiniLM reads
offensive wording far better (76 vs 74 macro-F1 on val). Its probabilities on 20,000 tweets
from the *other* train splits (sentiment, hate, complaints; none that also occurs in the
offensive splits) become extra, soft-labelled training rows for the linear offensive head
(``train.with_extra``): on the fine-tune's dev rows that lifted plain logistic regression
from 0.741 to 0.760 macro-F1. The file holds row numbers and probabilities, no text; the
linear model's training reads it, so retraining needs no torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from crawler.tone import minilm
from crawler.tone.npzfile import write_npz
from crawler.tone.train import DEFAULT_DATA, SEED, TEACHER_PATH, TEACHER_POOLS, load_tasks

POOL = 20_000
HEADS = ("offensive",)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.tone.teach", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=TEACHER_PATH)
    parser.add_argument("--adapter", type=Path, default=minilm.ADAPTER_PATH)
    parser.add_argument("--pool", type=int, default=POOL)
    args = parser.parse_args(argv)

    tasks = {task.name: task for task in load_tasks(args.data)}
    taken = {t for name in HEADS for t in tasks[name].texts + tasks[name].val_texts}
    candidates = [(k, i) for k, name in enumerate(TEACHER_POOLS) for i, t in enumerate(tasks[name].texts)
                  if t not in taken]
    picked = sorted(np.random.default_rng(SEED).permutation(len(candidates))[:args.pool].tolist())
    rows = np.array([candidates[i] for i in picked], dtype=np.int64)
    texts = [tasks[TEACHER_POOLS[k]].texts[i] for k, i in rows]
    print(f"labelling {len(texts):,} tweets with MiniLM ...", file=sys.stderr, flush=True)
    logits = minilm.Backend(minilm.Adapter.load(args.adapter)).logits(texts)
    arrays = {"pool": rows[:, 0].astype(np.uint8), "row": rows[:, 1].astype(np.int32)}
    for head in HEADS:
        arrays[head] = (1.0 / (1.0 + np.exp(-logits[head]))).astype(np.float16)
    meta = {"heads": list(HEADS), "pools": list(TEACHER_POOLS), "rows": len(texts), "seed": SEED,
            "adapter_sha256": hashlib.sha256(args.adapter.read_bytes()).hexdigest(),
            "command": "python -m crawler.tone.teach",
            "excluded": "texts that also occur in the taught heads' own train or val splits"}
    write_npz(args.out, {**arrays, "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)})
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
