"""``kind: google_news``: Google News search results for a query, UK edition, as RSS.

Google News reads local and national papers. Its search feed answers the newest ~100
matching stories (no paging: a scan reads them all, and a rescan of an unchanged feed is a
cheap 304). Its links are ``news.google.com/rss/articles/...`` tokens that only Google's own
scripts resolve, so the entry itself (headline, source, snippet) is the evidence; the
publisher is kept as the author. Put ``when:7d`` in the query to keep to the last week.
"""

from __future__ import annotations

from typing import Any

from spiders.service_feed import ServiceFeedSpider, plain
from spiders.services import QuerySource, with_query


class GoogleNewsSource(QuerySource, kind="google_news"):
    spider = "spiders.google_news.GoogleNewsSpider"
    summary = "Google News search by query, UK edition (RSS): local and national papers"
    example = """\
- name: google-news
  kind: google_news
  query: '"Bentilee Nursery" OR "Bentilee Children''s Centre"'
  every: 1h
"""
    default_endpoint = "https://news.google.com/rss/search"

    def build_url(self) -> str:
        return with_query(self.base, q=self.query, hl="en-GB", gl="GB", ceid="GB:en")


class GoogleNewsSpider(ServiceFeedSpider):
    fetch_pages = False  # the links are Google redirect tokens, not the articles

    def entry_title(self, entry: Any) -> str:
        return plain(entry.get("title", ""))

    def entry_author(self, entry: Any) -> str:
        source = entry.get("source") or {}
        return str(source.get("title", "")) if hasattr(source, "get") else ""
