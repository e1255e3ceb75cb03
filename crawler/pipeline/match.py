"""Step 2: find the school's name and aliases in the text (exclusions applied)."""

from __future__ import annotations

from crawler.pipeline.step import Step
from spiders.items import Document


class MatchStep(Step):
    def process(self, document: Document) -> None:
        if document.text:
            document.matches = self.context.matcher.find(document.text)
