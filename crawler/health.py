"""A source's health: working or failing, with one outbox event per change of state, never one per scan.

The scan's store step records each source's outcome here; so does :mod:`crawler.scan` for a
source whose crawl never finished (the scan hung past its time limit, or the crawl process
died), so a source that always hangs is reported like one that always answers 500.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.storage import Outbox, Source


def source_row(session: Session, name: str, kind: str, url: str) -> Source:
    """The source's row, made on its first scan."""
    source = session.scalar(select(Source).where(Source.name == name))
    if source is None:
        source = Source(name=name, kind=kind, url=url, failures=0)
        session.add(source)
    source.kind, source.url = kind, url
    session.flush()
    return source


def record_failure(session: Session, source: Source, reason: str, now: datetime) -> None:
    """A failed scan: the first of a run of failures writes a ``source.failing`` event."""
    source.last_scan_at = now
    if not source.failures:
        source.error_since = now
        session.add(Outbox(kind="source.failing", idempotency_key=f"source.failing:{source.id}:{now.isoformat()}",
                           payload={"source": source.name, "url": source.url, "reason": reason}))
    source.failures = (source.failures or 0) + 1
    source.last_error = reason


def record_success(session: Session, source: Source, now: datetime) -> None:
    """A scan that worked: after failures, one ``source.recovered`` event."""
    source.last_scan_at = now
    if source.failures:
        session.add(Outbox(kind="source.recovered", idempotency_key=f"source.recovered:{source.id}:{now.isoformat()}",
                           payload={"source": source.name, "url": source.url,
                                    "failed_since": source.error_since.isoformat() if source.error_since else None}))
    source.failures, source.last_error, source.error_since, source.last_ok_at = 0, None, None, now
