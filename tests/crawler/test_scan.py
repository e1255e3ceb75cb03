"""Whole scans, as a school would run them: real Scrapy crawls of real local HTTP servers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crawler.demo.server import LocalSite, serve
from crawler.queries import mentions_since, verify_archive
from crawler.scan import run_scan
from support import DEMO_SITE
from support.scanning import DEMO_EXPECTED, demo_sources, make_config, stored_counts


def by_path(records: list[dict], base_url: str) -> dict[str, dict]:
    return {r["url"].removeprefix(base_url): r for r in records}


def test_demo_scan_finds_every_expected_mention_and_no_lookalike(tmp_path: Path, demo_site: LocalSite) -> None:
    demo_site.requests.clear()
    config = make_config(tmp_path, demo_sources(demo_site.base_url))
    summary = run_scan(config)

    assert summary.status == "finished" and summary.errors == []
    found = by_path(mentions_since(config), demo_site.base_url)
    for expected in DEMO_EXPECTED["mentions"]:
        assert expected["path"] in found, f"missed {expected['path']} ({expected.get('trick', 'plain')})"
        mention = found[expected["path"]]
        assert mention["source"] == expected["source"]
        assert expected["phrase"] in mention["matched"]
        assert "Bentilee" in mention["snippet"] or "bentilee" in mention["snippet"].lower()
    for unexpected in DEMO_EXPECTED["no_mentions"]:
        assert unexpected["path"] not in found, f"false mention: {unexpected['path']} ({unexpected['why']})"
    assert len(found) == len(DEMO_EXPECTED["mentions"])
    assert summary.mentions_new == len(found) and summary.mentions_updated == 0
    assert summary.documents >= len(found)

    fetched = {request.route for request in demo_site.requests}
    for forbidden in DEMO_EXPECTED["not_fetched"]:
        assert forbidden["path"] not in fetched, "robots.txt was not obeyed"
    assert "/robots.txt" in fetched
    agents = {request.headers.get("User-Agent") for request in demo_site.requests}
    assert agents == {"schoolwatch/0.1.0 (+https://example.org/schoolwatch-tests)"}


def test_demo_mentions_carry_the_tone_and_concerns_a_reader_would_give_them(tmp_path: Path,
                                                                          demo_site: LocalSite) -> None:
    config = make_config(tmp_path, demo_sources(demo_site.base_url))
    run_scan(config)
    found = by_path(mentions_since(config), demo_site.base_url)
    for expected in DEMO_EXPECTED["mentions"]:
        mention = found[expected["path"]]
        where = f"{expected['path']}: {mention['tone']} {mention['concerns']} {mention['why']}"
        assert mention["tone"] in expected["tone"], where
        assert set(expected["concerns"]) <= set(mention["concerns"]), where
        assert not set(expected.get("not_concerns", [])) & set(mention["concerns"]), where
        assert mention["severity"] in ("urgent", "high", "normal", "low") and mention["why"], where
    assert found["/forum/thread-104-child-alone-at-gates.html"]["severity"] == "urgent"


def test_every_mention_has_evidence_whose_hash_was_recorded(tmp_path: Path, demo_site: LocalSite) -> None:
    config = make_config(tmp_path, demo_sources(demo_site.base_url))
    run_scan(config)
    records = mentions_since(config)
    assert records
    for record in records:
        evidence = record["evidence"]
        raw = Path(evidence["raw"]).read_bytes()
        assert Path(evidence["warc"]).stat().st_size > 0
        assert "bentilee" in Path(evidence["text"]).read_text("utf-8").lower()
        import hashlib
        assert hashlib.sha256(raw).hexdigest() == evidence["sha256"]
    # A feed entry's evidence is the article page people saw, not the feed.
    nativity = next(r for r in records if r["url"].endswith("/news/2026-11-20-nativity.html"))
    assert b"one very confident donkey" in Path(nativity["evidence"]["raw"]).read_bytes()
    assert b"<rss" not in Path(nativity["evidence"]["raw"]).read_bytes()
    checked, bad = verify_archive(config)
    assert checked >= 3 * len(records) - len(records) and bad == []


def test_a_second_scan_of_unchanged_sources_is_cheap_and_finds_nothing_new(tmp_path: Path) -> None:
    with serve(DEMO_SITE) as site:
        config = make_config(tmp_path, demo_sources(site.base_url))
        first = run_scan(config)
        before = {r["id"]: r["last_seen"] for r in mentions_since(config)}
        site.requests.clear()
        second = run_scan(config)  # the same process scans again: no reactor restart problem

        assert first.mentions_new > 0
        assert (second.mentions_new, second.mentions_updated, second.errors) == (0, 0, [])
        conditional = [r for r in site.requests if r.headers.get("If-None-Match")]
        assert len(conditional) >= 4, "rescans should ask 'changed since?' (conditional GET)"
        after = {r["id"]: r["last_seen"] for r in mentions_since(config)}
        assert after.keys() == before.keys()
        # pages answered 304 are still seen: their mentions' last_seen moves on
        assert any(after[k] > before[k] for k in before)
        # the forum is still crawled through the links stored last time
        assert any(r.route.startswith("/forum/thread-") for r in site.requests)


def test_an_edited_post_updates_its_mention_and_keeps_both_revisions(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    shutil.copytree(DEMO_SITE, site_dir)
    thread = site_dir / "forum" / "thread-102-drop-off-parking.html"
    with serve(site_dir) as site:
        config = make_config(tmp_path / "data", demo_sources(site.base_url))
        run_scan(config)
        html = thread.read_text("utf-8")
        thread.write_text(html.replace("</main>", "<p>EDIT: the parking at Bentilee Nursery School is now "
                                                  "sorted, thank you to the staff.</p></main>"), "utf-8")
        summary = run_scan(config)

    assert (summary.mentions_new, summary.mentions_updated) == (0, 1)
    edited = next(r for r in mentions_since(config) if r["url"].endswith(thread.name))
    assert edited["revisions"] == 2
    assert "now sorted" in Path(edited["evidence"]["text"]).read_text("utf-8")
    counts = stored_counts(config)
    assert counts["revisions"] == counts["mentions"] + 1
    assert counts["outbox"] == counts["revisions"]  # one alert row per new or edited capture
    assert verify_archive(config)[1] == []


def test_failing_sources_are_reported_in_plain_words_and_the_scan_goes_on(tmp_path: Path, hostile_site: LocalSite,
                                                                         demo_site: LocalSite) -> None:
    base = hostile_site.base_url

    def page(name: str, path: str, kind: str = "page") -> dict:
        return {"name": name, "kind": kind, "url": base + path, "allow_private": True}

    sources = [
        page("hangs", "/hang"), page("server-error", "/500"), page("missing", "/404"),
        page("garbage", "/garbage"), page("empty", "/empty"), page("huge", "/huge"),
        page("bomb", "/gzip-bomb"), page("loop", "/redirect-loop"),
        page("to-file", "/redirect-to?url=file:///etc/passwd"),
        page("lying", "/lying-length"),
        page("broken-feed", "/malformed.rss", "feed"), page("html-as-feed", "/not-a-feed.rss", "feed"),
        page("latin1-lie", "/wrong-charset"),
        {"name": "reviews", "kind": "page", "url": demo_site.url("/reviews/bentilee-nursery-school.html"),
         "allow_private": True},
    ]
    config = make_config(tmp_path, sources, timeout=2, max_bytes=2 * 1024 * 1024)
    summary = run_scan(config)

    assert summary.status == "finished"
    reasons = {e["source"]: e["reason"] for e in summary.errors}
    assert "no answer within 2 seconds" in reasons["hangs"]
    assert "500" in reasons["server-error"]
    assert "404" in reasons["missing"] and "not found" in reasons["missing"]
    assert "larger than the 2 MB limit" in reasons["huge"]
    assert "larger than the 2 MB limit" in reasons["bomb"]
    assert "only http and https" in reasons["to-file"]
    assert "redirects in a loop" in reasons["loop"]
    assert "not a feed" in reasons["html-as-feed"]
    assert "lying" in reasons
    for source, reason in reasons.items():
        assert "Traceback" not in reason and "internal error" not in reason, (source, reason)
    # Garbage and empty pages are not errors: they simply mention nobody.
    assert "garbage" not in reasons and "empty" not in reasons
    records = mentions_since(config)
    found = {r["source"] for r in records}
    assert "reviews" in found  # the good source was scanned despite the others
    assert "latin1-lie" in found  # a lying charset still finds the school
    # A broken feed is read as far as it goes, without expanding its entities (XXE, billion laughs).
    broken = next(r for r in records if r["source"] == "broken-feed")
    text = Path(broken["evidence"]["text"]).read_text("utf-8")
    assert "root:" not in text and "lollol" not in text and len(text) < 5000
    assert any(w["source"] == "broken-feed" and "404" in w["reason"] for w in summary.warnings)


def test_private_addresses_are_refused_before_any_request(tmp_path: Path, hostile_site: LocalSite) -> None:
    config = make_config(tmp_path, [{"name": "sneaky", "kind": "page", "url": hostile_site.url("/garbage")}])
    summary = run_scan(config)
    assert len(summary.errors) == 1
    assert "private or local network address (127.0.0.1)" in summary.errors[0]["reason"]
    assert hostile_site.requests == []


def test_a_failing_source_is_remembered_and_its_alert_row_written_once(tmp_path: Path, hostile_site: LocalSite) -> None:
    from sqlalchemy import select

    from crawler.storage import Outbox, Source, open_database

    config = make_config(tmp_path, [{"name": "down", "kind": "page", "url": hostile_site.url("/500"),
                                     "allow_private": True}])
    run_scan(config)
    run_scan(config)
    sessions = open_database(config.storage.database)
    with sessions() as session:
        source = session.scalar(select(Source).where(Source.name == "down"))
        kinds = list(session.scalars(select(Outbox.kind)))
    assert source is not None and source.failures == 2 and "500" in (source.last_error or "")
    assert kinds.count("source.failing") == 1
