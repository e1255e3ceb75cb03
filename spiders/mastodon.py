"""``kind: mastodon``: a hashtag's public timeline, or one account's posts, on a Mastodon server.

Mastodon has no search for visitors, so a school watches a local hashtag (``#StokeOnTrent``)
or an account (a local paper's) on a server it names. Read through the public API, 40 posts
a page, newest first, following the ``Link: <...>; rel="next"`` header until a page holds
only posts seen before. A hashtag timeline holds the posts that server knows of, from its
own users and those it federates with. Servers may keep their timelines to logged-in users
(``401``/``403``); the source then says so.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import field_validator, model_validator
from scrapy.http import Response

from spiders.api import ApiChanged, ApiSpider, Post, field, iso_time
from spiders.services import PagedSource, http_address, with_query

TAG = re.compile(r"^\w{1,100}$")
ACCOUNT = re.compile(r"^[A-Za-z0-9_]{1,30}(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?$")
LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class MastodonSource(PagedSource, kind="mastodon"):
    spider = "spiders.mastodon.MastodonSpider"
    summary = "a Mastodon hashtag timeline or account on a server you name (public API, no login)"
    example = """\
- name: mastodon-stoke
  kind: mastodon
  instance: https://mastodon.social
  tag: StokeOnTrent                    # or account: name (or name@other.server), not both
  every: 2h
"""

    instance: str
    tag: str | None = None
    account: str | None = None

    @field_validator("instance", mode="before")
    @classmethod
    def _instance(cls, value: Any) -> Any:
        if isinstance(value, str) and "://" not in value:
            value = "https://" + value.strip()
        return http_address(value).rstrip("/") if isinstance(value, str) else value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        tag = value.strip().removeprefix("#")
        if not TAG.match(tag):
            raise ValueError(f"{value!r} is not a hashtag: letters, digits and _ only, without spaces")
        return tag

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is None:
            return None
        account = value.strip().removeprefix("@")
        if not ACCOUNT.match(account):
            raise ValueError(f"{value!r} is not an account: write name, or name@server for one on another server")
        return account

    @model_validator(mode="after")
    def _tag_or_account(self) -> "MastodonSource":
        if bool(self.tag) == bool(self.account):
            raise ValueError("give either tag: (a hashtag) or account: (a user name), not both and not neither")
        return self

    @property
    def base(self) -> str:
        return self.endpoint or self.instance

    @property
    def host(self) -> str:
        return urlsplit(self.instance).hostname or self.instance

    def build_url(self) -> str:
        if self.account:
            return with_query(f"{self.base}/api/v1/accounts/lookup", acct=self.account)
        return with_query(f"{self.base}/api/v1/timelines/tag/{quote(self.tag or '', safe='')}", limit=40)

    def statuses_url(self, account_id: str) -> str:
        return with_query(f"{self.base}/api/v1/accounts/{quote(account_id, safe='')}/statuses", limit=40)


class MastodonSpider(ApiSpider):
    service = "Mastodon"

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:
        if not self.options.account:
            async for item in super().parse_start(response):
                yield item
            return
        # An account's posts are asked for by its id: look the name up first.
        data, instead = await self.decode(response)
        if instead is not None:
            yield instead
            return
        try:
            account_id = field(data, "id")
        except ApiChanged as exc:
            yield self.api_changed(response, exc)
            return
        yield self.service_request(self.options.statuses_url(account_id), self.parse_page, start=True, number=1)

    def posts_of(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise ApiChanged("the answer is not a list of posts")
        return data

    def read_post(self, raw: Any) -> Post | None:
        status = field(raw, "reblog", dict, None) or raw  # a boost: the boosted post is what was said
        url = field(status, "url", str, "") or field(status, "uri")
        if not url.startswith(("http://", "https://")):
            raise ApiChanged(f"url {url[:80]!r} is not a web address")
        acct = field(status, "account.acct")
        if "@" not in acct:
            acct = f"{acct}@{self.options.host}"
        name = field(status, "account.display_name", str, "").strip()
        warning = field(status, "spoiler_text", str, "")
        markup = (f"<p>{html.escape(warning)}</p>" if warning else "") + field(status, "content")
        card = field(status, "card", dict, {})
        for key in ("title", "description"):
            if isinstance(card.get(key), str) and card[key].strip():
                markup += f"<blockquote>{html.escape(card[key])}</blockquote>"
        return Post(url=url, title=f"@{acct} on Mastodon", markup=markup,
                    author=f"{name} (@{acct})" if name else f"@{acct}",
                    published=iso_time(field(status, "created_at")))

    def next_page(self, data: Any, response: Response) -> str | None:
        link = response.headers.get(b"Link", b"").decode("latin-1")
        found = LINK_NEXT.search(link)
        return found.group(1) if found else None  # Mastodon sends rel="next" while older posts remain

    def explain_refusal(self, status: int, first_page: bool) -> str | None:
        where = self.options.host
        if status in (401, 403):
            return f"{where} keeps its timelines to logged-in users ({status}), so this source cannot read them"
        if status == 404 and self.options.account:
            return f"{where} does not know the account @{self.options.account} (404 Not Found): check account:"
        if status == 410:
            return f"{where} says this account is gone (410): it was deleted or suspended"
        return None
