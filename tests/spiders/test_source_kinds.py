"""The service kinds as an administrator writes them: the addresses they build, and clear errors."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from crawler.config import config_from_dict, load_config
from crawler.errors import ConfigError
from spiders.options import SourceOptions, kinds, options_for

SERVICE_KINDS = ["bing_news", "bluesky", "google_alerts", "google_news", "mastodon", "reddit", "youtube"]


def built(raw: dict) -> tuple[str, str, dict[str, list[str]]]:
    """(address without query, path, query) of the first address a source fetches."""
    url = options_for({"name": "s", **raw}).url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path, parse_qs(parts.query)


def problems(sources: list[dict]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"school": {"name": "Bentilee Nursery School"}, "sources": sources})
    return caught.value.problems


def test_every_service_kind_is_registered_one_file_each() -> None:
    assert set(SERVICE_KINDS) <= set(kinds())
    for kind in SERVICE_KINDS:
        cls = SourceOptions.registry[kind]
        assert cls.__module__ == f"spiders.{kind}", "a kind is one module in spiders/"
        assert cls.summary and cls.example and cls.spider.startswith(f"spiders.{kind}.")


@pytest.mark.parametrize("kind", kinds())
def test_every_kinds_example_block_is_a_valid_source(kind: str) -> None:
    cls = SourceOptions.registry[kind]
    [raw] = yaml.safe_load(cls.example)
    options = options_for(raw)
    assert options.kind == kind and options.url.startswith("https://")


def test_google_news_searches_the_uk_edition() -> None:
    base, path, query = built({"kind": "google_news", "query": '"Bentilee Nursery" OR "Bentilee NS"'})
    assert (base, path) == ("https://news.google.com", "/rss/search")
    assert query == {"q": ['"Bentilee Nursery" OR "Bentilee NS"'], "hl": ["en-GB"], "gl": ["GB"], "ceid": ["GB:en"]}


def test_bing_news_asks_for_rss_newest_first_in_the_uk_market() -> None:
    base, path, query = built({"kind": "bing_news", "query": "Bentilee   Nursery\n"})
    assert (base, path) == ("https://www.bing.com", "/news/search")
    assert query == {"q": ["Bentilee Nursery"], "format": ["rss"], "mkt": ["en-GB"], "qft": ['sortbydate="1"']}


def test_reddit_searches_all_of_reddit_newest_first_nsfw_included() -> None:
    base, path, query = built({"kind": "reddit", "query": '"Bentilee Nursery"'})
    assert (base, path) == ("https://www.reddit.com", "/search.json")
    assert query == {"q": ['"Bentilee Nursery"'], "sort": ["new"], "include_over_18": ["on"],
                     "limit": ["100"], "raw_json": ["1"]}


def test_reddit_with_subreddits_searches_only_them_or_reads_their_newest_posts() -> None:
    _, path, query = built({"kind": "reddit", "query": "nursery", "subreddits": ["r/stoke", "/r/StokeOnTrent"]})
    assert path == "/r/stoke+StokeOnTrent/search.json"
    assert query["restrict_sr"] == ["on"] and query["sort"] == ["new"]
    _, path, query = built({"kind": "reddit", "subreddits": ["stoke"]})
    assert path == "/r/stoke/new.json" and "q" not in query and query["limit"] == ["100"]


def test_bluesky_uses_the_public_appview_search_latest_first() -> None:
    base, path, query = built({"kind": "bluesky", "query": '"Bentilee Nursery"', "lang": "en"})
    assert (base, path) == ("https://public.api.bsky.app", "/xrpc/app.bsky.feed.searchPosts")
    assert query == {"q": ['"Bentilee Nursery"'], "sort": ["latest"], "limit": ["100"], "lang": ["en"]}


def test_mastodon_reads_a_hashtag_or_looks_an_account_up_on_the_named_server() -> None:
    base, path, query = built({"kind": "mastodon", "instance": "mastodon.social", "tag": "#StokeOnTrent"})
    assert (base, path, query) == ("https://mastodon.social", "/api/v1/timelines/tag/StokeOnTrent", {"limit": ["40"]})
    base, path, query = built({"kind": "mastodon", "instance": "https://mas.to/", "account": "@stokenews@newsie.social"})
    assert (base, path, query) == ("https://mas.to", "/api/v1/accounts/lookup", {"acct": ["stokenews@newsie.social"]})
    source = options_for({"name": "m", "kind": "mastodon", "instance": "https://mas.to", "account": "x"})
    assert source.statuses_url("1099/../x") == "https://mas.to/api/v1/accounts/1099%2F..%2Fx/statuses?limit=40"


def test_youtube_reads_a_channels_feed_by_its_id() -> None:
    base, path, query = built({"kind": "youtube", "channel": "UCK8sQmJBp8GCxrOtXWBpyEA"})
    assert (base, path, query) == ("https://www.youtube.com", "/feeds/videos.xml",
                                   {"channel_id": ["UCK8sQmJBp8GCxrOtXWBpyEA"]})


def test_google_alerts_takes_the_alerts_feed_address() -> None:
    url = "https://www.google.com/alerts/feeds/09876543210987654321/5522334411223344556"
    assert options_for({"name": "a", "kind": "google_alerts", "url": url}).url == url


def test_endpoint_points_a_kind_at_another_server_keeping_its_own_path_and_query() -> None:
    assert options_for({"name": "s", "kind": "google_news", "query": "x",
                        "endpoint": "http://127.0.0.1:8080/news/"}).url.startswith("http://127.0.0.1:8080/news?q=x")
    assert built({"kind": "bluesky", "query": "x", "endpoint": "https://api.bsky.app/xrpc"})[1] == \
        "/xrpc/app.bsky.feed.searchPosts"
    assert built({"kind": "reddit", "query": "x", "endpoint": "http://127.0.0.1:9/r"})[:2] == \
        ("http://127.0.0.1:9", "/r/search.json")


def test_a_config_sent_to_the_crawl_process_rebuilds_the_same_sources(tmp_path: Path) -> None:
    """The scan dumps the config to JSON for its child process; the built url is not carried, but rebuilt."""
    sources = [{"name": "news", "kind": "google_news", "query": '"Bentilee Nursery"'},
               {"name": "reddit", "kind": "reddit", "subreddits": ["stoke"], "pages": 5},
               {"name": "masto", "kind": "mastodon", "instance": "https://mastodon.social", "account": "x"},
               {"name": "tube", "kind": "youtube", "channel": "UCK8sQmJBp8GCxrOtXWBpyEA", "every": "6h"}]
    config = config_from_dict({"school": {"name": "Bentilee Nursery School"}, "sources": sources})
    dumped = config.model_dump(mode="json", serialize_as_any=True)
    assert all("url" not in source for source in dumped["sources"])
    again = config_from_dict(dumped)
    assert [(s.name, s.url, s.every) for s in again.sources] == [(s.name, s.url, s.every) for s in config.sources]
    assert again.source("reddit").pages == 5


def test_mistakes_are_named_by_source_and_key() -> None:
    found = problems([
        {"name": "news", "kind": "google_news"},
        {"name": "empty", "kind": "bing_news", "query": "   "},
        {"name": "both", "kind": "google_news", "query": "x", "url": "https://news.google.com/rss"},
        {"name": "nowhere", "kind": "reddit"},
        {"name": "subs", "kind": "reddit", "subreddits": ["stoke on trent"]},
        {"name": "masto", "kind": "mastodon", "instance": "mastodon.social"},
        {"name": "masto2", "kind": "mastodon", "instance": "mastodon.social", "tag": "stoke on trent"},
        {"name": "handle", "kind": "youtube", "channel": "@stokelocaltv"},
        {"name": "alert", "kind": "google_alerts", "url": "https://www.google.com/alerts?hl=en"},
        {"name": "deep", "kind": "bluesky", "query": "x", "pages": 500},
        {"name": "local", "kind": "bluesky", "query": "x", "endpoint": "file:///etc/passwd"},
        {"name": "typo", "kind": "bluesky", "qeury": "x"},
    ])
    expected = [
        "sources[0] (news).query: is required but missing",
        "sources[1] (empty).query: is empty: write the words to search for",
        "sources[2] (both).url: is not written for this kind: it is built from the kind's own keys",
        "sources[3] (nowhere): give query: (what to search for), subreddits: (where to look), or both",
        "sources[4] (subs).subreddits: 'stoke on trent' is not a subreddit name",
        "sources[5] (masto): give either tag: (a hashtag) or account: (a user name)",
        "sources[6] (masto2).tag: 'stoke on trent' is not a hashtag",
        "sources[7] (handle).channel: '@stokelocaltv' is not a channel ID",
        "sources[8] (alert).url: is not an alert's RSS feed",
        "sources[9] (deep).pages: Input should be less than or equal to 20",
        "sources[10] (local).endpoint: 'file:///etc/passwd' is not an http(s) address",
        "sources[11] (typo).qeury: is not a known key",
    ]
    for line in expected:
        assert any(problem.startswith(line) for problem in found), (line, found)


def test_a_query_kind_in_a_yaml_file_loads_and_reports_its_file(tmp_path: Path) -> None:
    path = tmp_path / "schoolwatch.yaml"
    path.write_text("school: {name: Bentilee Nursery School}\n"
                    "sources:\n  - {name: bsky, kind: bluesky, query: '\"Bentilee Nursery\"', every: 30m}\n", "utf-8")
    source = load_config(path).source("bsky")
    assert source.url.endswith("searchPosts?q=%22Bentilee+Nursery%22&sort=latest&limit=100")
    path.write_text("school: {name: Bentilee Nursery School}\nsources:\n  - {name: bsky, kind: bluesky}\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and "sources[0] (bsky).query: is required but missing" in str(caught.value)
