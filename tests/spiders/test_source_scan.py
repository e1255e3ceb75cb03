"""Whole scans of query kinds, as a school runs them: stand-in services on 127.0.0.1, real pipeline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crawler.queries import mentions_since
from crawler.scan import run_scan
from crawler.storage import Source, open_database
from crawling import JSON, fixture, service
from support.scanning import make_config, stored_counts

RSS = "application/rss+xml; charset=utf-8"
BSKY_PAGES = {"": "bluesky_search_page1.json", "3": "bluesky_search_page2.json"}
REDDIT_PAGES = {"": "reddit_school_page1.json", "t3_1h9v0qq": "reddit_school_page2.json",
                "t3_1h8p8zz": "reddit_school_page3.json"}


def test_query_kinds_store_mentions_with_author_time_and_evidence_then_rescan_stops_at_seen(tmp_path: Path) -> None:
    with service() as svc:
        svc.route("/xrpc/app.bsky.feed.searchPosts",
                  lambda r: (200, {"Content-Type": JSON}, fixture(BSKY_PAGES[r.query.get("cursor", [""])[0]])))
        svc.route("/reddit/search.json",
                  lambda r: (200, {"Content-Type": JSON}, fixture(REDDIT_PAGES[r.query.get("after", [""])[0]])))
        svc.route("/news", lambda r: (200, {"Content-Type": RSS}, fixture("google_news_school.xml")))
        sources: list[dict[str, Any]] = [
            {"name": "bluesky", "kind": "bluesky", "query": '"Bentilee Nursery"', "endpoint": svc.base_url + "/xrpc",
             "allow_private": True},
            {"name": "reddit", "kind": "reddit", "query": '"Bentilee Nursery"', "endpoint": svc.base_url + "/reddit",
             "allow_private": True},
            {"name": "google-news", "kind": "google_news", "query": '"Bentilee Nursery"',
             "endpoint": svc.base_url + "/news", "allow_private": True},
        ]
        config = make_config(tmp_path, sources)
        first = run_scan(config)
        svc.asked.clear()
        second = run_scan(config)

    assert first.status == "finished" and first.errors == [] and first.warnings == []
    found = {record["url"]: record for record in mentions_since(config)}
    moan = found["https://bsky.app/profile/did:plc:b3cg7kr4n6l2qpybzxe6ha5m/post/3lcn7d2pwe22k"]
    assert moan["source"] == "bluesky" and moan["title"] == "@bentileemum.bsky.social on Bluesky"
    assert moan["published"].startswith("2026-11-22T16:15:09")
    assert "Bentilee Nursery School" in moan["matched"] and "never answer the phone" in moan["snippet"]
    assert moan["tone"] == "negative"
    raw = Path(moan["evidence"]["raw"]).read_bytes()  # the API page the post came in, as received
    assert raw == fixture("bluesky_search_page2.json") and hashlib.sha256(raw).hexdigest() == moan["evidence"]["sha256"]
    assert "never answer the phone" in Path(moan["evidence"]["text"]).read_text("utf-8")
    bluesky = {url for url, r in found.items() if r["source"] == "bluesky"}
    assert len(bluesky) == 4  # every post that names the school; not the frost warning
    reddit = {url for url, r in found.items() if r["source"] == "reddit"}
    assert "https://www.reddit.com/r/stoke/comments/1h6a1bc/toddler_group_at_bentilee_nursery_on_tuesdays/" in reddit
    assert not any("/1h8p8zz/" in url for url in reddit)  # the bus diversion is the Neighbourhood Centre
    news = [r for r in found.values() if r["source"] == "google-news"]
    assert len(news) == 2 and all(r["url"].startswith("https://news.google.com/rss/articles/") for r in news)
    assert first.mentions_new == len(found)
    counts = stored_counts(config)
    assert counts["mentions_without_revision"] == 0 and counts["revisions_without_outbox"] == 0

    # The rescan reads one page of each API (all seen before) and finds nothing new.
    assert (second.mentions_new, second.mentions_updated, second.errors) == (0, 0, [])
    assert [p.split("?")[0] for p in svc.paths()].count("/xrpc/app.bsky.feed.searchPosts") == 1
    assert [p.split("?")[0] for p in svc.paths()].count("/reddit/search.json") == 1

    # The source keeps the address it was built from, for the health report.
    sessions = open_database(config.storage.database)
    with sessions() as session:
        stored = {s.name: (s.kind, s.url, s.failures) for s in session.scalars(select(Source))}
    assert stored["bluesky"] == ("bluesky", config.source("bluesky").url, 0)
    assert stored["bluesky"][1] == svc.base_url + "/xrpc/app.bsky.feed.searchPosts?q=%22Bentilee+Nursery%22&sort=latest&limit=100"


def test_a_rate_limited_service_is_reported_once_in_plain_words(tmp_path: Path) -> None:
    with service() as svc:
        svc.route("/xrpc/app.bsky.feed.searchPosts", lambda r: (
            429, {"Content-Type": JSON, "Retry-After": "86400"}, json.dumps({"error": "RateLimitExceeded"}).encode()))
        config = make_config(tmp_path, [{"name": "bluesky", "kind": "bluesky", "query": "x",
                                         "endpoint": svc.base_url + "/xrpc", "allow_private": True}])
        summary = run_scan(config)
    assert summary.status == "finished"
    assert summary.errors == [{"source": "bluesky", "url": config.source("bluesky").url,
                               "reason": "rate limited by 127.0.0.1 (it asked us to wait 24.0 hours); "
                                         "will try again next scan"}]
