"""``kind: bing_news``: Bing News search results for a query, UK market, as RSS.

A second news index beside Google's, often with different local papers. Its links are
``bing.com/news/apiclick.aspx?...&url=REAL`` redirects: they are unwrapped to the article,
which is fetched for evidence like any feed entry. One page per scan (Bing's RSS has no
paging); newest first.
"""

from __future__ import annotations

import re
from typing import Any

from spiders.service_feed import ServiceFeedSpider, plain, unwrap_redirect
from spiders.services import QuerySource, with_query

BING_HOSTS = re.compile(r"(^|\.)bing\.com$")


class BingNewsSource(QuerySource, kind="bing_news"):
    spider = "spiders.bing_news.BingNewsSpider"
    summary = "Bing News search by query, UK market (RSS): a second news index beside Google's"
    example = """\
- name: bing-news
  kind: bing_news
  query: '"Bentilee Nursery" OR "Bentilee Children''s Centre"'
  every: 1h
"""
    default_endpoint = "https://www.bing.com/news/search"

    def build_url(self) -> str:
        return with_query(self.base, q=self.query, format="rss", mkt="en-GB", qft='sortbydate="1"')


def unwrap_bing(link: str) -> str:
    return unwrap_redirect(link, BING_HOSTS, ("/news/apiclick.aspx",))


class BingNewsSpider(ServiceFeedSpider):
    def entry_link(self, entry: Any) -> str:
        return unwrap_bing(entry.get("link") or "")

    def entry_title(self, entry: Any) -> str:
        return plain(entry.get("title", ""))

    def entry_author(self, entry: Any) -> str:
        return str(entry.get("news_source", "") or "")
