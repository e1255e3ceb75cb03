"""Step 3: tone, concerns and severity for documents that mention the school.

The classifier reads the passages around the mentions (``WINDOW`` characters either side of
each, joined), not a whole 30 KB page: what a post says about the school is next to its name,
and judging page furniture both costs more than the crawl and blurs the tone.

A classifier failure must not lose the mention: it is stored unjudged, with the reason, so a
person looks at it rather than nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from crawler import tone
from crawler.pipeline.step import Step
from spiders.items import Document

log = logging.getLogger(__name__)

WINDOW = 1500
GAP = "\n…\n"


def around(text: str, spans: Sequence[tuple[int, int]], window: int = WINDOW) -> tuple[str, list[tuple[int, int]]]:
    """The passages within ``window`` of each span, and the spans' offsets inside them."""
    passages: list[list[int]] = []
    for start, end in sorted(spans):
        low, high = max(0, start - window), min(len(text), end + window)
        if passages and low <= passages[-1][1]:
            passages[-1][1] = max(passages[-1][1], high)
        else:
            passages.append([low, high])
    excerpt, focus, shift = [], [], 0
    for low, high in passages:
        offset = shift - low
        focus += [(s + offset, e + offset) for s, e in spans if low <= s and e <= high]
        excerpt.append(text[low:high])
        shift += high - low + len(GAP)
    return GAP.join(excerpt), focus


class ClassifyStep(Step):
    def process(self, document: Document) -> None:
        if not document.matches:
            return
        excerpt, focus = around(document.text, [(m.start, m.end) for m in document.matches])
        try:
            rules = self.context.config.classify
            document.judgement = tone.classify(excerpt, focus=focus, rules=rules, backend=rules.backend)
        except Exception as exc:  # noqa: BLE001 - any classifier bug: keep the mention, flag it
            log.exception("classifying %s failed", document.url)
            document.judgement = tone.Judgement(
                tone="neutral", scores={}, concerns=[], severity="high",
                why=[f"not classified: the classifier failed ({type(exc).__name__}); please read it yourself"])
