"""Reading back what scans stored: mentions for people, hashes for ``verify``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from crawler.config import Config
from crawler.evidence import Tampered, verify
from crawler.records import mention_record
from crawler.storage import IncidentRecord, Mention, Revision, open_database


def mentions_since(config: Config, since: datetime | None = None) -> list[dict[str, Any]]:
    """Mentions new or edited since ``since`` (all when None), newest first."""
    sessions = open_database(config.storage.database)
    query = select(Mention).options(selectinload(Mention.revisions)).order_by(Mention.last_seen.desc(), Mention.id.desc())
    if since is not None:
        changed = select(Revision.mention_id).where(Revision.captured_at >= since)
        query = query.where(or_(Mention.first_seen >= since, Mention.id.in_(changed)))
    with sessions() as session:
        return [mention_record(m, config.storage.archive) for m in session.scalars(query).unique()]


def recorded_evidence(session: Session) -> list[tuple[str, str]]:
    """(relative path, SHA-256 recorded at capture) of every evidence file the database knows:
    each revision's raw bytes, text, WARC record and screenshot, and each printed incident record."""
    rows = session.execute(select(Revision.raw_path, Revision.raw_sha256, Revision.text_path, Revision.text_sha256,
                                  Revision.warc_path, Revision.warc_sha256, Revision.screenshot_path,
                                  Revision.screenshot_sha256)).all()
    expected = [(row[i], row[i + 1]) for row in rows for i in (0, 2, 4, 6) if row[i]]
    expected += [(path, digest) for path, digest in session.execute(select(IncidentRecord.path, IncidentRecord.sha256))]
    return expected


def verify_archive(config: Config) -> tuple[int, list[Tampered]]:
    """Every evidence file recorded in the database, re-hashed."""
    sessions = open_database(config.storage.database)
    with sessions() as session:
        expected = recorded_evidence(session)
    return verify(config.storage.archive, expected)
