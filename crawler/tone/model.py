"""The shipped linear model: TF-IDF over ``features.analyze`` and one weight column per output.

Inference is numpy plus a dict lookup per feature, so the normal install needs neither
scikit-learn nor torch, and a line costs well under a millisecond.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from crawler.tone.features import FEATURES_VERSION, analyze

MODEL_PATH = Path(__file__).parent / "model" / "tone.npz"
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # so two trainings write byte-identical files


@dataclass(frozen=True)
class Head:
    """One trained task: its weight columns, labels and (for yes/no tasks) decision threshold."""

    name: str
    columns: tuple[int, ...]
    labels: tuple[str, ...]  # softmax class names, or the one name of a sigmoid output
    threshold: float | None  # None: softmax (argmax wins); else the macro-F1 (benchmark) threshold
    alert: float | None  # yes/no heads: the stricter threshold at which a concern is raised


class LinearModel:
    """Vocabulary, idf and weights, exported from the training pipeline."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray, weights: np.ndarray,
                 intercepts: np.ndarray, heads: list[Head], meta: dict) -> None:
        self.index = {feature: i for i, feature in enumerate(vocabulary)}
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.weights = weights.astype(np.float64)
        self.intercepts = intercepts.astype(np.float64)
        self.heads = {head.name: head for head in heads}
        self.meta = meta

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse TF-IDF row as (indices, values): sublinear tf, smooth idf, l2 norm (sklearn's)."""
        index = self.index
        known = [(index[f], n) for f, n in Counter(analyze(text)).items() if f in index]
        if not known:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter((i for i, _ in known), dtype=np.int64, count=len(known))
        tf = np.fromiter((n for _, n in known), dtype=np.float64, count=len(known))
        values = (1.0 + np.log(tf)) * self.idf[idx]
        return idx, values / math.sqrt(float(values @ values))

    def decision(self, vector: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Raw linear scores of one ``vector`` for every output column."""
        idx, values = vector
        return values @ self.weights[idx] + self.intercepts

    def probabilities(self, decision: np.ndarray) -> dict[str, float]:
        """Each head's probabilities by label: softmax for multi-class, sigmoid for yes/no."""
        out: dict[str, float] = {}
        for head in self.heads.values():
            z = decision[list(head.columns)]
            if head.threshold is None:
                e = np.exp(z - z.max())
                out.update(zip(head.labels, (e / e.sum()).tolist()))
            else:
                out[head.labels[0]] = float(1.0 / (1.0 + np.exp(-z[0])))
        return out

    def column(self, label: str) -> int:
        """The weight column that speaks for ``label`` (a class or a yes/no head)."""
        for head in self.heads.values():
            if label in head.labels:
                return head.columns[head.labels.index(label)]
        raise KeyError(label)

    def contributions(self, vector: tuple[np.ndarray, np.ndarray], label: str) -> dict[str, float]:
        """How far each feature pushed ``label`` up (for a softmax class: relative to its rivals)."""
        idx, values = vector
        rows = self.weights[idx]
        head = next(h for h in self.heads.values() if label in h.labels)
        weight = rows[:, self.column(label)]
        if head.threshold is None:
            weight = weight - rows[:, list(head.columns)].mean(axis=1)
        pushes = values * weight
        return {self.vocabulary[i]: p for i, p in zip(idx.tolist(), pushes.tolist())}

    def save(self, path: Path) -> None:
        """Write a compressed .npz with fixed zip timestamps (deterministic bytes, no pickles)."""
        arrays = {
            "vocabulary": np.frombuffer("\n".join(self.vocabulary).encode("utf-8"), dtype=np.uint8),
            "idf": self.idf.astype(np.float32),
            "weights": self.weights.astype(np.float16),
            "intercepts": self.intercepts.astype(np.float32),
            "meta": np.frombuffer(json.dumps(self._meta_with_heads(), sort_keys=True).encode(), dtype=np.uint8),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for name, array in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(name + ".npy", date_time=_FIXED_ZIP_TIME), buf.getvalue(),
                            compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)

    def _meta_with_heads(self) -> dict:
        heads = [{"name": h.name, "columns": list(h.columns), "labels": list(h.labels),
                  "threshold": h.threshold, "alert": h.alert} for h in self.heads.values()]
        return {**self.meta, "features_version": FEATURES_VERSION, "heads": heads}

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LinearModel:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("features_version") != FEATURES_VERSION:
                raise RuntimeError(f"{path} was trained with features {meta.get('features_version')!r}, "
                                   f"code has {FEATURES_VERSION!r}: retrain with python -m crawler.tone.train")
            heads = [Head(h["name"], tuple(h["columns"]), tuple(h["labels"]), h["threshold"], h["alert"])
                     for h in meta.pop("heads")]
            return cls(npz["vocabulary"].tobytes().decode("utf-8").split("\n"), npz["idf"],
                       npz["weights"], npz["intercepts"], heads, meta)


@lru_cache(maxsize=1)
def shipped() -> LinearModel:
    """The model in the package, loaded once per process on first use."""
    return LinearModel.load(MODEL_PATH)
