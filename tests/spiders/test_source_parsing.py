"""Each service's answers, read the way its spider reads them: real captures where they exist.

Fixtures (``tests/fixtures/sources``, provenance in its README): Google Alerts, Google News,
YouTube and Reddit are real captures; the school-specific files are written in exactly the
services' formats (Bluesky from its lexicon: no real response was available).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import formatdate

import pytest

from crawler.text import html_to_text
from crawling import fixture
from spiders.api import ApiChanged, field, text_markup
from spiders.bing_news import BingNewsSpider, unwrap_bing
from spiders.bluesky import BlueskySpider
from spiders.feed import entry_markup, parse_feed
from spiders.google_alerts import GoogleAlertsSpider, unwrap_google
from spiders.google_news import GoogleNewsSpider
from spiders.mastodon import MastodonSpider
from spiders.options import options_for
from spiders.ratelimit import exhausted_for, retry_after
from spiders.reddit import RedditSpider
from spiders.youtube import YouTubeSpider

NOW = 1_795_000_000.0


def spider(cls: type, **raw: object):
    return cls(options=options_for({"name": "s", **raw}))


def entries(name: str, base: str = "http://127.0.0.1:9") -> list:
    body = fixture(name).replace(b"{{BASE}}", base.encode()).replace(b"{{BASE_ENCODED}}", b"http%3a%2f%2f127.0.0.1%3a9")
    return parse_feed(body, "http://127.0.0.1:9/feed").entries


# --- feeds ----------------------------------------------------------------------------------

def test_google_alerts_real_feed_links_are_unwrapped_and_titles_made_plain() -> None:
    alerts = spider(GoogleAlertsSpider, kind="google_alerts", url="https://www.google.com/alerts/feeds/1/2")
    found = entries("google_alerts_atom.xml")
    assert len(found) == 20
    links = [alerts.entry_link(e) for e in found]
    assert links[0] == ("https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-market"
                        "-by-top-key-players-like-haldex-meritor-bendix-mei-wabco-accuride-stemco-tbk-febi-aydinsan/")
    assert links[1] == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert not any("google." in link for link in links)
    titles = [alerts.entry_title(e) for e in found]
    assert titles[1] == "Slack Stock Has a Compelling Story and the Numbers to Back It Up"
    assert not any("<" in title for title in titles)
    assert alerts.entry_author(found[0]) == ""  # Google Alerts names no author


@pytest.mark.parametrize("link", [
    "https://www.google.com/url?rct=j&url=javascript:alert(1)",  # only http(s) comes out
    "https://www.google.com/url?rct=j&url=file:///etc/passwd",
    "https://evil.example/url?url=https://elsewhere.example/",  # only Google's redirector is unwrapped
    "https://www.google.com.evil.example/url?url=https://elsewhere.example/",
    "https://www.google.com/search?url=https://elsewhere.example/",
])
def test_only_googles_redirector_is_unwrapped_and_only_to_http(link: str) -> None:
    assert unwrap_google(link) == link


def test_google_redirects_from_other_google_domains_are_unwrapped() -> None:
    assert unwrap_google("https://www.google.co.uk/url?sa=t&url=https%3A%2F%2Fnews.example%2Fa%3Fb%3D1&ct=ga") == \
        "https://news.example/a?b=1"


def test_google_news_real_search_keeps_the_publisher_and_the_google_link() -> None:
    news = spider(GoogleNewsSpider, kind="google_news", query="x")
    found = entries("google_news_search.xml")
    assert len(found) == 4
    assert news.entry_author(found[0]) == "The Washington Post"
    assert news.entry_title(found[0]) == "Trump again shrinks two national monuments in Utah - The Washington Post"
    assert news.entry_link(found[0]).startswith("https://news.google.com/rss/articles/CBMi")
    assert GoogleNewsSpider.fetch_pages is False  # the links are Google tokens, not the article


def test_bing_news_links_are_unwrapped_and_the_source_kept() -> None:
    bing = spider(BingNewsSpider, kind="bing_news", query="x")
    found = entries("bing_news_school.xml")
    assert bing.entry_link(found[0]) == "http://127.0.0.1:9/news/2026-11-20-nativity.html"
    assert bing.entry_author(found[0]) == "The Potteries Courier"
    assert unwrap_bing("https://www.bing.com.evil.example/news/apiclick.aspx?url=https%3a%2f%2fx.example") == \
        "https://www.bing.com.evil.example/news/apiclick.aspx?url=https%3a%2f%2fx.example"
    assert unwrap_bing("https://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)").startswith("https://www.bing")


def test_youtube_real_channel_feed_gives_video_title_description_and_channel() -> None:
    tube = spider(YouTubeSpider, kind="youtube", channel="UCK8sQmJBp8GCxrOtXWBpyEA")
    found = entries("youtube_atom.xml")
    assert len(found) == 15
    assert tube.entry_link(found[0]) == "http://www.youtube.com/watch?v=5shykyfmb28"
    assert tube.entry_author(found[0]) == "Google"
    assert "A question is the most powerful force in the world" in entry_markup(found[0])
    assert YouTubeSpider.fetch_pages is False


# --- JSON APIs ------------------------------------------------------------------------------

def test_reddit_real_search_listing() -> None:
    reddit = spider(RedditSpider, kind="reddit", query="praw oauth search")
    listing = json.loads(fixture("reddit_search_listing.json"))
    posts = [reddit.read_post(raw) for raw in reddit.posts_of(listing)]
    assert len(posts) == 6 and all(posts)
    first = posts[0]
    assert first.url == "https://www.reddit.com/r/redditdev/comments/3gpbiu/prawoauth2util_problem_using_get_banned_raise/"
    assert first.title == "[PRAW][OAuth2Util] Problem using get_banned() : raise Forbidden(_raw=response)"
    assert first.author == "u/dClauzel"
    assert first.published == datetime(2015, 8, 12, 9, 8, 34, tzinfo=timezone.utc)
    assert "I am a moderator of" in html_to_text(first.markup)[1]
    assert reddit.next_page(listing, None) is None  # "after": null: the last page
    assert posts[5].url.startswith("https://www.reddit.com/r/p18s/comments/4at068/%E3%81%9F")  # an address, not raw text


def test_reddit_link_posts_deleted_authors_comments_and_escaped_html() -> None:
    reddit = spider(RedditSpider, kind="reddit", query="x")
    page = json.loads(fixture("reddit_school_page1.json"))
    link_post = reddit.read_post(page["data"]["children"][2])
    assert link_post.author == ""  # [deleted]
    assert "https://www.stokesentinel.example/news/bentilee-nursery-outstanding-2026" in link_post.markup
    assert reddit.read_post({"kind": "t1", "data": {}}) is None  # a comment: passed over
    escaped = {"kind": "t3", "data": {**page["data"]["children"][0]["data"],
                                      "selftext_html": "&lt;div class=\"md\"&gt;&lt;p&gt;a &amp;amp; b&lt;/p&gt;&lt;/div&gt;"}}
    assert html_to_text(reddit.read_post(escaped).markup)[1] == "a & b"


def test_reddit_answers_of_another_shape_say_what_is_missing() -> None:
    reddit = spider(RedditSpider, kind="reddit", query="x")
    with pytest.raises(ApiChanged, match="data.children is missing"):
        reddit.posts_of({"kind": "Listing", "data": {}})
    with pytest.raises(ApiChanged, match="not a Listing"):
        reddit.posts_of({"kind": "t3", "data": {}})
    with pytest.raises(ApiChanged, match="the answer is a list, not an object"):
        reddit.posts_of([])
    with pytest.raises(ApiChanged, match="data.permalink is missing"):
        reddit.read_post({"kind": "t3", "data": {"title": "x", "created_utc": 1}})
    with pytest.raises(ApiChanged, match="data.created_utc is text where a number was expected"):
        reddit.read_post({"kind": "t3", "data": {"title": "x", "permalink": "/r/x/", "created_utc": "yesterday"}})


def test_bluesky_posts_become_stable_addresses_with_author_time_and_exact_text() -> None:
    bluesky = spider(BlueskySpider, kind="bluesky", query="x")
    page = json.loads(fixture("bluesky_search_page1.json"))
    nativity, ofsted, frost = [bluesky.read_post(raw) for raw in bluesky.posts_of(page)]
    assert nativity.url == "https://bsky.app/profile/did:plc:4kq3nfsvyb2xbrdvekxwqo7d/post/3lcq2v7kxjs2h"
    assert (nativity.title, nativity.author) == ("@samhughes.bsky.social on Bluesky", "Sam Hughes (@samhughes.bsky.social)")
    assert nativity.published == datetime(2026, 11, 23, 8, 41, 12, 104000, tzinfo=timezone.utc)
    assert "a very confident donkey stole the show" in html_to_text(nativity.markup)[1]
    assert "Inspectors praised the nursery" in html_to_text(ofsted.markup)[1]  # the link card is part of the post
    assert "<and pavements> & gritted" in html_to_text(frost.markup)[1]  # post text is text, not markup
    assert frost.author == "@potteriesweather.bsky.social"  # no display name
    assert bluesky.next_page(page, _Answer("http://x/xrpc/app.bsky.feed.searchPosts?q=a&cursor=0")) == \
        "http://x/xrpc/app.bsky.feed.searchPosts?q=a&cursor=3"


def test_bluesky_answers_of_another_shape_say_what_is_missing() -> None:
    bluesky = spider(BlueskySpider, kind="bluesky", query="x")
    raw = json.loads(fixture("bluesky_search_page1.json"))["posts"][0]
    with pytest.raises(ApiChanged, match="author.handle is missing"):
        bluesky.read_post({**raw, "author": {"did": "did:plc:x"}})
    with pytest.raises(ApiChanged, match="record.text is missing"):
        bluesky.read_post({**raw, "record": {"createdAt": "2026-11-23T08:41:12Z"}})
    with pytest.raises(ApiChanged, match="is not the address of a post"):
        bluesky.read_post({**raw, "uri": "at://did:plc:x/app.bsky.feed.like/3l"})
    with pytest.raises(ApiChanged, match="posts is missing"):
        bluesky.posts_of({"cursor": "3"})


def test_mastodon_statuses_boosts_content_warnings_and_link_cards() -> None:
    mastodon = spider(MastodonSpider, kind="mastodon", instance="https://mastodon.social", tag="StokeOnTrent")
    first, second = (json.loads(fixture(f"mastodon_tag_page{n}.json")) for n in (1, 2))
    craft, ofsted, _pottery = [mastodon.read_post(raw) for raw in mastodon.posts_of(first)]
    assert craft.url == "https://mastodon.social/@kate_stoke/113551200339484001"
    assert craft.title == "@kate_stoke@mastodon.social on Mastodon"  # a local account gets its server
    assert craft.author == "Kate \U0001f3fa (@kate_stoke@mastodon.social)"
    assert ofsted.author == "Stoke news (unofficial) (@stokesentinelbot@newsie.social)"
    assert "Inspectors praised" in html_to_text(ofsted.markup)[1]
    warned, boost = [mastodon.read_post(raw) for raw in second]
    assert html_to_text(warned.markup)[1].startswith("school run moan")
    assert boost.url == "https://newsie.social/@stokesentinelbot/113543990000000005"  # the boosted post itself
    assert "Road resurfacing on Dawlish Drive" in html_to_text(boost.markup)[1]


def test_mastodon_real_account_posts() -> None:
    mastodon = spider(MastodonSpider, kind="mastodon", instance="https://click.ba.it", account="jason")
    posts = [mastodon.read_post(raw) for raw in json.loads(fixture("mastodon_account_statuses.json"))]
    assert [p.url for p in posts][0] == "https://click.ba.it/@jason/117128987138117875"
    assert posts[0].author == "Fussili Paganini (@jason@click.ba.it)"
    assert posts[0].published == datetime(2026, 8, 20, 17, 21, 47, tzinfo=timezone.utc)
    assert "inessential.com" in html_to_text(posts[0].markup)[1]
    with pytest.raises(ApiChanged, match="account.acct is missing"):
        mastodon.read_post({**json.loads(fixture("mastodon_account_statuses.json"))[0], "account": {}})
    with pytest.raises(ApiChanged, match="not a list of posts"):
        mastodon.posts_of({"error": "This method requires an authenticated user"})


class _Answer:
    """Just enough of a response for next_page."""

    def __init__(self, url: str, headers: dict[bytes, bytes] | None = None) -> None:
        self.url = url
        self.headers = headers or {}


def test_mastodon_follows_the_link_header_only() -> None:
    mastodon = spider(MastodonSpider, kind="mastodon", instance="https://mastodon.social", tag="x")
    link = (b'<https://mastodon.social/api/v1/timelines/tag/x?limit=40&max_id=113550877316650002>; rel="next", '
            b'<https://mastodon.social/api/v1/timelines/tag/x?limit=40&min_id=113551200339484001>; rel="prev"')
    assert mastodon.next_page([{}], _Answer("https://mastodon.social/x", {b"Link": link})) == \
        "https://mastodon.social/api/v1/timelines/tag/x?limit=40&max_id=113550877316650002"
    assert mastodon.next_page([{}], _Answer("https://mastodon.social/x")) is None


# --- pieces -----------------------------------------------------------------------------------

def test_field_names_the_path_and_the_kind_it_found() -> None:
    data = {"posts": [{"author": {"handle": 7}}]}
    with pytest.raises(ApiChanged, match=r"^posts.0.author.handle is a number where text was expected$"):
        field(data, "posts.0.author.handle")
    with pytest.raises(ApiChanged, match=r"^posts.1 is missing$"):
        field(data, "posts.1.author")
    with pytest.raises(ApiChanged, match=r"^posts.0.author.handle is a number, not an object$"):
        field(data, "posts.0.author.handle.x")
    assert field(data, "posts.0.author.name", str, "") == ""
    assert field({"n": None}, "n", str, "default") == "default"
    with pytest.raises(ApiChanged, match="is true/false where a number was expected"):
        field({"n": True}, "n", (int, float))


def test_post_text_reaches_the_pipeline_exactly() -> None:
    text = "Bentilee Nursery School <3 & \"quotes\"\nsecond line\n\nnew paragraph"
    _title, seen = html_to_text(text_markup(text))
    assert seen.splitlines() == ["Bentilee Nursery School <3 & \"quotes\"", "second line", "new paragraph"]


@pytest.mark.parametrize("headers, seconds", [
    ({"Retry-After": "120"}, 120.0),
    ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30.0),
    ({"Retry-After": "soon"}, None),
    ({"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "412"}, 412.0),  # Reddit
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-18T09:33:40.000Z"}, None),  # Mastodon, see below
    ({"ratelimit-remaining": "0", "ratelimit-reset": str(int(NOW + 45))}, 45.0),  # Bluesky: epoch seconds
    ({}, None),
])
def test_retry_after_reads_every_services_way_of_saying_wait(headers: dict[str, str], seconds: float | None) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    wait = retry_after(_Headers(lowered), now=NOW)
    if "x-ratelimit-reset" in lowered and lowered["x-ratelimit-reset"].endswith("Z"):
        reset = datetime.fromisoformat(lowered["x-ratelimit-reset"].replace("Z", "+00:00")).timestamp()
        assert wait == pytest.approx(max(0.0, reset - NOW))
    else:
        assert wait == (pytest.approx(seconds) if seconds is not None else None)


def test_a_quota_with_calls_left_is_not_a_wait() -> None:
    assert exhausted_for(_Headers({"x-ratelimit-remaining": "98.0", "x-ratelimit-reset": "412"}), now=NOW) is None
    assert exhausted_for(_Headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5"}), now=NOW) == 5.0


class _Headers(dict):
    """Case-insensitive, bytes values: like Scrapy's Headers."""

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        value = super().get(name.lower())
        return value.encode("latin-1") if isinstance(value, str) else default
