"""``kind: feed``: an RSS or Atom feed, read by feedparser from Scrapy's response bytes.

feedparser never fetches anything itself (it is handed a byte stream, never a URL), so
every request goes through Scrapy's politeness and the address guard. An entry that might
mention the school is fetched as its page too, so the evidence is the page people saw.
"""

from __future__ import annotations

import io
from calendar import timegm
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, ClassVar

import feedparser
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.base import SourceSpider, is_text_response
from spiders.failures import describe_failure
from spiders.items import Document, SourceProblem
from spiders.options import SourceOptions


class FeedSource(SourceOptions, kind="feed"):
    spider = "spiders.feed.FeedSpider"
    summary = "an RSS or Atom feed (a local paper, a blog, a forum's feed, a Mastodon account's @name.rss)"
    example = """\
- name: local-news
  kind: feed
  url: https://www.stokesentinel.example/news/rss.xml
  every: 30m
"""


def parse_feed(body: bytes, url: str, content_type: str = "") -> feedparser.FeedParserDict:
    """feedparser on bytes only: a str that looks like a URL would make it fetch."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    return feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)


def entry_markup(entry: Any) -> str:
    """Title and the fullest body the entry has, as (sanitised) HTML."""
    parts = [entry.get("title", "")]
    contents = [c.get("value", "") for c in entry.get("content", []) or []]
    parts.append(max(contents, key=len) if contents else entry.get("summary", ""))
    return "\n".join(p for p in parts if p)


def entry_published(entry: Any) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, TypeError):
        return None


class FeedSpider(SourceSpider):
    # Fetch the page of an entry that may mention the school, for evidence. Kinds whose links
    # lead to a redirect or script page rather than the article (Google News, YouTube) say no.
    fetch_pages: ClassVar[bool] = True

    def entry_link(self, entry: Any) -> str:
        """The entry's address (kinds that wrap links in a redirect unwrap them here)."""
        return entry.get("link") or ""

    def entry_title(self, entry: Any) -> str:
        return entry.get("title", "")

    def entry_author(self, entry: Any) -> str:
        return entry.get("author", "") or ""

    def parse_start(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            yield self.unchanged(response)
            return
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1")
        parsed = parse_feed(response.body, response.url, content_type)
        if not parsed.entries and (parsed.bozo or not parsed.get("version")):
            problem = parsed.get("bozo_exception") or "no feed elements found"
            yield SourceProblem(self.options.name, response.url,
                                f"this is not a feed we can read (RSS or Atom expected): {str(problem)[:200]}")
            return
        feed_doc = self.page_document(response)  # the feed itself: validators, and fallback evidence
        yield Document(source=feed_doc.source, url=feed_doc.url, status=feed_doc.status,
                       etag=feed_doc.etag, last_modified=feed_doc.last_modified, judge=False)
        for index, entry in enumerate(parsed.entries):
            link = self.entry_link(entry)
            markup = entry_markup(entry)
            document = Document(
                source=self.options.name,
                url=link if link.startswith(("http://", "https://")) else f"{response.url}#{entry.get('id') or index}",
                title=self.entry_title(entry), content=markup, published=entry_published(entry),
                author=self.entry_author(entry),
                body=feed_doc.body, headers=feed_doc.headers, encoding="utf-8",
                fetched_url=response.url, track=False, body_is_page=False)
            if self.fetch_pages and self.wants(markup) and link.startswith(("http://", "https://")):
                yield self.fetch(link, self.entry_page, document=document)
            else:
                yield document

    def entry_page(self, response: Response, document: Document) -> Iterator[Any]:
        page = self.page_document(response)
        document.body, document.headers, document.encoding = page.body, page.headers, page.encoding
        document.fetched_url, document.status = page.fetched_url, page.status
        document.body_is_page = is_text_response(response)
        yield document

    def failed(self, failure: Failure) -> Iterator[Any]:
        """An entry's page that fails still leaves the entry, with the feed as its evidence."""
        document = failure.request.cb_kwargs.get("document")  # type: ignore[attr-defined]
        if document is None:
            yield from super().failed(failure)
            return
        yield SourceProblem(self.options.name, failure.request.url,  # type: ignore[attr-defined]
                            "the page of a feed entry could not be fetched, so the feed is kept as "
                            f"evidence: {describe_failure(failure, self.settings)}", fatal=False)
        yield document
