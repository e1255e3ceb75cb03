"""Retention: old mentions go with their evidence, database and archive together; open and escalated cases stay."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from alerts.cases import act, list_cases
from alerts.incident import write_incident
from alerts.relay import deliver
from crawler.cli import main
from crawler.config import Config
from crawler.demo.server import LocalSite
from crawler.purge import purge
from crawler.queries import mentions_since, recorded_evidence, verify_archive
from crawler.scan import run_scan
from crawler.storage import CaseEvent, Delivery, IncidentRecord, Mention, Outbox, Revision, open_database, utcnow
from support.evidence import copy_scan
from support.scanning import demo_sources, make_config, stored_counts

pytestmark = pytest.mark.timeout(180)
LONG_AGO = 1_000_000_000  # 2001: older than any grace period


@pytest.fixture
def copied(tmp_path: Path, screenshotted_demo: Path, demo_site: LocalSite) -> Callable[..., Config]:
    copy_scan(screenshotted_demo, tmp_path)

    def build(**settings: Any) -> Config:
        return make_config(tmp_path, demo_sources(demo_site.base_url), settings={"evidence": {}, **settings})
    return build


def files_of(config: Config, mention_id: int) -> set[str]:
    with open_database(config.storage.database)() as session:
        names: set[str] = set()
        for revision in session.scalars(select(Revision).where(Revision.mention_id == mention_id)):
            names.update(n for n in (revision.raw_path, revision.text_path, revision.warc_path,
                                     revision.screenshot_path) if n)
        names.update(session.scalars(select(IncidentRecord.path).where(IncidentRecord.mention_id == mention_id)))
    return names


def mention_ids(config: Config) -> set[int]:
    with open_database(config.storage.database)() as session:
        return set(session.scalars(select(Mention.id)))


def test_old_mentions_go_with_their_files_and_open_urgent_and_escalated_cases_stay(
        copied: Callable[..., Config], tmp_path: Path) -> None:
    config = copied(alerts={"rollup_after": 20})
    deliver(config)  # opens a case for every alerted mention; each alert is one .eml in the mailbox
    records = {r["id"]: r for r in mentions_since(config)}
    low = sorted(i for i, r in records.items() if r["severity"] == "low")
    cases = {c["id"]: c for c in list_cases(config)}
    closing = next(i for i, c in cases.items() if c["severity"] == "high")
    urgent = next(i for i, c in cases.items() if c["severity"] == "urgent")
    escalated = next(i for i, c in cases.items() if c["severity"] == "normal")
    still_open = sorted(set(cases) - {closing, urgent, escalated})
    assert low and still_open
    for case_id in (closing, urgent, escalated):
        act(config, case_id, "close", "Ms Ada Okafor", "dealt with")
    pdf = write_incident(config, closing, pdf=tmp_path / "closing.pdf")  # a printed record goes with its case
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        session.add(CaseEvent(case_id=escalated, action="escalated", note="reported to the police"))
        # A later capture of an open case shares the closing case's raw bytes (content-addressed).
        mine = session.scalars(select(Revision).where(Revision.mention_id == still_open[0])).first()
        theirs = session.scalars(select(Revision).where(Revision.mention_id == closing)).first()
        shared = theirs.raw_path
        session.add(Revision(mention_id=still_open[0], captured_at=mine.captured_at, title=mine.title,
                             snippet=mine.snippet, text_sha256=mine.text_sha256, raw_sha256=theirs.raw_sha256,
                             warc_sha256=mine.warc_sha256, raw_path=shared, text_path=mine.text_path,
                             warc_path=mine.warc_path))
        eml = {d.event.mention_id: d.receipt["file"] for d in session.scalars(select(Delivery)).unique()}
    archive = config.storage.archive
    orphan = archive / "ab" / ("ab" + "0" * 62 + ".raw")  # a file a crash left without its row
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left behind")
    not_ours = archive / "README.txt"
    not_ours.write_text("someone's note", encoding="utf-8")
    for path in [orphan, *archive.rglob("*")]:
        if path.is_file():
            os.utime(path, (LONG_AGO, LONG_AGO))
    low_files = {i: files_of(config, i) for i in low}
    closing_files = files_of(config, closing)
    assert pdf.archived is not None and pdf.archived.relative_to(archive).as_posix() in closing_files
    before = stored_counts(config)

    # A year on: the dry run lists the mentions that never became cases, and changes nothing.
    year = utcnow() + timedelta(days=400)
    dry = purge(config, dry_run=True, now=year)
    assert [m.mention_id for m in dry.mentions] == low
    assert all("no case; last seen" in m.reason for m in dry.mentions)
    assert {k["id"] for k in dry.kept} == set(cases) - {closing}  # closed, but only just
    assert stored_counts(config) == before and all((archive / n).exists() for f in low_files.values() for n in f)
    assert dry.orphans == [orphan.relative_to(archive).as_posix()] and orphan.exists()

    done = purge(config, now=year)
    assert [m.mention_id for m in done.mentions] == low
    assert mention_ids(config) == set(records) - set(low)
    for mention_id, names in low_files.items():
        assert not any((archive / name).exists() for name in names), mention_id
    assert not orphan.exists() and not_ours.exists()
    after = stored_counts(config)
    assert after["mentions_without_revision"] == 0 and after["revisions_without_outbox"] == 0
    assert verify_archive(config)[1] == []  # every file a row names is still there
    logged = [json.loads(line) for line in Path(done.log or "").read_text("utf-8").splitlines()]
    assert [entry["id"] for entry in logged if entry["removed"] == "mention"] == low
    assert all(entry["files"] for entry in logged if entry["removed"] == "mention")

    # Seven years and more: the closed case goes; open, urgent and escalated ones stay.
    later = utcnow() + timedelta(days=2600)
    done = purge(config, now=later)
    assert [m.mention_id for m in done.mentions] == [closing]
    assert "case closed" in done.mentions[0].reason
    kept = {k["id"]: k["reason"] for k in done.kept}
    assert "urgent" in kept[urgent] and "escalated" in kept[escalated]
    assert all("is open" in kept[i] for i in still_open)
    assert mention_ids(config) == set(cases) - {closing}
    assert shared in done.shared and (archive / shared).exists()  # another capture still names it
    assert not any((archive / name).exists() for name in closing_files - {shared})
    assert not Path(eml[closing]).exists() and Path(eml[urgent]).exists()
    assert all((archive / name).exists() for i in (urgent, escalated, *still_open) for name in files_of(config, i))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Outbox).where(Outbox.mention_id == closing)) == 0
        assert session.scalar(select(func.count()).select_from(IncidentRecord)) == 0
    named = {path for path, _ in recorded_evidence(sessions())}
    on_disk = {p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file()} - {"README.txt"}
    assert on_disk == named  # the archive and the database agree exactly
    assert verify_archive(config)[1] == []


def test_purge_cli_dry_run_lists_then_purge_removes_and_logs(tmp_path: Path, demo_site: LocalSite,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    sources = [s for s in demo_sources(demo_site.base_url) if s["name"] in ("local-news", "reviews")]
    config = make_config(tmp_path, sources, settings={"retention": {"mentions_days": 30}})
    assert run_scan(config).status == "finished"
    old = next(r for r in mentions_since(config) if r["severity"] == "low")
    files = files_of(config, old["id"])
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        session.execute(update(Mention).where(Mention.id == old["id"]).values(
            last_seen=utcnow() - timedelta(days=45)))
    for name in files:
        os.utime(config.storage.archive / name, (LONG_AGO, LONG_AGO))

    # Its alert has not been routed yet: it stays, whatever its age.
    assert main(["purge", "--dry-run", "--config", str(config.path)]) == 0
    out = capsys.readouterr().out
    assert "Nothing would be removed." in out and f"[{old['id']}]" in out and "not been sent yet" in out

    deliver(config)
    assert main(["purge", "--dry-run", "--config", str(config.path)]) == 0
    out = capsys.readouterr().out
    assert "Would remove 1 mention(s)" in out and f"[{old['id']}] local-news {old['url']}" in out
    assert "more than 30 days ago (retention.mentions_days)" in out
    assert old["id"] in mention_ids(config)

    assert main(["purge", "--json", "--config", str(config.path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in result["mentions"]] == [old["id"]] and sorted(result["files"]) == sorted(files)
    assert old["id"] not in mention_ids(config)
    assert not any((config.storage.archive / name).exists() for name in files)
    log = (tmp_path / "logs" / "purge.log").read_text("utf-8")
    assert f'"id": {old["id"]}' in log and old["url"] in log
    assert main(["verify", "--config", str(config.path)]) == 0
