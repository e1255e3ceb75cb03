"""``kind: youtube``: a YouTube channel's public feed of its latest videos (titles and descriptions).

YouTube has no public search feed, so this watches a channel: a local news channel, a
council's, or the school's own (to see what is said under its name). The feed lists the
latest 15 videos; a video page is all script, so the entry (title, description, channel
name as author) is the evidence. Comments are not in the feed.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from spiders.service_feed import ServiceFeedSpider
from spiders.services import ServiceSource, with_query

CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")


class YouTubeSource(ServiceSource, kind="youtube"):
    spider = "spiders.youtube.YouTubeSpider"
    summary = "a YouTube channel's latest videos (its public feed): titles, descriptions, channel name"
    example = """\
- name: youtube-local-news
  kind: youtube
  channel: UCxxxxxxxxxxxxxxxxxxxxxx     # the channel ID (24 characters, starts with UC), not its @handle
  every: 6h
"""
    default_endpoint = "https://www.youtube.com/feeds/videos.xml"

    channel: str

    @field_validator("channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        value = value.strip()
        if not CHANNEL_ID.match(value):
            raise ValueError(f"{value!r} is not a channel ID: it is 24 characters starting with UC; on the "
                             "channel's page choose 'About', then 'Share channel', then 'Copy channel ID'")
        return value

    def build_url(self) -> str:
        return with_query(self.base, channel_id=self.channel)


class YouTubeSpider(ServiceFeedSpider):
    fetch_pages = False  # a video's page is script; the feed entry holds its title and description
