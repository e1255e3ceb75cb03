"""Screenshots of alerted mentions, taken by a real headless Chromium after real scans of local pages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.relay import deliver
from crawler import screenshots
from crawler.browser import png_size
from crawler.cli import main
from crawler.config import Config
from crawler.demo.server import LocalSite, Request, Response, serve
from crawler.errors import ConfigError
from crawler.queries import mentions_since, verify_archive
from crawler.scan import run_scan
from crawler.storage import Mention, Outbox, Revision, open_database
from support.evidence import PNG_MAGIC, copy_scan, needs_chromium
from support.scanning import demo_sources, make_config
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(180)
ALERTED = ("urgent", "high", "normal")  # the default routes: low waits for the digest
WORRYING = ("<html><head><title>Gate worry</title></head><body><p>Bentilee Nursery School left a toddler alone "
            "outside the gates again. A safeguarding disgrace, somebody should call the police.</p></body></html>")


@pytest.fixture
def copied(tmp_path: Path, screenshotted_demo: Path, demo_site: LocalSite) -> Callable[..., Config]:
    copy_scan(screenshotted_demo, tmp_path)

    def build(**settings: Any) -> Config:
        return make_config(tmp_path, demo_sources(demo_site.base_url), settings=settings)
    return build


def test_each_alerted_mention_gets_a_full_page_png_recorded_and_hashed(screenshotted_demo: Path,
                                                                       demo_site: LocalSite) -> None:
    config = make_config(screenshotted_demo, demo_sources(demo_site.base_url), settings={"evidence": {}})
    summary = json.loads((screenshotted_demo / "scan.json").read_text("utf-8"))
    records = mentions_since(config)
    alerted = [r for r in records if r["severity"] in ALERTED]
    assert len(alerted) >= 4 and len(records) > len(alerted)
    shots = summary["screenshots"]
    assert shots["wanted"] == shots["taken"] == len(alerted) and shots["failed"] == [] and shots["off"] is None
    assert all(0 < seconds < 30 for seconds in shots["seconds"])

    for record in records:
        evidence = record["evidence"]
        if record["severity"] not in ALERTED:
            assert "screenshot" not in evidence  # low: the digest only, no picture
            continue
        png = Path(evidence["screenshot"])
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert hashlib.sha256(data).hexdigest() == evidence["screenshot_sha256"] == png.name.removesuffix(".png")
        width, height = png_size(png)
        assert width == 1280 and height >= 600  # the whole page, not a thumbnail

    # The alert events still waiting to go carry the screenshot, so the email attaches it.
    with open_database(config.storage.database)() as session:
        payloads = {e.mention_id: e.payload for e in session.scalars(select(Outbox).where(Outbox.kind == "mention.new"))}
    for record in alerted:
        assert payloads[record["id"]]["evidence"]["screenshot"] == record["evidence"]["screenshot"]

    checked, bad = verify_archive(config)
    assert bad == [] and checked == 3 * len(records) + len(alerted)


def test_the_alert_email_attaches_the_screenshot_byte_for_byte(copied: Callable[..., Config], smtp: LocalSMTP) -> None:
    config = copied(alerts={"email": smtp.settings(), "routes": {"normal": ["email"]}, "rollup_after": 20})
    alerted = [r for r in mentions_since(config) if r["severity"] in ALERTED]
    assert deliver(config).sent["email"] == len(alerted)
    messages = {m["X-Schoolwatch-Case"]: m for m in smtp.wait_for(len(alerted))}
    for record in alerted:
        attachments = {p.get_filename(): p for p in messages[str(record["id"])].iter_attachments()}
        picture = attachments[f"case-{record['id']}-screenshot.png"]
        assert picture.get_content_type() == "image/png"
        assert picture.get_payload(decode=True) == Path(record["evidence"]["screenshot"]).read_bytes()


def test_without_chromium_a_scan_works_and_says_once_that_screenshots_are_off(
        tmp_path: Path, demo_site: LocalSite, capsys: pytest.CaptureFixture[str]) -> None:
    sources = [s for s in demo_sources(demo_site.base_url) if s["name"] == "reviews"]  # one urgent mention
    config = make_config(tmp_path, sources, settings={"evidence": {"chromium": str(tmp_path / "no-chromium")}})
    assert main(["scan", "--config", str(config.path)]) == 0
    out, err = capsys.readouterr()
    said = (out + err).count("Screenshots are off")
    assert said == 1, out + err
    assert f"no Chromium found at {tmp_path / 'no-chromium'}" in out and "install Debian's `chromium`" in out
    [record] = mentions_since(config)
    assert record["severity"] == "urgent" and "screenshot" not in record["evidence"]
    assert Path(record["evidence"]["warc"]).exists()  # the rest of the evidence is there
    with open_database(config.storage.database)() as session:
        note = session.scalar(select(Revision.screenshot_note))
    assert note.startswith("no screenshot: no Chromium found at")

    # Off on purpose: nothing is said; the scan's JSON still says why.
    config = make_config(tmp_path / "off", sources, settings={"evidence": {"chromium": "off"}})
    assert main(["scan", "--config", str(config.path)]) == 0
    out, err = capsys.readouterr()
    assert "Screenshots are off" not in out + err
    assert main(["scan", "--config", str(config.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["screenshots"]["off"] == "evidence.chromium is off in the config"


def test_auto_without_a_browser_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenshots, "find_chromium", lambda setting: None)
    config = make_config(tmp_path, [], settings={"evidence": {}})
    chromium, reason, on_purpose = screenshots.browser_for(config)
    assert chromium is None and not on_purpose
    assert reason is not None and "no Chromium found" in reason and "make system-deps" in reason
    off = make_config(tmp_path, [], settings={"evidence": {"screenshots": False}})
    assert screenshots.browser_for(off)[1:] == ("evidence.screenshots is false in the config", True)


def test_evidence_and_retention_settings_are_checked(tmp_path: Path) -> None:
    config = make_config(tmp_path, [], settings={"evidence": {}})
    assert (config.evidence.screenshots, config.evidence.chromium, config.retention.mentions_days,
            config.retention.incidents_days) == (True, "auto", 365, 2555)
    with pytest.raises(ConfigError) as caught:
        make_config(tmp_path, [], settings={"evidence": {"chromium": " ", "timeout": 1},
                                            "retention": {"mentions_days": 0, "keep": 3}})
    problems = "\n".join(caught.value.problems)
    assert "evidence.chromium: say auto, off, or the path" in problems
    assert "evidence.timeout" in problems and "retention.mentions_days" in problems
    assert "retention.keep: is not a known key" in problems


@needs_chromium
def test_a_removed_page_is_photographed_with_its_status_and_a_refused_one_leaves_a_note(tmp_path: Path) -> None:
    asked: dict[str, int] = {}

    def first_then(later: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            asked[request.route] = asked.get(request.route, 0) + 1
            if asked[request.route] == 1:  # the crawl: the post is there
                return Response(200, {"Content-Type": "text/html; charset=utf-8"}, WORRYING.encode("utf-8"))
            return later(request)  # the browser, a moment later
        return handler

    with serve() as site, serve() as elsewhere:
        site.route("/removed.html", first_then(lambda _: Response(404, {"Content-Type": "text/html"},
                                                                  b"<h1>This post has been removed</h1>")))
        site.route("/moved.html", first_then(lambda _: Response(302, {"Location": elsewhere.url("/x.html")}, b"")))
        sources = [{"name": "removed", "kind": "page", "url": site.url("/removed.html"), "allow_private": True},
                   {"name": "moved", "kind": "page", "url": site.url("/moved.html"), "allow_private": True}]
        config = make_config(tmp_path, sources, settings={"evidence": {"timeout": 20}})
        summary = run_scan(config)

    assert summary.status == "finished" and summary.mentions_new == 2
    shots = summary.screenshots
    assert shots is not None and (shots.wanted, shots.taken) == (2, 1)
    assert [f["url"] for f in shots.failed] == [site.url("/moved.html")]
    assert "redirected to" in shots.failed[0]["reason"]
    with open_database(config.storage.database)() as session:
        notes = {url: (path, note) for url, path, note in session.execute(
            select(Mention.url, Revision.screenshot_path, Revision.screenshot_note).join(Revision.mention))}
    path, note = notes[site.url("/removed.html")]
    assert path and note.startswith("the page answered HTTP 404 when it was photographed")
    path, note = notes[site.url("/moved.html")]
    assert path is None and note.startswith("no screenshot: ") and "redirected to" in note
    assert verify_archive(config)[1] == []


@needs_chromium
def test_max_per_scan_keeps_the_most_serious_and_notes_the_rest(tmp_path: Path, demo_site: LocalSite) -> None:
    sources = [s for s in demo_sources(demo_site.base_url) if s["name"] in ("local-news", "reviews")]
    config = make_config(tmp_path, sources, settings={"evidence": {"max_per_scan": 1}})
    summary = run_scan(config)
    shots = summary.screenshots
    assert shots is not None and shots.wanted >= 3 and (shots.taken, shots.over_cap) == (1, shots.wanted - 1)
    taken = {r["severity"] for r in mentions_since(config) if r["evidence"].get("screenshot")}
    assert taken == {"urgent"}  # the review page: the most serious of this scan
    with open_database(config.storage.database)() as session:
        notes = [n for n in session.scalars(select(Revision.screenshot_note)) if n]
    assert notes.count("no screenshot: more alerted mentions in one scan than evidence.max_per_scan (1)") \
        == shots.wanted - 1
