"""The optional MiniLM tone backend, as a school switches it on: through the config and the CLI.

`make test` installs the transformer extra, so in CI these run; elsewhere they are skipped
when torch or the MiniLM package is missing (the error a school would see is tested either way).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crawler.config import ConfigError, config_from_dict
from crawler.queries import mentions_since
from crawler.scan import run_scan
from crawler.tone import classify, classify_many
from crawler.tone.metrics import macro_f1
from crawler.tone.scorer import missing_extra
from crawler.tone.train import DEFAULT_DATA
from support.scanning import DEMO_EXPECTED, demo_sources, make_config

REPO = Path(__file__).resolve().parents[2]
PROBLEM = missing_extra("minilm")
if PROBLEM and os.environ.get("CI"):
    raise RuntimeError(f"in CI the transformer extra must be installed by `make test`: {PROBLEM}")
needs_extra = pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")
needs_data = pytest.mark.skipif(not (DEFAULT_DATA / "offensive").is_dir(), reason="no ../shared/data/tone")

LINES = [
    "Absolutely brilliant nativity today, so proud of all the children and staff!",
    "",
    "The head teacher at Bentilee is a useless lying idiot and everyone knows it",
    "Bentilee Nursery will be closed on Monday for staff training.",
    "My son was left alone in the playground and nobody noticed " * 12,
    "not happy at all with how the nursery handled my complaint",
]


def test_asking_for_minilm_without_the_extra_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crawler.tone.scorer.find_spec", lambda name: None)
    raw = {"school": {"name": "Bentilee Nursery School"}, "sources": [{"name": "site", "kind": "site",
           "url": "https://example.org/"}], "classify": {"backend": "minilm"}}
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw)
    assert "classify.backend" in str(caught.value) and "pip install -e '.[transformer]'" in str(caught.value)
    raw["classify"]["backend"] = "bert"
    with pytest.raises(ConfigError, match="linear, minilm"):
        config_from_dict(raw)


@needs_extra
def test_cli_answers_every_line_in_order_with_the_same_json() -> None:
    run = subprocess.run([sys.executable, "-m", "crawler", "classify", "--backend", "minilm", "--json"],
                         input="\n".join(LINES * 20) + "\n", capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(out) == len(LINES) * 20
    assert all(list(o) == ["tone", "scores", "concerns", "severity", "why"] for o in out)
    assert all(out[i] == out[i % len(LINES)] for i in range(len(out))), "a batch changed a line's answer"
    praise, empty, abuse, notice, alone, unhappy = out[:len(LINES)]
    assert praise["tone"] == "positive" and praise["severity"] == "low"
    assert (empty["tone"], empty["concerns"]) == ("neutral", [])
    assert abuse["tone"] == "negative" and "offensive" in abuse["concerns"] and abuse["severity"] == "high"
    assert any(w.startswith("offensive ") and "idiot" in w for w in abuse["why"])
    assert notice["tone"] != "negative" and notice["concerns"] == []
    assert "safeguarding" in alone["concerns"] and alone["severity"] == "urgent"
    assert unhappy["tone"] == "negative"


@needs_extra
def test_one_post_alone_and_in_a_batch_get_the_same_labels() -> None:
    batched = list(classify_many(LINES, backend="minilm"))
    for text, together in zip(LINES, batched):
        alone = classify(text, backend="minilm")
        assert (alone.tone, alone.concerns, alone.severity) == (together.tone, together.concerns, together.severity)
        for label, score in alone.scores.items():
            assert abs(score - together.scores[label]) < 0.05, (text, label)


@needs_extra
@needs_data
def test_minilm_finds_offensive_tweets_the_linear_model_misses() -> None:
    texts = (DEFAULT_DATA / "offensive" / "val_text.txt").read_text("utf-8").split("\n")[:-1]
    labels = np.array((DEFAULT_DATA / "offensive" / "val_labels.txt").read_text().split(), dtype=int)

    def f1(backend: str) -> float:
        from crawler.tone.scorer import shipped
        model = shipped(backend)
        probs = [p["offensive"] for start in range(0, len(texts), 100)
                 for _, p in model.read(texts[start:start + 100])]
        return macro_f1(labels, (np.array(probs) >= model.heads["offensive"].threshold).astype(int))

    assert f1("minilm") > f1("linear") + 0.02  # 78.1 vs 74.7 when measured


@needs_extra
@needs_data
def test_rebuilding_the_adapter_is_deterministic_and_the_blend_is_recorded(tmp_path: Path) -> None:
    from crawler.tone import blend, finetune, minilm

    adapters = []
    for run in ("a", "b"):
        adapters.append(tmp_path / run / "minilm.npz")
        assert finetune.main([str(DEFAULT_DATA), "--out", str(adapters[-1]), "--limit", "40", "--epochs", "1"]) == 0
    assert adapters[0].read_bytes() == adapters[1].read_bytes()

    provenance = tmp_path / "PROVENANCE-minilm.json"
    assert blend.main([str(DEFAULT_DATA), "--adapter", str(adapters[0]), "--limit", "40",
                       "--provenance", str(provenance)]) == 0
    record = json.loads(provenance.read_text())
    assert record["sha256"] == hashlib.sha256(adapters[0].read_bytes()).hexdigest()
    adapter = minilm.Adapter.load(adapters[0])
    assert set(adapter.meta["blend"]) == {"sentiment", "offensive", "hate", "complaint"}
    assert all(0.0 <= b["weight"] <= 1.0 for b in adapter.meta["blend"].values())
    logits = minilm.Backend(adapter).logits(["you absolute idiot", "", "a lovely day"])
    assert logits["sentiment"].shape == (3, 3) and logits["offensive"].shape == (3,)


@needs_extra
def test_a_scan_with_the_minilm_backend_judges_the_demo_posts(tmp_path: Path, demo_site) -> None:
    config = make_config(tmp_path, demo_sources(demo_site.base_url), {"classify": {"backend": "minilm"}})
    summary = run_scan(config)
    assert summary.status == "finished" and summary.errors == []
    found = {r["url"].removeprefix(demo_site.base_url): r for r in mentions_since(config)}
    assert len(found) == len(DEMO_EXPECTED["mentions"])
    for expected in DEMO_EXPECTED["mentions"]:
        mention = found[expected["path"]]
        where = f"{expected['path']}: {mention['tone']} {mention['concerns']} {mention['why']}"
        assert mention["tone"] in expected["tone"], where
        assert set(expected["concerns"]) <= set(mention["concerns"]), where
