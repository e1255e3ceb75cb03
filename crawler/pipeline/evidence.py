"""Step 5: archive the raw response, the text and a WARC record for new and edited mentions."""

from __future__ import annotations

from crawler.evidence import capture
from crawler.pipeline.step import Step
from crawler.storage import utcnow
from spiders.items import Document


class EvidenceStep(Step):
    def process(self, document: Document) -> None:
        if document.matches and document.change != "same":
            document.evidence = capture(self.context.config.storage.archive, document, utcnow())
