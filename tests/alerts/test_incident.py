"""The Online Incident Record: a real PDF printed by Chromium, read back with poppler."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.incident import incident_data
from alerts.relay import deliver
from crawler.browser import png_size
from crawler.cli import main
from crawler.config import Config
from crawler.demo.server import LocalSite
from crawler.queries import mentions_since
from crawler.scan import run_scan
from crawler.storage import IncidentRecord, Revision, open_database
from support.evidence import copy_scan, flip_byte, needs_chromium, needs_poppler, pdf_images, pdf_info, pdf_text
from support.scanning import demo_sources, make_config

pytestmark = [pytest.mark.timeout(180), needs_chromium, needs_poppler]


@pytest.fixture
def evidence_config(tmp_path: Path, screenshotted_demo: Path, demo_site: LocalSite) -> Callable[..., Config]:
    """A config over a private copy of the scan with screenshots."""
    copy_scan(screenshotted_demo, tmp_path)

    def build(**settings: Any) -> Config:
        return make_config(tmp_path, demo_sources(demo_site.base_url), settings={"evidence": {}, **settings})
    return build


def reading(text: str) -> str:
    """The PDF's words in order, without the page footers that interrupt text running across pages."""
    text = re.sub(r"Online Incident Record \d+\s+page \d+ of \d+", " ", text)
    return " ".join(text.split())


def cli(config: Config, *args: str) -> int:
    return main([*args, "--config", str(config.path)])


