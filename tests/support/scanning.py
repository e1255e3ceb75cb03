"""Building configs for real scans in tests, and reading what they stored."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from crawler.config import Config, config_from_dict
from crawler.storage import Mention, Outbox, Revision, open_database

SCHOOL = {
    "name": "Bentilee Nursery School",
    "aliases": ["Bentilee Nursery", "Bentilee Nursery School and Children's Centre"],
    "exclude": ["Bentilee Neighbourhood Centre"],
}
DEMO_EXPECTED = yaml.safe_load((Path(__file__).parents[2] / "crawler" / "demo" / "expected.yaml").read_text("utf-8"))


def make_config(data: Path, sources: list[dict[str, Any]], settings: dict[str, Any] | None = None,
                **crawl: Any) -> Config:
    """A config writing into ``data``, polite but quick (no AutoThrottle: one local server).

    ``settings`` adds top-level sections (``alerts:``, ``response:`` ...). Screenshots are off
    unless ``settings`` has an ``evidence:`` section: a browser per alerted mention would add
    seconds to every scan here; the screenshot tests turn them on.
    """
    raw = {
        "school": SCHOOL,
        "storage": {"database": f"sqlite:///{data / 'schoolwatch.db'}", "archive": str(data / "archive"),
                    "mailbox": str(data / "mailbox")},
        "crawl": {"contact": "https://example.org/schoolwatch-tests", "autothrottle": False, "timeout": 5, **crawl},
        "sources": sources,
        "evidence": {"screenshots": False},
        **(settings or {}),
    }
    config_file = data / "schoolwatch.yaml"
    data.mkdir(parents=True, exist_ok=True)
    config_file.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return config_from_dict(raw, base=data, shown=str(config_file))


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """The demo's own sources, pointed at a server of the test's choosing."""
    text = (Path(__file__).parents[2] / "crawler" / "demo" / "demo.yaml").read_text("utf-8")
    return yaml.safe_load(text.replace("{{BASE}}", base_url))["sources"]


def stored_counts(config: Config) -> dict[str, int]:
    sessions = open_database(config.storage.database)
    with sessions() as session:
        return {
            "mentions": session.scalar(select(func.count(Mention.id))) or 0,
            "revisions": session.scalar(select(func.count(Revision.id))) or 0,
            "outbox": session.scalar(select(func.count(Outbox.id)).where(Outbox.kind.like("mention.%"))) or 0,
            "mentions_without_revision": session.scalar(select(func.count(Mention.id)).where(
                ~Mention.id.in_(select(Revision.mention_id)))) or 0,
            "revisions_without_outbox": session.scalar(select(func.count(Revision.id)).where(
                ~Revision.mention_id.in_(select(Outbox.mention_id).where(Outbox.mention_id.is_not(None))))) or 0,
        }


def children_of(pid: int) -> list[int]:
    """Child process ids of ``pid`` (Linux /proc), to stop a crawl the hard way in tests."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found
