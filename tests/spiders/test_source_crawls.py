"""Every service kind, crawled for real against a local stand-in of the service.

One child process runs every scenario at once (each source is its own Scrapy crawler, as in a
scan), so waits for ``Retry-After`` overlap and the module costs one crawl. The stand-in
answers with the fixtures in ``tests/fixtures/sources``, in the services' own formats,
pages chosen by the same cursor parameters the services use; articles linked from feeds are
the demo site's pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from crawler.demo.server import LocalSite
from crawling import JSON, Crawled, Service, crawl, fixture, service
from spiders.bluesky import BlueskySpider
from spiders.options import options_for
from spiders.reddit import RedditSpider

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
Answer = tuple[int, dict[str, str], bytes]

REDDIT_PAGES = {"": "reddit_school_page1.json", "t3_1h9v0qq": "reddit_school_page2.json",
                "t3_1h8p8zz": "reddit_school_page3.json"}
BSKY_PAGES = {"": "bluesky_search_page1.json", "3": "bluesky_search_page2.json"}
MASTO_TAG = "/api/v1/timelines/tag/StokeOnTrent"
MASTO_OLDER = "113550877316650002"


def ok(body: bytes, kind: str = JSON, **headers: str) -> Answer:
    return 200, {"Content-Type": kind, **headers}, body


def first_then(first: Callable[[Any], Answer], then: Callable[[Any], Answer]) -> Callable[[Any], Answer]:
    """An answer that differs the first time (a 429, say) from every later time."""
    calls: list[int] = []

    def answer(request: Any) -> Answer:
        calls.append(1)
        return first(request) if len(calls) == 1 else then(request)
    return answer


def reddit_page(request: Any) -> Answer:
    return ok(fixture(REDDIT_PAGES[request.query.get("after", [""])[0]]))


def bluesky_page(request: Any) -> Answer:
    return ok(fixture(BSKY_PAGES[request.query.get("cursor", [""])[0]]))


def post_urls(spider_cls: type, kind: dict, name: str) -> list[str]:
    spider = spider_cls(options=options_for({"name": "x", **kind}))
    data = json.loads(fixture(name))
    return [p.url for p in (spider.read_post(raw) for raw in spider.posts_of(data)) if p]


def reddit_urls(page: int) -> list[str]:
    return post_urls(RedditSpider, {"kind": "reddit", "query": "x"}, f"reddit_school_page{page}.json")


def bluesky_urls(page: int) -> list[str]:
    return post_urls(BlueskySpider, {"kind": "bluesky", "query": "x"}, f"bluesky_search_page{page}.json")


class Scenarios:
    """Sources and the routes that answer them, on one stand-in server."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.sources: list[dict[str, Any]] = []
        self.known: dict[str, list[str]] = {}

    def add(self, name: str, kind: str, routes: dict[str, Callable[[Any], Answer]], known: list[str] | None = None,
            **keys: Any) -> None:
        for path, answer in routes.items():
            self.svc.route(f"/{name}{path}", answer)
        source = {"name": name, "kind": kind, "allow_private": True, **keys}
        if kind == "mastodon":
            source["instance"] = f"{self.svc.base_url}/{name}"
        elif kind == "google_alerts":
            source["url"] = f"{self.svc.base_url}/{name}/alerts/feeds/1/2"
        else:
            source["endpoint"] = f"{self.svc.base_url}/{name}{keys.pop('endpoint_path', '')}"
            source.pop("endpoint_path", None)
        self.sources.append(source)
        if known:
            self.known[name] = known


