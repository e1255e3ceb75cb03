"""Tone and concern classification. Pure: no I/O beyond reading the shipped model and
lexicons once per process.

    classify(text, focus=(), rules=None, backend="linear") -> Judgement
    classify_many(texts, rules=None, backend="linear") -> Iterator[Judgement]   # lazy, streaming

``focus``: character spans of the school's mentions; long texts are judged on the
sentences around them and on the whole. ``rules``: any object with list attributes
urgent, high, normal and str negative_is (crawler.config.Classify fits); None means the
defaults. ``backend``: "linear" (shipped, numpy only) or "minilm" (the transformer extra;
crawler.tone.scorer). See docs/tone.md for how it works and how a person overrules a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from crawler.tone.judge import CONCERNS, Judgement, judge
from crawler.tone.scorer import BACKENDS, shipped
from crawler.tone.severity import SeverityRules

__all__ = ["BACKENDS", "CONCERNS", "Judgement", "SeverityRules", "classify", "classify_many"]


def classify(text: str, focus: Sequence[tuple[int, int]] = (), rules: SeverityRules | None = None,
             backend: str = "linear") -> Judgement:
    """Judge one post. Never raises on odd input: empty or junk text is neutral and low."""
    return judge(text, focus, rules, shipped(backend))


def classify_many(texts: Iterable[str], rules: SeverityRules | None = None,
                  backend: str = "linear") -> Iterator[Judgement]:
    """Judge posts in order, each as it arrives (stdin-sized streams stay in constant memory)."""
    model = shipped(backend)  # loaded now: a missing extra is raised here, not mid-stream
    return (judge(text, (), rules, model) for text in texts)
