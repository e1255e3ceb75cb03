"""Conditional GET: ask "changed since last time?" so a rescan of unchanged sources is cheap.

The scan hands each spider the validators (ETag, Last-Modified) it stored last time; this
downloader middleware turns them into ``If-None-Match`` / ``If-Modified-Since`` headers.
A ``304 Not Modified`` answer reaches the spider, which treats the page as unchanged.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.http import Request


class ConditionalGet:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ConditionalGet":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        known = getattr(self.crawler.spider, "known", {})
        etag, last_modified, _links = known.get(request.url, (None, None, []))
        if etag and b"If-None-Match" not in request.headers:
            request.headers[b"If-None-Match"] = etag
        if last_modified and b"If-Modified-Since" not in request.headers:
            request.headers[b"If-Modified-Since"] = last_modified
        return None
