"""The base of the kinds a service delivers as RSS or Atom (Google Alerts, news searches, YouTube).

It is the ``feed`` spider with the service's manners: the service's own address is read as a
feed reader reads it, a ``429`` is waited out when the wait is short (see ``spiders.ratelimit``),
and small hooks say how the service writes links, titles and authors. A concrete kind is an
options class that builds its address and a spider of a few lines.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scrapy.http import Response
from w3lib.html import remove_tags

from spiders.feed import FeedSpider
from spiders.ratelimit import RATE_LIMITED, RespectsRateLimits


def plain(markup: str) -> str:
    """Markup to one line of text (Google puts ``<b>`` around the words that matched)."""
    return " ".join(html.unescape(remove_tags(markup or "")).split())


def unwrap_redirect(link: str, hosts: re.Pattern[str], paths: tuple[str, ...], keys: tuple[str, ...] = ("url",)) -> str:
    """The real address inside a service's click-tracking link, or the link unchanged.

    Only a link on one of ``hosts`` with one of ``paths`` is unwrapped, and only to an
    http(s) address, since the unwrapped address is what gets fetched.
    """
    parts = urlsplit(link)
    if not (parts.hostname and hosts.search(parts.hostname) and parts.path in paths):
        return link
    query = parse_qs(parts.query)
    for key in keys:
        for value in query.get(key, []):
            if urlsplit(value).scheme in ("http", "https") and urlsplit(value).hostname:
                return value
    return link


class ServiceFeedSpider(RespectsRateLimits, FeedSpider):
    """A feed kind read from a service: rate limits respected, hooks for links and names."""

    async def parse_start(self, response: Response) -> AsyncIterator[Any]:  # type: ignore[override]
        if response.status == RATE_LIMITED:
            yield await self.after_rate_limit(response)
            return
        for item in super().parse_start(response):
            yield item
