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
    """A feed entry is judged on its own text and the article behind it: summaries are short."""

    def process(self, document: Document) -> None:
        markups = [m for m in (document.content, decode(document.body, document.encoding)
                               if document.body_is_page else None) if m is not None]
        might = self.context.matcher.might_mention
        if not (might(document.title) or any(might(m) for m in markups)):
            return
        texts = []
        for markup in markups:
            title, text = html_to_text(markup)
            document.title = document.title or title
            texts.append(text)
        text = "\n\n".join(t for t in texts if t)
        if document.title and not text.startswith(document.title):
            text = f"{document.title}\n\n{text}"
        document.text = text