@pytest.fixture(scope="module")
def run(demo_site: LocalSite) -> Iterator[tuple[dict[str, Crawled], Service, float]]:
    demo = demo_site.base_url
    with service() as svc:
        s = Scenarios(svc)
        # --- reddit ---------------------------------------------------------------------------------
        s.add("reddit-all", "reddit", {"/search.json": reddit_page}, query='"Bentilee Nursery"')
        s.add("reddit-seen", "reddit", {"/search.json": reddit_page}, known=reddit_urls(1), query='"Bentilee Nursery"')
        s.add("reddit-seen-page2", "reddit", {"/search.json": reddit_page}, known=reddit_urls(2),
              query='"Bentilee Nursery"')
        s.add("reddit-cap", "reddit", {"/search.json": reddit_page}, query='"Bentilee Nursery"', pages=2)
        s.add("reddit-subs", "reddit", {"/r/stoke+StokeOnTrent/new.json": lambda r: ok(fixture("reddit_school_page3.json"))},
              subreddits=["stoke", "StokeOnTrent"])
        s.add("reddit-real", "reddit", {"/search.json": lambda r: ok(fixture("reddit_search_listing.json"))},
              query="praw oauth search")
        s.add("reddit-429", "reddit", {"/search.json": first_then(
            lambda r: (429, {"Retry-After": "1", "Content-Type": JSON}, b'{"message": "Too Many Requests", "error": 429}'),
            lambda r: ok(fixture("reddit_school_page3.json")))}, query="x")
        s.add("reddit-429-long", "reddit", {"/search.json": lambda r: (
            429, {"Retry-After": "7200", "Content-Type": JSON}, b'{"message": "Too Many Requests", "error": 429}')},
              query="x")
        s.add("reddit-429-bare", "reddit", {"/search.json": lambda r: (429, {"Content-Type": "text/html"}, b"<h1>slow down</h1>")},
              query="x")
        s.add("reddit-quota", "reddit", {"/search.json": lambda r: (
            ok(fixture("reddit_school_page1.json"), **{"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "100",
                                                       "x-ratelimit-reset": "1"})
            if "after" not in r.query else reddit_page(r))}, query="x", pages=2)
        s.add("reddit-quota-long", "reddit", {"/search.json": lambda r: ok(
            fixture("reddit_school_page1.json"), **{"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "600"})},
              query="x")
        broken = json.loads(fixture("reddit_school_page1.json"))
        del broken["data"]["children"][1]["data"]["permalink"]
        s.add("reddit-one-bad", "reddit", {"/search.json": lambda r: ok(json.dumps(broken).encode())}, query="x", pages=1)
        s.add("reddit-changed", "reddit", {"/search.json": lambda r: ok(b'{"kind": "Listing", "data": {"after": null}}')},
              query="x")
        s.add("reddit-html", "reddit", {"/search.json": lambda r: ok(b"<html><body>whoa there, pardner!</body></html>",
                                                                      "text/html; charset=utf-8")}, query="x")
        s.add("reddit-403", "reddit", {"/search.json": lambda r: (403, {"Content-Type": "text/html"}, b"Blocked")},
              query="x")
        # --- bluesky --------------------------------------------------------------------------------
        search = "/xrpc/app.bsky.feed.searchPosts"
        s.add("bluesky", "bluesky", {search: bluesky_page}, query='"Bentilee Nursery"', endpoint_path="/xrpc")
        s.add("bluesky-seen", "bluesky", {search: bluesky_page}, known=bluesky_urls(1), query="x", endpoint_path="/xrpc")
        s.add("bluesky-cursor-403", "bluesky", {search: lambda r: (
            (403, {"Content-Type": "text/plain"}, b"Request forbidden by administrative rules.")
            if "cursor" in r.query else bluesky_page(r))}, query="x", endpoint_path="/xrpc")
        s.add("bluesky-403", "bluesky", {search: lambda r: (
            403, {"Content-Type": JSON}, b'{"error":"AuthMissing","message":"Authentication Required"}')},
              query="x", endpoint_path="/xrpc")
        s.add("bluesky-429", "bluesky", {search: first_then(
            lambda r: (429, {"Content-Type": JSON, "ratelimit-limit": "3000", "ratelimit-remaining": "0",
                             "ratelimit-reset": str(int(time.time()) + 2)},
                       b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'),
            lambda r: ok(fixture("bluesky_search_page2.json")))}, query="x", endpoint_path="/xrpc")
        shifted = json.loads(fixture("bluesky_search_page2.json"))  # a new post pushed page 1's last onto page 2
        shifted["posts"].insert(0, json.loads(fixture("bluesky_search_page1.json"))["posts"][-1])
        s.add("bluesky-shift", "bluesky", {search: lambda r: (
            ok(json.dumps(shifted).encode()) if "cursor" in r.query else bluesky_page(r))}, query="x",
              endpoint_path="/xrpc")
        nameless = json.loads(fixture("bluesky_search_page2.json"))
        for post in nameless["posts"]:
            del post["author"]["handle"]
        s.add("bluesky-changed", "bluesky", {search: lambda r: ok(json.dumps(nameless).encode())}, query="x",
              endpoint_path="/xrpc")
        # --- mastodon -------------------------------------------------------------------------------
        def tag_page(request: Any, name: str = "mastodon-tag") -> Answer:
            if "max_id" in request.query:
                return ok(fixture("mastodon_tag_page2.json"))
            older = f"{svc.base_url}/{name}{MASTO_TAG}?limit=40&max_id={MASTO_OLDER}"
            newer = f"{svc.base_url}/{name}{MASTO_TAG}?limit=40&min_id=113551200339484001"
            return ok(fixture("mastodon_tag_page1.json"), Link=f'<{older}>; rel="next", <{newer}>; rel="prev"')
        s.add("mastodon-tag", "mastodon", {MASTO_TAG: tag_page}, tag="StokeOnTrent")
        s.add("mastodon-account", "mastodon", {
            "/api/v1/accounts/lookup": lambda r: ok(fixture("mastodon_account_lookup.json")),
            "/api/v1/accounts/108193425891628609/statuses": lambda r: ok(fixture("mastodon_account_statuses.json"))},
              account="jason")
        s.add("mastodon-nobody", "mastodon", {"/api/v1/accounts/lookup": lambda r: (
            404, {"Content-Type": JSON}, b'{"error":"Record not found"}')}, account="nobody")
        s.add("mastodon-401", "mastodon", {MASTO_TAG: lambda r: (
            401, {"Content-Type": JSON}, b'{"error":"This method requires an authenticated user"}')}, tag="StokeOnTrent")
        s.add("mastodon-429", "mastodon", {MASTO_TAG: first_then(
            lambda r: (429, {"Content-Type": JSON, "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": datetime.fromtimestamp(time.time() + 1.5, timezone.utc)
                             .isoformat(timespec="milliseconds").replace("+00:00", "Z")},
                       b'{"error":"Too many requests"}'),
            lambda r: ok(fixture("mastodon_tag_page2.json")))}, tag="StokeOnTrent")
        s.add("mastodon-elsewhere", "mastodon", {MASTO_TAG: lambda r: ok(
            fixture("mastodon_tag_page1.json"), Link=f'<http://10.0.0.1{MASTO_TAG}?max_id=1>; rel="next"')},
              tag="StokeOnTrent")
        # --- feeds ----------------------------------------------------------------------------------
        alert = fixture("google_alerts_school.xml").replace(b"{{BASE}}", demo.encode())
        s.add("google-alerts", "google_alerts", {"/alerts/feeds/1/2": lambda r: ok(alert, ATOM)})
        s.add("google-alerts-real", "google_alerts", {"/alerts/feeds/1/2": lambda r: ok(fixture("google_alerts_atom.xml"), ATOM)})
        s.add("google-news", "google_news", {"": lambda r: ok(fixture("google_news_school.xml"), RSS)},
              query='"Bentilee Nursery"')
        s.add("google-news-real", "google_news", {"": lambda r: ok(fixture("google_news_search.xml"), RSS)}, query="x")
        s.add("google-news-429", "google_news", {"": first_then(
            lambda r: (429, {"Retry-After": "1", "Content-Type": "text/html"}, b"<title>Sorry...</title>"),
            lambda r: ok(fixture("google_news_school.xml"), RSS))}, query="x")
        s.add("google-news-html", "google_news", {"": lambda r: ok(
            b"<!DOCTYPE html><html><head><title>Before you continue</title></head><body>consent</body></html>",
            "text/html; charset=utf-8")}, query="x")
        bing = fixture("bing_news_school.xml").replace(b"{{BASE_ENCODED}}", quote(demo, safe="").lower().encode())
        s.add("bing-news", "bing_news", {"": lambda r: ok(bing, RSS)}, query='"Bentilee Nursery"')
        s.add("youtube", "youtube", {"": lambda r: ok(fixture("youtube_school.xml"), ATOM)},
              channel="UCz3Qb8fYkP1nTc2Lr5sVw7A")
        s.add("youtube-real", "youtube", {"": lambda r: ok(fixture("youtube_atom.xml"), ATOM)},
              channel="UCK8sQmJBp8GCxrOtXWBpyEA")
        s.add("youtube-429-long", "youtube", {"": lambda r: (429, {"Retry-After": "3600"}, b"")},
              channel="UCK8sQmJBp8GCxrOtXWBpyEA")

        started = time.monotonic()
        results = crawl(s.sources, known=s.known)
        yield results, svc, time.monotonic() - started


def mine(path: str, name: str) -> bool:
    route = path.split("?")[0]
    return route == f"/{name}" or route.startswith(f"/{name}/")


def asked(svc: Service, name: str) -> list[dict[str, list[str]]]:
    """The query of every request a scenario's source made, in order."""
    return [parse_qs(urlsplit(path).query) for path in svc.paths() if mine(path, name)]


def times(svc: Service, name: str) -> list[float]:
    return [at for at, path in svc.asked if mine(path, name)]


# --- reddit ---------------------------------------------------------------------------------------

def test_reddit_reads_every_page_newest_first_until_the_last(run: Any) -> None:
    results, svc, _ = run
    reddit = results["reddit-all"]
    assert [q.get("after") for q in asked(svc, "reddit-all")] == [None, ["t3_1h9v0qq"], ["t3_1h8p8zz"]]
    assert asked(svc, "reddit-all")[0] == {"q": ['"Bentilee Nursery"'], "sort": ["new"], "include_over_18": ["on"],
                                          "limit": ["100"], "raw_json": ["1"]}
    assert reddit.urls == reddit_urls(1) + reddit_urls(2) + reddit_urls(3) and not reddit.problems
    fair = reddit.document("/1h9x2ka/anyone_else_s_kids_at_bentilee_nursery_school_christmas/")
    assert fair["url"].startswith("https://www.reddit.com/r/stoke/comments/")
    assert fair["title"] == "Anyone else's kids at Bentilee Nursery School? Christmas fair this Saturday"
    assert fair["author"] == "u/potteries_mum" and fair["published"] == "2026-11-29T09:00:00+00:00"
    assert "Tombola, face painting &amp; a visit" in fair["content"]
    # The evidence is the API page the post came in, exactly as received.
    assert fair["body_len"] == len(fixture("reddit_school_page1.json")) and fair["body_is_page"] is False
    assert fair["fetched_url"].startswith(svc.base_url + "/reddit-all/search.json") and fair["track"] is True


def test_reddit_stops_at_a_page_of_posts_seen_before(run: Any) -> None:
    results, svc, _ = run
    assert len(asked(svc, "reddit-seen")) == 1  # page 1 was all known: nothing older is new either
    assert results["reddit-seen"].urls == reddit_urls(1)  # seen again: an edit would still be noticed
    assert [q.get("after") for q in asked(svc, "reddit-seen-page2")] == [None, ["t3_1h9v0qq"]]
    assert len(asked(svc, "reddit-cap")) == 2  # pages: 2, though more remain


def test_reddit_subreddit_list_and_the_real_search_answer(run: Any) -> None:
    results, svc, _ = run
    assert any(path.startswith("/reddit-subs/r/stoke+StokeOnTrent/new.json?") for path in svc.paths())
    assert results["reddit-subs"].urls == reddit_urls(3)
    real = results["reddit-real"]
    assert len(real.documents) == 6 and not real.problems
    assert real.document("/3gpbiu/prawoauth2util_problem_using_get_banned_raise/")["author"] == "u/dClauzel"


def test_reddit_429_with_retry_after_is_waited_out(run: Any) -> None:
    results, svc, _ = run
    first, second = times(svc, "reddit-429")
    assert second - first >= 0.9  # Retry-After: 1 was honoured, not retried at once
    assert results["reddit-429"].urls == reddit_urls(3) and not results["reddit-429"].problems


def test_reddit_429_asking_for_hours_is_a_plain_problem_for_next_scan(run: Any) -> None:
    results, svc, _ = run
    assert len(times(svc, "reddit-429-long")) == 1  # no hammering
    [problem] = results["reddit-429-long"].problems
    assert problem["reason"] == "rate limited by 127.0.0.1 (it asked us to wait 2.0 hours); will try again next scan"
    assert problem["fatal"] is True
    [bare] = results["reddit-429-bare"].problems
    assert bare["reason"] == "rate limited by 127.0.0.1; will try again next scan"
    assert len(times(svc, "reddit-429-bare")) == 1


def test_reddit_spent_quota_is_honoured_before_the_next_page(run: Any) -> None:
    results, svc, _ = run
    first, second = times(svc, "reddit-quota")
    assert second - first >= 0.9
    assert results["reddit-quota"].urls == reddit_urls(1) + reddit_urls(2)
    long = results["reddit-quota-long"]
    assert long.urls == reddit_urls(1) and len(times(svc, "reddit-quota-long")) == 1
    [problem] = long.problems
    assert problem == {**problem, "fatal": False, "reason": "rate limited by 127.0.0.1 (it asked us to wait 10 minutes); "
                                                           "what was read so far is kept; the rest is read next scan"}


def test_reddit_api_changes_are_clear_source_problems(run: Any) -> None:
    results, _, _ = run
    one_bad = results["reddit-one-bad"]
    assert len(one_bad.documents) == 2  # the readable posts are kept
    [problem] = one_bad.problems
    assert problem["fatal"] is False
    assert problem["reason"] == ("1 of 3 posts on this page could not be read (post 2: data.permalink is missing); "
                                 "Reddit may have changed its API")
    [changed] = results["reddit-changed"].problems
    assert changed["fatal"] is True and changed["reason"] == (
        "Reddit answered in a form schoolwatch does not understand (data.children is missing): the service may "
        "have changed its API, so this kind of source needs an update")
    [html] = results["reddit-html"].problems
    assert html["reason"].startswith("Reddit did not answer with JSON (it sent text/html; charset=utf-8)")
    [refused] = results["reddit-403"].problems
    assert refused["reason"].startswith("Reddit refused the request (403 Forbidden)") and refused["fatal"]
    for name in ("reddit-one-bad", "reddit-changed", "reddit-html", "reddit-403"):
        for item in results[name].problems:
            assert "Traceback" not in item["reason"] and "internal error" not in item["reason"]


# --- bluesky -------------------------------------------------------------------------------------

def test_bluesky_pages_by_cursor_and_reads_posts_with_author_and_time(run: Any) -> None:
    results, svc, _ = run
    assert [q.get("cursor") for q in asked(svc, "bluesky")] == [None, ["3"]]
    assert asked(svc, "bluesky")[0] == {"q": ['"Bentilee Nursery"'], "sort": ["latest"], "limit": ["100"]}
    bluesky = results["bluesky"]
    assert bluesky.urls == bluesky_urls(1) + bluesky_urls(2) and not bluesky.problems
    moan = bluesky.document("/post/3lcn7d2pwe22k")
    assert moan["url"] == "https://bsky.app/profile/did:plc:b3cg7kr4n6l2qpybzxe6ha5m/post/3lcn7d2pwe22k"
    assert (moan["title"], moan["author"]) == ("@bentileemum.bsky.social on Bluesky", "Jo (@bentileemum.bsky.social)")
    assert moan["published"] == "2026-11-22T16:15:09.877000+00:00"
    assert "never answer the phone" in moan["content"]


def test_bluesky_stops_at_seen_posts_and_explains_refusals(run: Any) -> None:
    results, svc, _ = run
    assert len(asked(svc, "bluesky-seen")) == 1
    cursor = results["bluesky-cursor-403"]
    assert cursor.urls == bluesky_urls(1)  # the first page is kept
    [partial] = cursor.problems
    assert partial["fatal"] is False and "read past the first page" in partial["reason"]
    [refused] = results["bluesky-403"].problems
    assert refused["fatal"] is True and refused["reason"].startswith("Bluesky refused the search (403)")


def test_a_post_that_shifts_onto_the_next_page_is_passed_on_once(run: Any) -> None:
    results, _, _ = run
    assert results["bluesky-shift"].urls == bluesky_urls(1) + bluesky_urls(2)  # once each: the store keys on it


def test_bluesky_429_with_a_reset_time_is_waited_out(run: Any) -> None:
    results, svc, _ = run
    first, second = times(svc, "bluesky-429")
    assert second - first >= 0.9
    assert results["bluesky-429"].urls == bluesky_urls(2) and not results["bluesky-429"].problems


def test_bluesky_posts_missing_a_field_are_a_clear_problem(run: Any) -> None:
    results, _, _ = run
    changed = results["bluesky-changed"]
    assert changed.documents == []
    [problem] = changed.problems
    assert problem["fatal"] is True
    assert problem["reason"] == ("2 of 2 posts on this page could not be read (post 1: author.handle is missing); "
                                 "Bluesky may have changed its API")


# --- mastodon ------------------------------------------------------------------------------------

def test_mastodon_hashtag_follows_the_link_header(run: Any) -> None:
    results, svc, _ = run
    assert [q.get("max_id") for q in asked(svc, "mastodon-tag")] == [None, [MASTO_OLDER]]
    tag = results["mastodon-tag"]
    assert len(tag.documents) == 5 and not tag.problems
    craft = tag.document("/@kate_stoke/113551200339484001")
    assert craft["author"] == "Kate \U0001f3fa (@kate_stoke@127.0.0.1)"  # local accounts get the server's name
    assert craft["published"] == "2026-11-23T09:12:04+00:00"
    assert tag.document("/@stokesentinelbot/113543990000000005")["title"] == \
        "@stokesentinelbot@newsie.social on Mastodon"  # a boost is the boosted post


def test_mastodon_account_is_looked_up_then_read(run: Any) -> None:
    results, svc, _ = run
    paths = [p.split("?")[0] for p in svc.paths() if p.startswith("/mastodon-account/")]
    assert paths == ["/mastodon-account/api/v1/accounts/lookup",
                     "/mastodon-account/api/v1/accounts/108193425891628609/statuses"]
    account = results["mastodon-account"]
    assert account.urls == ["https://click.ba.it/@jason/117128987138117875",
                            "https://click.ba.it/@jason/117128945729458939",
                            "https://click.ba.it/@jason/117123536949661693"]
    assert account.documents[0]["author"] == "Fussili Paganini (@jason@127.0.0.1)"


def test_mastodon_refusals_limits_and_odd_links_are_explained(run: Any) -> None:
    results, svc, _ = run
    [nobody] = results["mastodon-nobody"].problems
    assert nobody["reason"] == "127.0.0.1 does not know the account @nobody (404 Not Found): check account:"
    [closed] = results["mastodon-401"].problems
    assert closed["reason"].startswith("127.0.0.1 keeps its timelines to logged-in users (401)")
    first, second = times(svc, "mastodon-429")
    assert second - first >= 0.9 and len(results["mastodon-429"].documents) == 2
    elsewhere = results["mastodon-elsewhere"]
    assert len(elsewhere.documents) == 3
    [problem] = elsewhere.problems
    assert problem["reason"] == "the next page is on another server (10.0.0.1), so it was not fetched"
    assert problem["fatal"] is False


# --- feeds ---------------------------------------------------------------------------------------

def test_google_alerts_unwraps_links_and_fetches_the_articles_that_mention_the_school(run: Any) -> None:
    results, _, _ = run
    alerts = results["google-alerts"]
    assert not alerts.problems
    nativity = alerts.document("/news/2026-11-20-nativity.html")
    assert nativity["title"] == "Nativity at Bentilee Nursery School stars a very confident donkey"
    assert nativity["body_is_page"] is True and "one very confident donkey" in nativity["body_start"] + nativity["content"]
    assert nativity["published"] == "2026-11-23T09:30:12+00:00"
    assert len(alerts.documents) == 3
    real = results["google-alerts-real"]  # the real capture: an alert for "Slack"
    assert len(real.documents) == 20 and not any("google.com" in url for url in real.urls)
    assert not any(d["body_is_page"] for d in real.documents)  # nothing that could mention the school is fetched


def test_google_news_reads_the_search_feed_without_following_google_links(run: Any) -> None:
    results, svc, _ = run
    assert asked(svc, "google-news") == [{"q": ['"Bentilee Nursery"'], "hl": ["en-GB"], "gl": ["GB"], "ceid": ["GB:en"]}]
    news = results["google-news"]
    assert len(news.documents) == 2 and not news.problems
    ofsted = news.documents[0]
    assert ofsted["url"].startswith("https://news.google.com/rss/articles/")
    assert (ofsted["author"], ofsted["body_is_page"]) == ("Stoke Sentinel", False)
    assert ofsted["published"] == "2026-11-22T16:05:44+00:00"
    assert len(results["google-news-real"].documents) == 4
    first, second = times(svc, "google-news-429")
    assert second - first >= 0.9 and len(results["google-news-429"].documents) == 2
    [html] = results["google-news-html"].problems
    assert "not a feed we can read" in html["reason"]


def test_bing_news_unwraps_its_click_links(run: Any, demo_site: LocalSite) -> None:
    results, svc, _ = run
    assert asked(svc, "bing-news")[0]["format"] == ["rss"]
    nativity = results["bing-news"].document("/news/2026-11-20-nativity.html")
    assert nativity["url"] == demo_site.url("/news/2026-11-20-nativity.html")
    assert nativity["author"] == "The Potteries Courier" and nativity["body_is_page"] is True


def test_youtube_channel_feed(run: Any) -> None:
    results, svc, _ = run
    assert asked(svc, "youtube") == [{"channel_id": ["UCz3Qb8fYkP1nTc2Lr5sVw7A"]}]
    video = results["youtube"].document("watch?v=q2Xw9LmP4aZ")
    assert video["author"] == "Stoke Local TV" and "nativity rehearsal" in video["content"]
    assert video["body_is_page"] is False  # the watch page is script: the entry is the evidence
    assert len(results["youtube-real"].documents) == 15
    [problem] = results["youtube-429-long"].problems
    assert problem["reason"] == "rate limited by 127.0.0.1 (it asked us to wait 60 minutes); will try again next scan"


def test_service_endpoints_are_read_without_robots_txt(run: Any) -> None:
    _, svc, _ = run
    assert "/robots.txt" not in svc.paths()  # read like a feed reader or API client, not crawled
