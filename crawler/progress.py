"""Progress of a long crawl, per source, sent to the scan's event stream (at most twice a second)."""

from __future__ import annotations

import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.pipeline.context import get_context

INTERVAL = 0.5


class Progress:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pages = 0
        self.last = 0.0
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.response, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Progress":
        return cls(crawler)

    def opened(self, spider: Any) -> None:
        get_context().emit({"event": "source_started", "source": spider.name, "url": spider.options.url})

    def response(self, response: Response, request: Any, spider: Any) -> None:
        self.pages += 1
        now = time.monotonic()
        if now - self.last >= INTERVAL:
            self.last = now
            get_context().emit({"event": "progress", "source": spider.name, "pages": self.pages})