def test_the_record_of_a_case_prints_everything_on_a4_with_the_screenshot_inside(
        evidence_config: Callable[..., Config], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = evidence_config()
    deliver(config)  # opens the cases (the mailbox stands in for email)
    urgent = next(r for r in mentions_since(config) if r["severity"] == "urgent" and r["source"] == "parents-forum")
    case = str(urgent["id"])
    assert cli(config, "ack", case, "--by", "Ms Ada Okafor") == 0
    assert cli(config, "respond", case, "--by", "Mr Sam Reid", "--note", "Rang the DSL; reported to the LADO") == 0
    assert cli(config, "close", case, "--by", "Ms Ada Okafor", "--note", "Child safe; parent spoken to") == 0
    capsys.readouterr()

    pdf, html = tmp_path / "out" / f"incident-{case}.pdf", tmp_path / "out" / f"incident-{case}.html"
    assert cli(config, "incident", case, "--out", str(pdf), "--html", str(html), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pdf"] == str(pdf) and result["html"] == str(html)

    assert pdf_info(pdf)["Page size"].startswith("595") and "A4" in pdf_info(pdf)["Page size"]
    text = pdf_text(pdf)
    flat = reading(text)
    assert "Online Incident Record" in text and "Bentilee Nursery School" in text
    assert f"record number {case}" in flat
    assert urgent["url"] in flat
    captured = Path(urgent["evidence"]["text"]).read_text("utf-8")
    for line in (line.strip() for line in captured.splitlines()[:12]):
        if line:
            assert " ".join(line.split()) in flat, line  # the text as captured, line by line
    assert "safeguarding" in flat and "URGENT" in flat and "'left alone'" in flat  # concerns and why
    assert re.search(r"First seen \w{3} \d\d \w{3} 20\d\d, \d\d:\d\d GMT \(\d\d:\d\d UTC\)", flat)  # local and UTC
    with open_database(config.storage.database)() as session:
        revision = session.scalars(select(Revision).where(Revision.mention_id == urgent["id"])).one()
        hashes = [revision.raw_sha256, revision.text_sha256, revision.warc_sha256, revision.screenshot_sha256]
    for digest in hashes:
        assert digest and f"SHA-256 {digest}" in flat
    assert flat.count("matches") >= 4
    for who, what in (("Ms Ada Okafor", "acknowledged"), ("Mr Sam Reid", "responded"), ("Ms Ada Okafor", "closed")):
        assert re.search(rf"{what} {who}", flat), (who, what)
    assert "Rang the DSL; reported to the LADO" in flat and "Child safe; parent spoken to" in flat
    assert "alerted schoolwatch by mailbox" in flat
    for blank in ("To be completed by the Senior Leadership Team", "Action taken", "Outcome", "Follow-up",
                  "Signed", "Name", "Role", "Date"):
        assert blank in text

    # The screenshot is inside the PDF, at its own size.
    width, height = png_size(Path(urgent["evidence"]["screenshot"]))
    images = pdf_images(pdf)
    assert any((row["width"], row["height"]) == (str(width), str(height)) for row in images), images

    # The PDF is kept in the archive, hashed; the copy is the same bytes.
    with open_database(config.storage.database)() as session:
        [row] = session.scalars(select(IncidentRecord)).all()
    archived = config.storage.archive / row.path
    assert archived.read_bytes() == pdf.read_bytes()
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == row.sha256 == result["sha256"]
    assert row.mention_id == urgent["id"]

    # The HTML stands alone (the picture inside) and has no script of any kind.
    page = html.read_text("utf-8")
    assert "data:image/png;base64," in page
    assert not re.search(r"<script|javascript:|\son\w+\s*=", page, re.IGNORECASE)
    assert "Rang the DSL; reported to the LADO" in page

    # A second printing is another file, recorded too, and says which printing it is.
    assert cli(config, "incident", case, "--out", str(tmp_path / "again.pdf")) == 0
    assert "printing 2" in pdf_text(tmp_path / "again.pdf")


def test_verify_finds_a_flipped_byte_in_a_screenshot_and_in_a_printed_record(
        evidence_config: Callable[..., Config], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = evidence_config()
    alerted = next(r for r in mentions_since(config) if r["evidence"].get("screenshot"))
    assert cli(config, "incident", str(alerted["id"]), "--out", str(tmp_path / "record.pdf")) == 0
    assert cli(config, "verify", "--json") == 0
    before = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert before["problems"] == []
    with open_database(config.storage.database)() as session:
        record = session.scalars(select(IncidentRecord)).one()
    screenshot = Path(alerted["evidence"]["screenshot"])
    assert screenshot.is_relative_to(config.storage.archive)  # the test's own copy
    flip_byte(screenshot)
    flip_byte(config.storage.archive / record.path)

    assert cli(config, "verify", "--json") == 1
    after = json.loads(capsys.readouterr().out)
    assert after["checked"] == before["checked"]
    assert {p["path"]: p["problem"].split(" ")[0] for p in after["problems"]} == {
        screenshot.relative_to(config.storage.archive).as_posix(): "changed", record.path: "changed"}
    assert cli(config, "verify") == 1
    out = capsys.readouterr().out
    assert "2 of" in out and record.path in out


def test_a_mention_without_a_case_gets_a_record_and_html_needs_no_chromium(
        evidence_config: Callable[..., Config], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = evidence_config(evidence={"chromium": str(tmp_path / "no-chromium")})
    low = next(r for r in mentions_since(config) if r["severity"] == "low")
    html = tmp_path / "low.html"
    assert cli(config, "incident", str(low["id"]), "--html", str(html)) == 0
    page = html.read_text("utf-8")
    assert "No case: this mention was not alerted" in page and "No screenshot was taken" in page
    assert low["url"] in page and "<script" not in page.lower()

    pdf = tmp_path / "low.pdf"
    assert cli(config, "incident", str(low["id"]), "--out", str(pdf), "--html", str(tmp_path / "b.html")) == 1
    err = capsys.readouterr().err
    assert "printing the record to PDF needs Chromium" in err and "--html FILE.html" in err
    assert not pdf.exists() and not (tmp_path / "b.html").exists()  # nothing half done

    assert cli(config, "incident", "999999", "--html", str(tmp_path / "none.html")) == 1
    assert "there is no mention or case 999999" in capsys.readouterr().err


def test_a_hostile_post_prints_as_harmless_text(tmp_path: Path, hostile_site: LocalSite) -> None:
    sources = [{"name": "hostile", "kind": "feed", "url": hostile_site.url("/feed-with-hostile-entry.rss"),
                "allow_private": True}]
    config = make_config(tmp_path, sources, settings={"evidence": {"screenshots": False}})
    assert run_scan(config).mentions_new >= 1
    record = next(r for r in mentions_since(config) if "hostile-entry" in r["url"])
    html, pdf = tmp_path / "hostile.html", tmp_path / "hostile.pdf"
    assert cli(config, "incident", str(record["id"]), "--html", str(html), "--out", str(pdf)) == 0

    page = html.read_text("utf-8")
    assert not re.search(r"<script", page, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page and "&lt;!channel&gt;" in page  # shown, never evaluated
    assert "document.title" not in page  # the page's own script is not part of the text
    text = reading(pdf_text(pdf))
    assert "<script>alert(1)</script>" in text and "{{ 7*7 }}" in text
    assert "executed" not in text


def test_the_record_data_is_plain_values(evidence_config: Callable[..., Config]) -> None:
    config = evidence_config()
    mention = next(r for r in mentions_since(config) if r["evidence"].get("screenshot"))
    data = incident_data(config, mention["id"])
    assert data["case"] is None and data["history"] == []  # not yet delivered: no case opened
    assert data["screenshot"]["exists"] and data["screenshot"]["sha256"] == mention["evidence"]["screenshot_sha256"]
    assert [f["kind"] for f in data["revisions"][0]["files"]] == ["raw", "text", "warc", "screenshot"]
    assert all(f["state"] == "matches" for f in data["revisions"][0]["files"])


def test_who_posted_is_kept_when_the_source_shows_it(evidence_config: Callable[..., Config], tmp_path: Path) -> None:
    config = evidence_config()
    records = mentions_since(config)
    by_feed = [r for r in records if r["source"] == "local-news"]
    assert by_feed and all(r["author"] for r in by_feed)  # the feed names each article's writer
    assert all(r["author"] is None for r in records if r["source"] == "parents-forum")
    record = by_feed[0]
    html = tmp_path / "record.html"
    assert cli(config, "incident", str(record["id"]), "--html", str(html)) == 0
    assert f"<th>Who posted</th><td>{record['author']}</td>" in html.read_text("utf-8")
