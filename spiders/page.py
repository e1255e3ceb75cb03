"""``kind: page``: one web page, read whole (a review page, a school's news page)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider, is_text_response
from spiders.items import SourceProblem
from spiders.options import SourceOptions


class PageSource(SourceOptions, kind="page"):
    spider = "spiders.page.PageSpider"
    summary = "one web page, read whole (a review page, a local directory listing)"
    example = """\
- name: reviews
  kind: page
  url: https://reviews.example.org/bentilee-nursery-school
  every: 1d
"""


class PageSpider(SourceSpider):
    def parse_start(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            yield self.unchanged(response)
        elif not is_text_response(response):
            kind = response.headers.get(b"Content-Type", b"unknown").decode("latin-1")
            yield SourceProblem(self.options.name, response.url, f"not a web page (it is {kind[:80]})")
        else:
            yield self.page_document(response)
