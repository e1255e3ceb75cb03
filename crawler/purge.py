"""Retention: delete what the school no longer needs to keep, database and archive together.

Data protection says personal data is kept no longer than needed. ``schoolwatch purge``
applies ``retention`` (defaults: ``mentions_days: 365``, ``incidents_days: 2555``):

* a mention that never became a case (low severity: digest only) goes when it was last seen
  more than ``mentions_days`` ago;
* a mention whose case is **closed** goes when the later of its closing and its last sighting
  is more than ``incidents_days`` ago (2555 days: seven years, as schools keep incident records);
* never the evidence of a case that is **open** (open, acknowledged or responded) or that was
  **escalated**: its history has an ``escalated`` event (the post got worse after it was alerted),
  or its severity is ``urgent`` (threat, safeguarding, extremism: escalated to the Designated
  Safeguarding Lead by the policy itself, and kept under safeguarding retention rules that
  outlast these limits, so a person deletes them, not schoolwatch);
* never a mention whose alert has not gone out yet.

A mention goes with everything that describes it: its revisions, case and case history,
outbox events and their deliveries (and the mailbox ``.eml`` files of those deliveries),
printed incident records, and its evidence files (raw bytes, text, WARC, screenshot, PDFs).
Crawl bookkeeping stays: the ``documents`` row of a page (its address and validators, no
content) keeps a page unchanged since from being fetched and alerted again as "new".
Sent or failed notices older than ``mentions_days`` (digests, source health, delivery trouble)
go too: a digest's payload quotes the mentions it lists.

Order, so the database and the archive never disagree: rows are deleted first, in one
transaction; then each file that no remaining row names is deleted. Evidence files are
content-addressed, so two revisions may share one: such a file stays while anything names it.
A file touched in the last hour stays too, since a scan running now may be about to name it
(``crawler.evidence`` renews the time of a file it reuses). Last, files in the archive that no
row names (left by a crash between writing a file and committing its row) are swept, by the
same rule. Every removal is logged to ``<data>/logs/purge.log``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from crawler.config import Config
from crawler.storage import (
    Case, CaseEvent, Delivery, IncidentRecord, Mention, Outbox, Revision, open_database, utcnow,
)

GRACE = timedelta(hours=1)  # a file touched this recently may be about to be named by a scan's row
OPEN_STATUSES = ("open", "acknowledged", "responded")
EVIDENCE_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.(raw|txt|warc\.gz|png|pdf)$")
LEFTOVER_NAME = re.compile(r"^(\..+\.tmp|\.screenshot-[0-9a-f]{32}\.png(\.part)?|\.incident-[0-9a-f]{32}\.pdf(\.part)?)$")


@dataclass
class Purged:
    """One mention that goes (or would go, in a dry run), and why."""

    mention_id: int
    url: str
    source: str
    last_seen: datetime
    case: str | None  # the case's status, None without a case
    reason: str
    files: list[str] = field(default_factory=list)  # evidence files that go with it (not shared)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.mention_id, "url": self.url, "source": self.source, "last_seen": self.last_seen.isoformat(),
                "case": self.case, "reason": self.reason, "files": self.files}


@dataclass
class PurgeReport:
    dry_run: bool
    mentions: list[Purged] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)  # old enough, but kept: {id, url, reason}
    notices: int = 0  # old outbox notices (digests, source health) without a mention
    files: list[str] = field(default_factory=list)  # evidence files removed (or to be)
    shared: list[str] = field(default_factory=list)  # files of purged mentions kept because others name them
    orphans: list[str] = field(default_factory=list)  # archive files no row names, swept
    mailbox: list[str] = field(default_factory=list)  # .eml copies of alerts about purged mentions
    log: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "mentions": [m.as_json() for m in self.mentions], "kept": self.kept,
                "notices": self.notices, "files": self.files, "shared": self.shared, "orphans": self.orphans,
                "mailbox": self.mailbox, "log": self.log}


def escalated(case: Case) -> str | None:
    """Why a case counts as escalated (never purged), or None."""
    if any(event.action == "escalated" for event in case.history):
        return "its case was escalated (the post became more serious after it was alerted)"
    if case.severity == "urgent":
        return "its case is urgent (threat, safeguarding or extremism: kept under safeguarding rules)"
    return None


def _decide(session: Session, mention: Mention, case: Case | None, now: datetime, config: Config) -> tuple[bool, str]:
    """(goes, why) for one mention."""
    retention = config.retention
    if case is None:
        pending = session.scalar(select(Outbox.id).outerjoin(Delivery, Delivery.outbox_id == Outbox.id).where(
            Outbox.mention_id == mention.id, or_(Outbox.status == "pending", Delivery.status == "pending")).limit(1))
        if pending is not None:
            return False, "its alert has not been sent yet"
        if mention.last_seen < now - timedelta(days=retention.mentions_days):
            return True, (f"no case; last seen {mention.last_seen:%Y-%m-%d}, more than "
                          f"{retention.mentions_days} days ago (retention.mentions_days)")
        return False, "seen recently"
    if case.status in OPEN_STATUSES:
        return False, f"its case is {case.status}, not closed"
    why = escalated(case)
    if why:
        return False, why
    ended = max(case.closed_at or mention.last_seen, mention.last_seen)
    if ended < now - timedelta(days=retention.incidents_days):
        return True, (f"case closed {case.closed_at:%Y-%m-%d} and not escalated; more than "
                      f"{retention.incidents_days} days ago (retention.incidents_days)"
                      if case.closed_at else f"case closed and not escalated; more than "
                      f"{retention.incidents_days} days ago (retention.incidents_days)")
    return False, "its case closed recently"


def _named(session: Session, ids: list[int] | None = None, *, only: bool = True) -> set[str]:
    """Archive files rows name: every row's, or only (``only``) or all but (not ``only``) these mentions'."""
    revisions = select(Revision.raw_path, Revision.text_path, Revision.warc_path, Revision.screenshot_path)
    records = select(IncidentRecord.path)
    if ids is not None:
        revisions = revisions.where(Revision.mention_id.in_(ids) if only else Revision.mention_id.not_in(ids))
        records = records.where(IncidentRecord.mention_id.in_(ids) if only else IncidentRecord.mention_id.not_in(ids))
    names: set[str] = set()
    for row in session.execute(revisions):
        names.update(name for name in row if name)
    names.update(session.scalars(records))
    return names


def purge(config: Config, dry_run: bool = False, now: datetime | None = None) -> PurgeReport:
    """Apply ``retention``; with ``dry_run``, only say what would go."""
    now = now or utcnow()
    report = PurgeReport(dry_run=dry_run)
    archive = config.storage.archive
    retention = config.retention
    latest = now - timedelta(days=min(retention.mentions_days, retention.incidents_days))
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        candidates = session.scalars(select(Mention).where(Mention.last_seen < latest).order_by(Mention.id)).unique().all()
        going: list[Purged] = []
        for mention in candidates:
            case = session.get(Case, mention.id)
            goes, why = _decide(session, mention, case, now, config)
            if goes:
                going.append(Purged(mention.id, mention.url, mention.source.name, mention.last_seen,
                                    case.status if case else None, why))
            elif why != "seen recently" and not why.endswith("closed recently"):
                report.kept.append({"id": mention.id, "url": mention.url, "reason": why})
        ids = [item.mention_id for item in going]
        theirs = {item.mention_id: _named(session, [item.mention_id]) for item in going}
        others = _named(session, ids, only=False) if ids else _named(session)
        for item in going:
            item.files = sorted(theirs[item.mention_id] - others)
        report.mentions = going
        report.files = sorted({name for item in going for name in item.files})
        report.shared = sorted({name for names in theirs.values() for name in names} & others)
        notice_ids = _old_notices(session, now - timedelta(days=retention.mentions_days))
        report.notices = len(notice_ids)
        if not dry_run and (ids or notice_ids):
            report.mailbox = _delete_rows(session, ids, notice_ids, config.storage.mailbox)
    if dry_run:
        report.orphans = sorted(_orphans(archive, _named_now(config), now))
        return report
    # The rows are gone (committed): now the files no row names any more.
    named = _named_now(config)
    removed = []
    for name in report.files:
        if name not in named and _remove(archive / name, now):
            removed.append(name)
    report.files = removed
    for name in report.mailbox:
        Path(name).unlink(missing_ok=True)
    report.orphans = [name for name in sorted(_orphans(archive, named, now)) if _remove(archive / name, now)]
    report.log = _write_log(config, report, now)
    return report


def _named_now(config: Config) -> set[str]:
    with open_database(config.storage.database)() as session:
        return _named(session)


def _old_notices(session: Session, before: datetime) -> list[int]:
    """Outbox events about no mention (digests, source health), done with and older than ``before``."""
    old = session.scalars(select(Outbox.id).where(Outbox.mention_id.is_(None), Outbox.created_at < before,
                                                  Outbox.status != "pending")).all()
    waiting = set(session.scalars(select(Delivery.outbox_id).where(Delivery.outbox_id.in_(old),
                                                                   Delivery.status == "pending")))
    return [event_id for event_id in old if event_id not in waiting]


def _delete_rows(session: Session, ids: list[int], notice_ids: list[int], mailbox: Path) -> list[str]:
    """Delete the rows (children first: foreign keys are on); return the mailbox files to remove."""
    events = list(session.scalars(select(Outbox.id).where(Outbox.mention_id.in_(ids)))) + list(notice_ids)
    deliveries = session.scalars(select(Delivery).where(Delivery.outbox_id.in_(events))).unique().all()
    gone = {d.id for d in deliveries}
    leaders_kept = {int(d.receipt["rolled_up_with"]) for d in session.scalars(
        select(Delivery).where(Delivery.outbox_id.not_in(events))).unique()
        if isinstance(d.receipt, dict) and d.receipt.get("rolled_up_with")}
    files = []
    root = mailbox.resolve()
    for delivery in deliveries:
        name = (delivery.receipt or {}).get("file") if isinstance(delivery.receipt, dict) else None
        if delivery.channel == "mailbox" and name and delivery.id not in leaders_kept:
            path = Path(name).resolve()
            if path.is_relative_to(root) and path.suffix == ".eml":  # only our own mailbox's files
                files.append(str(path))
    session.execute(delete(Delivery).where(Delivery.id.in_(gone)))
    session.execute(delete(Outbox).where(Outbox.id.in_(events)))
    session.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
    session.execute(delete(Case).where(Case.id.in_(ids)))
    session.execute(delete(IncidentRecord).where(IncidentRecord.mention_id.in_(ids)))
    session.execute(delete(Revision).where(Revision.mention_id.in_(ids)))
    session.execute(delete(Mention).where(Mention.id.in_(ids)))
    return files


def _remove(path: Path, now: datetime) -> bool:
    """Delete an archive file unless it was touched within GRACE (a scan may be about to name it)."""
    try:
        if now.timestamp() - path.stat().st_mtime < GRACE.total_seconds():
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def _orphans(archive: Path, named: set[str], now: datetime) -> list[str]:
    """Archive files that no row names (a crash between file and row), older than GRACE."""
    found = []
    if not archive.is_dir():
        return found
    limit = now.timestamp() - GRACE.total_seconds()
    for path in archive.rglob("*"):
        if not path.is_file():
            continue
        name = path.relative_to(archive).as_posix()
        if name in named or not (EVIDENCE_NAME.match(name) or LEFTOVER_NAME.match(path.name)):
            continue
        try:
            if path.stat().st_mtime < limit:
                found.append(name)
        except FileNotFoundError:
            continue
    return found


def _write_log(config: Config, report: PurgeReport, now: datetime) -> str | None:
    if not (report.mentions or report.files or report.orphans or report.notices):
        return None
    path = config.storage.archive.parent / "logs" / "purge.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(path, "a", encoding="utf-8") as handle:
        for item in report.mentions:
            handle.write(json.dumps({"at": stamp, "removed": "mention", "id": item.mention_id, "source": item.source,
                                     "url": item.url, "case": item.case, "reason": item.reason,
                                     "files": [f for f in item.files if f in report.files]}, ensure_ascii=False) + "\n")
        if report.notices:
            handle.write(json.dumps({"at": stamp, "removed": "notices", "count": report.notices}) + "\n")
        for name in report.mailbox:
            handle.write(json.dumps({"at": stamp, "removed": "mailbox file", "file": name}, ensure_ascii=False) + "\n")
        for name in report.orphans:
            handle.write(json.dumps({"at": stamp, "removed": "unreferenced file", "file": name}) + "\n")
    return str(path)
