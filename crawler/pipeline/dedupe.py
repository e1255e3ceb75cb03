"""Step 4: is this mention new, edited, or the same as last time?

Only new and edited mentions need fresh evidence. The store step checks again inside its
transaction (another source may have stored the same URL meanwhile), so this is the cheap
read that saves writing evidence, not the final word.
"""

from __future__ import annotations

from sqlalchemy import select

from crawler.evidence import text_digest
from crawler.pipeline.step import Step
from crawler.storage import Mention
from spiders.items import Document


def change_kind(stored_digest: str | None, text: str) -> str:
    if stored_digest is None:
        return "new"
    return "same" if stored_digest == text_digest(text) else "updated"


class DedupeStep(Step):
    def process(self, document: Document) -> None:
        if not document.matches:
            return
        with self.context.sessions() as session:
            stored = session.scalar(select(Mention.text_sha256).where(Mention.url == document.url))
        document.change = change_kind(stored, document.text)
