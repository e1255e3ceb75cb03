"""``kind: site``: crawl from a start page, following links on the same host, to ``depth``.

Breadth-first (``DEPTH_PRIORITY = 1`` with FIFO queues, set in ``crawler.crawl_settings``)
so that depth means distance from the start page, and a page reached first along a long
path is not lost to its short path being filtered as a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field
from scrapy.http import Request, Response
from scrapy.linkextractors import LinkExtractor

from spiders.base import SourceSpider, is_text_response
from spiders.options import SourceOptions


class SiteSource(SourceOptions, kind="site"):
    spider = "spiders.site.SiteSpider"
    summary = "a public website crawled from a start page, same host, up to depth links away (a parents' forum)"
    example = """\
- name: parents-forum
  kind: site
  url: https://forum.example.org/schools/
  depth: 2
  every: 2h
"""
    depth: int = Field(default=2, ge=0, le=20)


class SiteSpider(SourceSpider):
    def __init__(self, *args: Any, max_pages: int = 5000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        host = urlsplit(self.options.url).hostname or ""
        self.links = LinkExtractor(unique=True)  # same host checked below (allow_domains misses IPs)
        self.host = host
        self.max_pages = max_pages
        self.seen = {self.options.url}

    def parse_start(self, response: Response) -> Iterator[Any]:
        yield from self.parse_page(response)

    def parse_page(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            document = self.unchanged(response)
            yield document
            yield from self.follow(response, document.links)
            return
        if not is_text_response(response):
            return
        links = [link.url for link in self.links.extract_links(response)
                 if urlsplit(link.url).hostname == self.host]
        yield self.page_document(response, links=links)
        yield from self.follow(response, links)

    def follow(self, response: Response, links: list[str]) -> Iterator[Request]:
        if response.meta.get("depth", 0) >= self.options.depth:  # type: ignore[attr-defined]
            return
        for url in links:
            if url in self.seen:
                continue
            if len(self.seen) >= self.max_pages:
                self.logger.warning("stopped following links after %d pages (crawl.max_pages)", self.max_pages)
                return
            self.seen.add(url)
            yield self.fetch(url, self.parse_page)
