"""The base every source spider stands on: safe requests, readable failures, 304 handling.

A concrete spider is small: it says how to read its start response (``parse_start``).
Failures become :class:`SourceProblem` items, so the pipeline records them on the scan run
and the crawl goes on with the other sources.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import scrapy
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from spiders.failures import describe_failure
from spiders.items import Document, SourceProblem
from spiders.options import SourceOptions

Validators = tuple[str | None, str | None, list[str]]  # etag, last-modified, links seen last time


class SourceSpider(scrapy.Spider):
    """One configured source. Subclasses implement :meth:`parse_start`."""

    name = "source"
    handle_httpstatus_list = [304]  # conditional GET: "not modified" is an answer, not an error

    def __init__(self, options: SourceOptions, known: dict[str, Validators] | None = None,
                 wants: Callable[[str], bool] | None = None, **kwargs: Any) -> None:
        super().__init__(name=options.name, **kwargs)
        self.options = options
        self.known = known or {}
        # The cheap "might this mention the school?" test, handed in by the scan.
        self.wants: Callable[[str], bool] = wants or (lambda _text: True)

    async def start(self) -> AsyncIterator[Any]:
        try:
            request = self.fetch(self.options.url, self.parse_start, start=True)
        except ValueError as exc:  # an address Scrapy cannot even build a request for
            yield SourceProblem(self.options.name, self.options.url, f"the address cannot be used: {exc}")
            return
        yield request

    def fetch(self, url: str, callback: Callable[..., Any], start: bool = False, **cb_kwargs: Any) -> Request:
        """A request that reports its failure as a :class:`SourceProblem` instead of a log line."""
        # The start address is never dropped as a duplicate (so a redirect loop is reported).
        return Request(url, callback=callback, errback=self.failed, cb_kwargs=cb_kwargs,
                       meta={"start": start}, dont_filter=start)

    def parse_start(self, response: Response) -> Iterator[Any]:
        raise NotImplementedError

    def failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield SourceProblem(source=self.options.name, url=request.url,
                            reason=describe_failure(failure, self.settings),
                            fatal=bool(request.meta.get("start")))

    def page_document(self, response: Response, **fields: Any) -> Document:
        """The raw response as a :class:`Document`, kept whole for the evidence archive."""
        return Document(
            source=self.options.name,
            url=response.url,
            body=response.body,
            encoding=getattr(response, "encoding", None) or "utf-8",
            status=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1"))
                     for k, values in response.headers.items() for v in values],
            fetched_url=response.url,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            **fields,
        )

    def unchanged(self, response: Response) -> Document:
        """A 304: the page is still there and has not changed since the last scan."""
        return Document(source=self.options.name, url=response.url, status=304, unchanged=True,
                        links=self.known.get(response.url, (None, None, []))[2])


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def is_text_response(response: Response) -> bool:
    """HTML, XML or plain text: the only bodies worth reading for a school's name."""
    return isinstance(response, scrapy.http.TextResponse)
