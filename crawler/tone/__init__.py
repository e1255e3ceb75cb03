"""Tone and concern classification. Pure: no I/O beyond reading the shipped model and
lexicons once per process.

    classify(text, focus=(), rules=None) -> Judgement
    classify_many(texts, rules=None) -> Iterator[Judgement]   # lazy, streaming

``focus``: character spans of the school's mentions; long texts are judged on the
sentences around them and on the whole. ``rules``: any object with list attributes
urgent, high, normal and str negative_is (crawler.config.Classify fits); None means the
defaults. See docs/tone.md for how it works and how a person overrules a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from crawler.tone.judge import CONCERNS, Judgement, judge
from crawler.tone.severity import SeverityRules

__all__ = ["CONCERNS", "Judgement", "SeverityRules", "classify", "classify_many"]


def classify(text: str, focus: Sequence[tuple[int, int]] = (), rules: SeverityRules | None = None) -> Judgement:
    """Judge one post. Never raises on odd input: empty or junk text is neutral and low."""
    return judge(text, focus, rules)


def classify_many(texts: Iterable[str], rules: SeverityRules | None = None) -> Iterator[Judgement]:
    """Judge posts one at a time as they arrive (stdin-sized streams stay in constant memory)."""
    for text in texts:
        yield judge(text, (), rules)
