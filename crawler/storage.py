"""The database: SQLAlchemy 2 models and how to open one.

SQLite (WAL) by default, any SQLAlchemy URL for a bigger deployment. The schema is owned
by Alembic (``crawler/migrations``); :func:`open_database` upgrades to the newest revision,
so an administrator never runs a migration by hand.

The ``outbox`` table is the only hand-over to ``alerts/``: a mention and its outbox rows
are written in the same transaction, so a mention is never stored without its alert, nor
alerted without being stored.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON, DateTime, ForeignKey, Integer, String, Text, TypeDecorator, UniqueConstraint,
    create_engine, event,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    """A configured source, and the health the scheduler and alerts report on."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(Text)
    last_scan_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_since: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed scans
    next_scan_at: Mapped[datetime | None]  # when the running service will scan it next (None: not scheduled)


class ScanRun(Base):
    __tablename__ = "scan_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|finished|failed
    trigger: Mapped[str] = mapped_column(String(20), default="manual")  # manual|schedule|demo
    sources: Mapped[list[Any]] = mapped_column(default=list)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    mentions_new: Mapped[int] = mapped_column(Integer, default=0)
    mentions_updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # [{source, url, reason}]
    warnings: Mapped[list[Any]] = mapped_column(default=list)  # parts of a source that failed


class Document(Base):
    """Every URL fetched, with its validators, so the next scan can ask 'changed since?'."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer, default=200)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    links: Mapped[list[Any]] = mapped_column(default=list)
    first_fetched: Mapped[datetime] = mapped_column(default=utcnow)
    last_fetched: Mapped[datetime] = mapped_column(default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    title: Mapped[str] = mapped_column(Text, default="")
    snippet: Mapped[str] = mapped_column(Text, default="")
    matched: Mapped[list[Any]] = mapped_column(default=list)
    published: Mapped[datetime | None]
    author: Mapped[str | None] = mapped_column(Text)  # who posted it, when the source shows that publicly
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    text_sha256: Mapped[str] = mapped_column(String(64))  # what dedupe compares
    tone: Mapped[str | None] = mapped_column(String(20))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    concerns: Mapped[list[Any]] = mapped_column(default=list)
    severity: Mapped[str | None] = mapped_column(String(20))
    why: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[Source] = relationship(lazy="joined")
    revisions: Mapped[list["Revision"]] = relationship(
        back_populates="mention", order_by="Revision.id", cascade="all, delete-orphan")


class Revision(Base):
    """One captured version of a mention, with its evidence. Never updated, only added."""

    __tablename__ = "revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), index=True)
    captured_at: Mapped[datetime] = mapped_column(default=utcnow)
    scan_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    title: Mapped[str] = mapped_column(Text, default="")
    snippet: Mapped[str] = mapped_column(Text, default="")
    text_sha256: Mapped[str] = mapped_column(String(64))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    warc_sha256: Mapped[str] = mapped_column(String(64))
    raw_path: Mapped[str] = mapped_column(Text)  # relative to the archive folder
    text_path: Mapped[str] = mapped_column(Text)
    warc_path: Mapped[str] = mapped_column(Text)
    # A full-page PNG taken after the scan (crawler/screenshots.py); the one column it may
    # be filled in later. The note says why there is none, or what the picture does not show.
    screenshot_path: Mapped[str | None] = mapped_column(Text)
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    screenshot_note: Mapped[str | None] = mapped_column(Text)
    mention: Mapped[Mention] = relationship(back_populates="revisions")


class Outbox(Base):
    """Events that may need an alert. Written with the mention; routed to channels by ``alerts/``.

    ``status`` is ``pending`` until the relay has turned the event into :class:`Delivery`
    rows (one per channel) and opened its case, then ``routed``. The other columns are
    kept from the first schema and unused: per-channel state lives on the deliveries.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(50))  # mention.new | mention.updated | source.failing | ...
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|routed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class Delivery(Base):
    """One event on one channel: sent at least once, never twice on purpose (the key is unique)."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)  # outbox key + channel
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    rate_limited: Mapped[bool] = mapped_column(default=False)  # next_attempt_at is the service's Retry-After
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    receipt: Mapped[dict[str, Any]] = mapped_column(default=dict)  # message id, Slack ts, rolled-up into
    event: Mapped[Outbox] = relationship(lazy="joined")


class Case(Base):
    """An alerted mention the SLT must respond to by ``due``. Its id is the mention's id."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), primary_key=True, autoincrement=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(20))  # the highest severity alerted so far
    channels: Mapped[list[Any]] = mapped_column(default=list)  # where reminders go
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|acknowledged|responded|closed
    reminded_at: Mapped[datetime | None]
    overdue_reminded_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    mention: Mapped[Mention] = relationship(lazy="joined")
    history: Mapped[list["CaseEvent"]] = relationship(order_by="CaseEvent.id", lazy="selectin",
                                                      cascade="all, delete-orphan")


class CaseEvent(Base):
    """Who did what to a case and when: the record an inspector or a court may ask for."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(30))  # opened|alerted|acknowledged|responded|closed|...
    by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class IncidentRecord(Base):
    """An Online Incident Record printed to PDF (``schoolwatch incident``), kept in the archive and hashed."""

    __tablename__ = "incident_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    mention_id: Mapped[int] = mapped_column(ForeignKey("mentions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    path: Mapped[str] = mapped_column(Text)  # relative to the archive folder
    sha256: Mapped[str] = mapped_column(String(64))


class Lease(Base):
    """A lock that expires: one delivery run (or one scan of a source) at a time, across processes."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]


class ServiceState(Base):
    """The always-on service as other processes see it: when it started and last said it was alive."""

    __tablename__ = "service_state"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)  # "scheduler"
    holder: Mapped[str] = mapped_column(String(200))  # host:pid:nonce of the process
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]  # set when it stopped cleanly
    info: Mapped[dict[str, Any]] = mapped_column(default=dict)  # config file, clocks, counters, next digest


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get WAL and their folder created."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it already is)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    alembic_cfg = AlembicConfig()
    alembic_cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        alembic_cfg.attributes["connection"] = connection
        command.upgrade(alembic_cfg, "head")


_OPEN: OrderedDict[str, tuple[int | None, sessionmaker]] = OrderedDict()
KEEP_OPEN = 16  # databases one process keeps engines for (the service uses one; tests use many)


def _file_identity(url: str) -> int | None:
    """The SQLite file's inode, so a database deleted and made again is opened afresh."""
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    try:
        return os.stat(url[len("sqlite:///"):]).st_ino
    except OSError:
        return -1


def open_database(url: str) -> sessionmaker:
    """Open (and if needed create or upgrade) the database; return a session factory.

    Engines are kept per process, so the service's minute jobs reuse connections and
    SQLAlchemy's compiled statements instead of paying for them on every call.
    """
    identity = _file_identity(url)
    cached = _OPEN.get(url)
    if cached is not None and cached[0] == identity and identity != -1:
        _OPEN.move_to_end(url)
        return cached[1]
    if cached is not None:
        cached[1].kw["bind"].dispose()
    engine = make_engine(url)
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    _OPEN[url] = (_file_identity(url), sessions)
    while len(_OPEN) > KEEP_OPEN:
        _OPEN.popitem(last=False)[1][1].kw["bind"].dispose()
    return sessions
