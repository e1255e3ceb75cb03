"""``kind: bluesky``: Bluesky posts found by a search, newest first, through the public AppView.

``app.bsky.feed.searchPosts`` on ``https://public.api.bsky.app/xrpc`` (no login), ``sort=latest``,
100 posts a page, ``cursor`` paging until a page holds only posts seen before. Bluesky's
search takes phrases in quotes; it is not documented to take ``OR``, so write one source per
phrase. Bluesky sometimes switches off search, or paging past the first page, for visitors who
are not logged in (``403``); the source then says so and tries again next scan.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pydantic import field_validator
from scrapy.http import Response

from spiders.api import ApiChanged, ApiSpider, Post, field, iso_time, replace_params, text_markup
from spiders.services import PagedSource, QuerySource, with_query

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


class BlueskySource(QuerySource, PagedSource, kind="bluesky"):
    spider = "spiders.bluesky.BlueskySpider"
    summary = "Bluesky posts by query, newest first (public search API, no login)"
    example = """\
- name: bluesky
  kind: bluesky
  query: '"Bentilee Nursery"'
  every: 1h
"""
    default_endpoint = "https://public.api.bsky.app/xrpc"

    lang: str | None = None  # only posts in this language (en), when Bluesky knows it

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE.match(value.strip()):
            raise ValueError(f"{value!r} is not a language code such as en or en-GB")
        return value.strip() if value else value

    def build_url(self) -> str:
        return with_query(f"{self.base}/app.bsky.feed.searchPosts", q=self.query, sort="latest",
                          limit=100, lang=self.lang)


def embed_markup(embed: Any) -> str:
    """A link card's title and description, or a quoted post's text: part of what the post says."""
    if not isinstance(embed, dict):
        return ""
    parts = []
    external = embed.get("external")
    if isinstance(external, dict):
        parts += [external.get("title"), external.get("description")]
    record = embed.get("record")
    if isinstance(record, dict) and isinstance(record.get("record"), dict):  # recordWithMedia
        record = record["record"]
    if isinstance(record, dict) and isinstance(record.get("value"), dict):
        parts.append(record["value"].get("text"))
    if isinstance(embed.get("media"), dict):
        parts.append(embed_markup(embed["media"]))
    return "".join(f"<blockquote>{html.escape(p)}</blockquote>" for p in parts if isinstance(p, str) and p.strip())


class BlueskySpider(ApiSpider):
    service = "Bluesky"

    def posts_of(self, data: Any) -> list[Any]:
        return field(data, "posts", list)

    def read_post(self, raw: Any) -> Post | None:
        uri, did, handle = field(raw, "uri"), field(raw, "author.did"), field(raw, "author.handle")
        if not uri.startswith("at://") or "/app.bsky.feed.post/" not in uri:
            raise ApiChanged(f"uri {uri[:80]!r} is not the address of a post")
        name = field(raw, "author.displayName", str, "").strip()
        return Post(url=f"https://bsky.app/profile/{did}/post/{uri.rsplit('/', 1)[1]}",
                    title=f"@{handle} on Bluesky",
                    markup=text_markup(field(raw, "record.text")) + embed_markup(raw.get("embed")),
                    author=f"{name} (@{handle})" if name else f"@{handle}",
                    published=iso_time(field(raw, "record.createdAt", str, "")) or iso_time(raw.get("indexedAt")))

    def next_page(self, data: Any, response: Response) -> str | None:
        cursor = field(data, "cursor", str, "")
        return replace_params(response.url, cursor=cursor) if cursor else None

    def explain_refusal(self, status: int, first_page: bool) -> str | None:
        if status not in (401, 403):
            return None
        if first_page:
            return (f"Bluesky refused the search ({status}): it switches search off for visitors who are not "
                    "logged in when it is overloaded; we will try again next scan "
                    "(endpoint: https://api.bsky.app/xrpc is another public address)")
        return ("Bluesky does not let visitors who are not logged in read past the first page of search "
                "results, so only the newest posts were read")
