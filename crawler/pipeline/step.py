"""What every pipeline step shares: built from the crawler, sees the scan's context."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.pipeline.context import ScanContext, get_context
from spiders.items import Document


class Step:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.context: ScanContext = get_context()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Step":
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Document) and item.judge and not item.unchanged:
            self.process(item)
        return item

    def process(self, document: Document) -> None:
        """Do this step's part for a document that is to be judged."""
        raise NotImplementedError
