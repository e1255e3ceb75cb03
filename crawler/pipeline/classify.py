"""Step 3: tone, concerns and severity for documents that mention the school."""

from __future__ import annotations

from crawler import tone
from crawler.pipeline.step import Step
from spiders.items import Document


class ClassifyStep(Step):
    def process(self, document: Document) -> None:
        if document.matches:
            focus = [(m.start, m.end) for m in document.matches]
            document.judgement = tone.classify(document.text, focus=focus, rules=self.context.config.classify)
