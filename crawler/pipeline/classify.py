"""Step 3: tone, concerns and severity for documents that mention the school.

A classifier failure must not lose the mention: it is stored unjudged, with the reason, so a
person looks at it rather than nobody.
"""

from __future__ import annotations

import logging

from crawler import tone
from crawler.pipeline.step import Step
from spiders.items import Document

log = logging.getLogger(__name__)


class ClassifyStep(Step):
    def process(self, document: Document) -> None:
        if not document.matches:
            return
        focus = [(m.start, m.end) for m in document.matches]
        try:
            document.judgement = tone.classify(document.text, focus=focus, rules=self.context.config.classify)
        except Exception as exc:  # noqa: BLE001 - any classifier bug: keep the mention, flag it
            log.exception("classifying %s failed", document.url)
            document.judgement = tone.Judgement(
                tone="neutral", scores={}, concerns=[], severity="high",
                why=[f"not classified: the classifier failed ({type(exc).__name__}); please read it yourself"])
