"""``kind: google_alerts``: a Google Alert delivered as an RSS (Atom) feed.

Google Alerts searches the whole web (news, blogs, forums it indexes) and is the best single
source for a school. Each entry's link is a ``https://www.google.com/url?...&url=REAL`` redirect:
it is unwrapped to the real article, which is then fetched for evidence like any feed entry.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import field_validator

from spiders.options import SourceOptions
from spiders.service_feed import ServiceFeedSpider, plain, unwrap_redirect

GOOGLE_HOSTS = re.compile(r"(^|\.)google\.[a-z]{2,3}(\.[a-z]{2})?$")


class GoogleAlertsSource(SourceOptions, kind="google_alerts"):
    spider = "spiders.google_alerts.GoogleAlertsSpider"
    summary = "a Google Alert delivered as RSS: the whole web, news and blogs (set it up: see README)"
    example = """\
- name: google-alert
  kind: google_alerts
  url: https://www.google.com/alerts/feeds/01234567890123456789/1234567890123456789
  every: 1h
"""

    @field_validator("url")
    @classmethod
    def _is_a_delivery_feed(cls, value: str) -> str:
        parts = urlsplit(value)
        if GOOGLE_HOSTS.search(parts.hostname or "") and not parts.path.startswith("/alerts/feeds/"):
            raise ValueError("is not an alert's RSS feed: in Google Alerts choose 'Show options', "
                             "'Deliver to: RSS feed', save, then copy the feed icon's link "
                             "(https://www.google.com/alerts/feeds/...)")
        return value


def unwrap_google(link: str) -> str:
    return unwrap_redirect(link, GOOGLE_HOSTS, ("/url",), ("url", "q"))


class GoogleAlertsSpider(ServiceFeedSpider):
    def entry_link(self, entry: Any) -> str:
        return unwrap_google(entry.get("link") or "")

    def entry_title(self, entry: Any) -> str:
        return plain(entry.get("title", ""))
