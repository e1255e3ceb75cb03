"""The Alembic migrations build exactly the schema the models describe, and upgrade a database in use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy import text

import crawler.storage as storage
from crawler.storage import Base, Mention, Revision, make_engine, open_database


def alembic_config(connection: object) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def test_a_fresh_database_matches_the_models(tmp_path: Path) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'fresh.db'}")
    with sessions.kw["bind"].connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_database_from_before_screenshots_upgrades_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0003")
        connection.execute(text("INSERT INTO sources (id, name, kind, url, failures) VALUES (1, 'news', 'feed', 'u', 0)"))
        connection.execute(text(
            "INSERT INTO mentions (id, url, source_id, title, snippet, matched, first_seen, last_seen, text_sha256, "
            "scores, concerns, why) VALUES (1, 'https://x.example/1', 1, 't', 's', '[]', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 'a', '{}', '[]', '[]')"))
        connection.execute(text(
            "INSERT INTO revisions (id, mention_id, captured_at, title, snippet, text_sha256, raw_sha256, warc_sha256, "
            "raw_path, text_path, warc_path) VALUES (1, 1, '2026-01-01 00:00:00', 't', 's', 'a', 'b', 'c', 'r', 't', 'w')"))
    engine.dispose()

    sessions = open_database(url)  # upgrades to the newest revision
    with sessions() as session:
        mention = session.get_one(Mention, 1)
        assert mention.author is None and mention.url == "https://x.example/1"
        revision = session.get_one(Revision, 1)
        assert (revision.screenshot_path, revision.screenshot_sha256, revision.screenshot_note) == (None, None, None)
    with sessions.kw["bind"].begin() as connection:
        command.downgrade(alembic_config(connection), "0003")
        assert "incident_records" not in {row[0] for row in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
        command.upgrade(alembic_config(connection), "head")
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
