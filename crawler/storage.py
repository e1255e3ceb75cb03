"""The database: SQLAlchemy 2 models and how to open one.

SQLite (WAL) by default, any SQLAlchemy URL for a bigger deployment. The schema is owned
by Alembic (``crawler/migrations``); :func:`open_database` upgrades to the newest revision,
so an administrator never runs a migration by hand.

The ``outbox`` table is the only hand-over to ``alerts/``: a mention and its outbox rows
are written in the same transaction, so a mention is never stored without its alert, nor
alerted without being stored.
"""

from __future__ import annotations

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
    mention: Mapped[Mention] = relationship(back_populates="revisions")


class Outbox(Base):
    """Alerts waiting to be sent. Written with the mention; read and sent by ``alerts/``."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(50))  # mention.new | mention.updated | ...
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


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


def open_database(url: str) -> sessionmaker:
    """Open (and if needed create or upgrade) the database; return a session factory."""
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)
