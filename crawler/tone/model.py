"""The shipped linear model: TF-IDF over ``features.analyze`` plus a static word-vector
embedding (``wordvectors.py``), and one weight column per output over both.

Inference is numpy plus a dict lookup per feature, so the normal install needs neither
scikit-learn nor torch, and a line costs well under a millisecond.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from crawler.tone.features import FEATURES_VERSION, features_of, words
from crawler.tone.npzfile import write_npz
from crawler.tone.wordvectors import VECTORS_PATH, WordVectors

MODEL_PATH = Path(__file__).parent / "model" / "tone.npz"


@dataclass(frozen=True)
class Head:
    """One trained task: its weight columns, labels and (for yes/no tasks) decision threshold."""

    name: str
    columns: tuple[int, ...]
    labels: tuple[str, ...]  # softmax class names, or the one name of a sigmoid output
    threshold: float | None  # None: softmax (argmax wins); else the macro-F1 (benchmark) threshold
    alert: float | None  # yes/no heads: the stricter threshold at which a concern is raised


class Vector(NamedTuple):
    """One text as the model sees it: the sparse TF-IDF row and the dense word-vector part."""

    idx: np.ndarray  # TF-IDF feature indices
    values: np.ndarray  # their values (l2-normalised row)
    rows: np.ndarray  # word-vector table rows of the words embedded (for explanations)
    dense: np.ndarray  # unit word-vector embedding (empty when the model has none)
    norm: float  # length of the weighted word-vector sum before normalising


class LinearModel:
    """Vocabulary, idf and weights, exported from the training pipeline.

    ``weights`` has one row per TF-IDF feature; ``dense_weights`` one row per word-vector
    dimension (both one column per output), so a score is a single dot product of the two
    parts of the text's vector with them."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray, weights: np.ndarray,
                 intercepts: np.ndarray, heads: list[Head], meta: dict,
                 dense_weights: np.ndarray | None = None, wordvectors: WordVectors | None = None) -> None:
        self.index = {feature: i for i, feature in enumerate(vocabulary)}
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float64)
        self.weights = weights.astype(np.float64)
        self.intercepts = intercepts.astype(np.float64)
        self.heads = {head.name: head for head in heads}
        self.meta = meta
        if (dense_weights is None) != (wordvectors is None):
            raise ValueError("dense weights and word vectors come together")
        self.wordvectors = wordvectors
        self.dense_weights = None if dense_weights is None else dense_weights.astype(np.float64)

    def vector(self, text: str) -> Vector:
        """TF-IDF row (sublinear tf, smooth idf, l2 norm: sklearn's) and word-vector embedding."""
        index = self.index
        toks = words(text)
        known = [(index[f], n) for f, n in Counter(features_of(toks)).items() if f in index]
        if known:
            idx = np.fromiter((i for i, _ in known), dtype=np.int64, count=len(known))
            tf = np.fromiter((n for _, n in known), dtype=np.float64, count=len(known))
            values = (1.0 + np.log(tf)) * self.idf[idx]
            values /= math.sqrt(float(values @ values))
        else:
            idx, values = np.zeros(0, dtype=np.int64), np.zeros(0)
        if self.wordvectors is None:
            return Vector(idx, values, np.zeros(0, dtype=np.int64), np.zeros(0), 0.0)
        rows = self.wordvectors.rows(toks)
        dense, norm = self.wordvectors.embed(rows)
        return Vector(idx, values, rows, dense, norm)

    def decision(self, vector: Vector) -> np.ndarray:
        """Raw linear scores of one ``vector`` for every output column."""
        score = vector.values @ self.weights[vector.idx] + self.intercepts
        if self.dense_weights is not None:
            score += vector.dense @ self.dense_weights
        return score

    def read(self, texts: list[str]) -> list[tuple[Vector, dict[str, float]]]:
        """Each text's vector (for explanations) and every head's probabilities."""
        return [(v, self.probabilities(self.decision(v))) for v in map(self.vector, texts)]

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

    def contributions(self, vector: Vector, label: str) -> dict[str, float]:
        """How far each feature pushed ``label`` up (for a softmax class: relative to its rivals).

        The word-vector part is credited to the words it was summed from, as word features
        ("w\t<word>"), so an explanation can name a word the TF-IDF vocabulary never saw."""
        head = next(h for h in self.heads.values() if label in h.labels)
        column, rivals = self.column(label), list(head.columns)

        def direction(weights: np.ndarray) -> np.ndarray:
            weight = weights[:, column]
            return weight - weights[:, rivals].mean(axis=1) if head.threshold is None else weight

        pushes = vector.values * direction(self.weights[vector.idx])
        out = {self.vocabulary[i]: p for i, p in zip(vector.idx.tolist(), pushes.tolist())}
        if self.dense_weights is not None and vector.norm > 0:
            wv = self.wordvectors
            dense_pushes = wv.weights[vector.rows] * (wv.vectors[vector.rows] @ direction(self.dense_weights)) / vector.norm
            for row, push in zip(vector.rows.tolist(), dense_pushes.tolist()):
                key = "w\t" + wv.vocabulary[row]
                out[key] = out.get(key, 0.0) + push
        return out

    def save(self, path: Path) -> None:
        """Write a compressed .npz with fixed zip timestamps (deterministic bytes, no pickles)."""
        arrays = {
            "vocabulary": np.frombuffer("\n".join(self.vocabulary).encode("utf-8"), dtype=np.uint8),
            "idf": self.idf.astype(np.float32),
            "weights": self.weights.astype(np.float16),
            "intercepts": self.intercepts.astype(np.float32),
            "meta": np.frombuffer(json.dumps(self._meta_with_heads(), sort_keys=True).encode(), dtype=np.uint8),
        }
        if self.dense_weights is not None:
            arrays["dense_weights"] = self.dense_weights.astype(np.float32)
        write_npz(path, arrays)

    def _meta_with_heads(self) -> dict:
        heads = [{"name": h.name, "columns": list(h.columns), "labels": list(h.labels),
                  "threshold": h.threshold, "alert": h.alert} for h in self.heads.values()]
        vectors = {} if self.wordvectors is None else {"wordvectors_sha256": self.wordvectors.sha256()}
        return {**self.meta, **vectors, "features_version": FEATURES_VERSION, "heads": heads}

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LinearModel:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            if meta.get("features_version") != FEATURES_VERSION:
                raise RuntimeError(f"{path} was trained with features {meta.get('features_version')!r}, "
                                   f"code has {FEATURES_VERSION!r}: retrain with python -m crawler.tone.train")
            heads = [Head(h["name"], tuple(h["columns"]), tuple(h["labels"]), h["threshold"], h["alert"])
                     for h in meta.pop("heads")]
            dense_weights, wordvectors = None, None
            if "wordvectors_sha256" in meta:
                wordvectors = _wordvectors_for(path, meta.pop("wordvectors_sha256"))
                dense_weights = npz["dense_weights"]
            return cls(npz["vocabulary"].tobytes().decode("utf-8").split("\n"), npz["idf"],
                       npz["weights"], npz["intercepts"], heads, meta, dense_weights, wordvectors)


def _wordvectors_for(model_path: Path, sha256: str) -> WordVectors:
    """The word-vector table the model was trained with: beside it, else the shipped one."""
    for candidate in (model_path.parent / VECTORS_PATH.name, VECTORS_PATH):
        if candidate.is_file():
            vectors = WordVectors.load(candidate)
            if vectors.sha256() == sha256:
                return vectors
    raise RuntimeError(f"{model_path} was trained with word vectors {sha256[:12]}..., not found beside it or "
                       f"at {VECTORS_PATH}: retrain with python -m crawler.tone.train")


@lru_cache(maxsize=1)
def shipped() -> LinearModel:
    """The model in the package, loaded once per process on first use."""
    return LinearModel.load(MODEL_PATH)
