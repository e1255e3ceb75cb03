"""Step 1: text from markup, but only for pages that might mention the school.

Fully parsing every page to find a name that is on few of them would cost more than the
crawl itself; the matcher's cheap, tolerant first pass decides which pages are parsed.
"""

from __future__ import annotations

from crawler.pipeline.step import Step
from crawler.text import html_to_text
from spiders.items import Document


def decode(body: bytes, encoding: str) -> str:
    """Bytes to text as Scrapy detected them; a wrong or unknown charset never stops a scan."""
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class ExtractStep(Step):
    def process(self, document: Document) -> None:
        raw = document.content if document.content is not None else decode(document.body, document.encoding)
        if not (self.context.matcher.might_mention(raw) or self.context.matcher.might_mention(document.title)):
            return
        title, text = html_to_text(raw)
        document.title = document.title or title
        if document.title and not text.startswith(document.title):
            text = f"{document.title}\n\n{text}"
        document.text = text
