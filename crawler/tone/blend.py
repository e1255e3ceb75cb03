"""Choose, per head, how the minilm backend mixes the linear model with MiniLM, and its
yes/no thresholds, on the dev rows the fine-tune held out; then score val once.

    python -m crawler.tone.blend [DATA_DIR] [--adapter crawler/tone/model/minilm.npz]

The linear model is refitted without the dev rows (same choices as the shipped one), so
both halves of the blend are scored on text neither saw. Writes the choices into the
adapter's metadata and ``model/PROVENANCE-minilm.json``. A few minutes on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from crawler.tone import minilm
from crawler.tone.finetune import splits
from crawler.tone.metrics import macro_f1, macro_recall
from crawler.tone.model import LinearModel
from crawler.tone.train import (DEFAULT_DATA, SEED, Settings, Task, alert_threshold, best_threshold, fit, load_tasks,
                                load_teacher)

WEIGHTS = np.round(np.arange(0.0, 1.001, 0.05), 2)
PROVENANCE = minilm.ADAPTER_PATH.parent / "PROVENANCE.json"
OUT_PROVENANCE = minilm.ADAPTER_PATH.parent / "PROVENANCE-minilm.json"


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def linear_logits(model: LinearModel, name: str, texts: list[str]) -> np.ndarray:
    columns = list(model.heads[name].columns)
    z = np.array([model.decision(model.vector(t))[columns] for t in texts])
    return z if len(columns) > 1 else z[:, 0]


def choose(name: str, labels: np.ndarray, lin: np.ndarray, mini: np.ndarray) -> dict:
    """The weight (and, for yes/no heads, thresholds) that score best on dev."""
    best: dict = {}
    for w in WEIGHTS:
        z = (1 - w) * lin + w * mini
        if z.ndim == 2:
            found = {"weight": float(w), "dev_macro_recall": macro_recall(labels, z.argmax(1))}
            key = "dev_macro_recall"
        else:
            threshold, score = best_threshold(labels, _sigmoid(z))
            found = {"weight": float(w), "threshold": threshold, "dev_macro_f1": score,
                     "alert": alert_threshold(labels, _sigmoid(z), threshold)}
            key = "dev_macro_f1"
        if not best or found[key] > best[key] + 1e-9:
            best = found
    return best


def score(labels: np.ndarray, z: np.ndarray, threshold: float | None) -> float:
    if z.ndim == 2:
        return round(100 * macro_recall(labels, z.argmax(1)), 2)
    return round(100 * macro_f1(labels, (_sigmoid(z) >= threshold).astype(int)), 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.tone.blend", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--adapter", type=Path, default=minilm.ADAPTER_PATH)
    parser.add_argument("--limit", type=int, default=None, help="rows per task, as given to the fine-tune")
    parser.add_argument("--provenance", type=Path, default=OUT_PROVENANCE)
    args = parser.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    _, dev, _ = splits(args.data, np.random.default_rng(SEED), args.limit)
    chosen = {name: entry["chosen"] for name, entry in json.loads(PROVENANCE.read_text())["model_selection"].items()}
    held: list[Task] = []
    for task in load_tasks(args.data, args.limit):
        out = set(dev[task.name][0])
        keep = [i for i, t in enumerate(task.texts) if t not in out]
        cut = args.limit * 2 if args.limit else None
        held.append(Task(task.name, [task.texts[i] for i in keep], task.labels[keep], task.val_texts[:cut],
                         task.val_labels[:cut]))
    log("refitting the linear model without the dev rows ...")
    linear = fit(held, Settings(), log, chosen=chosen, teacher=load_teacher(args.data, args.limit)).model
    adapter = minilm.Adapter.load(args.adapter)
    backend = minilm.Backend(adapter)

    blend, val = {}, {}
    for task in held:
        texts, labels = dev[task.name]
        mini = backend.logits(texts)[task.name]
        blend[task.name] = choose(task.name, labels, linear_logits(linear, task.name, texts), mini)
        log(f"{task.name}: {blend[task.name]}")
        if task.val_texts:
            lin_val = linear_logits(linear, task.name, task.val_texts)
            mini_val = backend.logits(task.val_texts)[task.name]
            w, threshold = blend[task.name]["weight"], blend[task.name].get("threshold")
            alone = None if mini.ndim == 2 else best_threshold(labels, _sigmoid(mini))[0]
            val[task.name] = {"minilm_alone": score(task.val_labels, mini_val, alone),
                              "blend": score(task.val_labels, (1 - w) * lin_val + w * mini_val, threshold)}
            log(f"  val: {val[task.name]}")
    adapter.meta["blend"] = blend
    adapter.save(args.adapter)
    args.provenance.write_text(json.dumps({
        "model_file": args.adapter.name,
        "sha256": hashlib.sha256(args.adapter.read_bytes()).hexdigest(),
        "size_bytes": args.adapter.stat().st_size,
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commands": ["python -m crawler.tone.finetune", "python -m crawler.tone.blend"],
        "adapter": {k: v for k, v in adapter.meta.items() if k != "blend"},
        "blend": blend,
        "blend_chosen_on": "dev: a seeded tenth of each train split, held out of the fine-tune and of the "
                           "linear refit; val never used for a choice",
        "val_metrics_linear_refit_vs_blend": val,
    }, indent=2, sort_keys=True) + "\n")
    log(f"wrote {args.adapter} and {args.provenance}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
