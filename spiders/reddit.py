"""``kind: reddit``: Reddit posts found by a search, newest first; or the newest posts of subreddits.

Reddit's public JSON (the same listing its API returns, no login) is read page by page
(``after=`` cursor, 100 posts a page) until a page holds only posts seen before. ``query:``
searches all of Reddit, or only ``subreddits:`` when both are given; ``subreddits:`` alone
reads their newest posts and lets the matcher find the school. Posts marked NSFW are
included: harassment is often marked so. Comments are not searched (Reddit's search
covers posts); each post's address is its reddit.com discussion.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import field_validator
from scrapy.http import Response

from spiders.api import ApiChanged, ApiSpider, Post, epoch_time, field, replace_params
from spiders.services import PagedSource, clean_query, with_query

REDDIT = "https://www.reddit.com"
SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")


class RedditSource(PagedSource, kind="reddit"):
    spider = "spiders.reddit.RedditSpider"
    summary = "Reddit posts by query, newest first (public JSON); optionally only in a list of subreddits"
    example = """\
- name: reddit
  kind: reddit
  query: '"Bentilee Nursery"'
  subreddits: [stoke, StokeOnTrent]   # optional: only these; leave out to search all of Reddit
  every: 2h
"""
    default_endpoint = REDDIT

    query: str | None = None
    subreddits: list[str] = []

    @field_validator("query")
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        return None if value is None else clean_query(value)

    @field_validator("subreddits")
    @classmethod
    def _subreddits(cls, value: list[str]) -> list[str]:
        names = [name.strip().removeprefix("/").removeprefix("r/") for name in value]
        bad = [name for name in names if not SUBREDDIT.match(name)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not a subreddit name (write stoke for r/stoke)")
        return list(dict.fromkeys(names))

    def build_url(self) -> str:
        if not self.query and not self.subreddits:
            raise ValueError("give query: (what to search for), subreddits: (where to look), or both")
        if not self.subreddits:
            path = "/search.json"
        else:
            path = f"/r/{'+'.join(self.subreddits)}/{'search' if self.query else 'new'}.json"
        return with_query(self.base + path, q=self.query, restrict_sr="on" if self.subreddits and self.query else None,
                          sort="new" if self.query else None, include_over_18="on", limit=100, raw_json=1)


class RedditSpider(ApiSpider):
    service = "Reddit"

    def posts_of(self, data: Any) -> list[Any]:
        kind = field(data, "kind")
        if kind != "Listing":
            raise ApiChanged(f"the answer is a {kind[:40]!r}, not a Listing")
        return field(data, "data.children", list)

    def read_post(self, raw: Any) -> Post | None:
        if field(raw, "kind") != "t3":  # t3 is a post; comments and others are passed over
            return None
        path = urlsplit(field(raw, "data.permalink")).path
        author = field(raw, "data.author", str, "")
        markup = field(raw, "data.selftext_html", str, "") or html.escape(field(raw, "data.selftext", str, ""))
        if markup.startswith("&lt;"):  # without raw_json=1 Reddit escapes its HTML once more
            markup = html.unescape(markup)
        link = field(raw, "data.url", str, "")
        if not field(raw, "data.is_self", bool, False) and link.startswith(("http://", "https://")):
            markup += f'<p><a href="{html.escape(link)}">{html.escape(link)}</a></p>'
        return Post(url=REDDIT + quote(path, safe="/%-._~!$&'()*+,;=:@"), title=field(raw, "data.title"),
                    markup=markup, author="" if author in ("", "[deleted]") else f"u/{author}",
                    published=epoch_time(field(raw, "data.created_utc", (int, float))))

    def next_page(self, data: Any, response: Response) -> str | None:
        after = field(data, "data.after", str, "")
        return replace_params(response.url, after=after) if after else None

    def explain_refusal(self, status: int, first_page: bool) -> str | None:
        if status == 403:
            return ("Reddit refused the request (403 Forbidden): it blocks some servers and programs that are "
                    "not logged in, and private subreddits; we will try again next scan")
        if status == 404:
            return "Reddit does not know this subreddit (404 Not Found): check the names under subreddits:"
        return None
