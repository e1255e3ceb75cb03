"""What spiders hand to the pipeline: plain dataclasses, nothing of storage in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Document:
    """One thing that may mention the school: a web page, or a feed entry with its page.

    ``url`` is the mention's identity (the same post found again is the same mention).
    ``content`` is set when the spider has already isolated the markup to judge (a feed
    entry); otherwise the pipeline reads ``body``. ``body`` and ``headers`` are the raw
    response kept as evidence. The pipeline fills the fields after ``judge``.
    """

    source: str
    url: str
    title: str = ""
    content: str | None = None
    body: bytes = b""
    encoding: str = "utf-8"
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    fetched_url: str = ""
    published: datetime | None = None
    author: str = ""  # who posted it, when the service shows that publicly
    etag: str | None = None
    last_modified: str | None = None
    links: list[str] = field(default_factory=list)
    body_is_page: bool = True  # False when body is only a feed kept as fallback evidence
    unchanged: bool = False  # 304 Not Modified: nothing new to read, but it is still there
    track: bool = True  # remember validators for conditional GET (pages, not feed entries)
    judge: bool = True  # False: bookkeeping only (the feed document itself)
    # Filled in by the pipeline, in order:
    text: str = ""
    matches: list[Any] = field(default_factory=list)
    judgement: Any = None
    change: str = ""  # "new", "updated" or "same" (dedupe)
    evidence: Any = None


@dataclass
class SourceProblem:
    """A source that could not be scanned (or scanned only in part): data, not a crash."""

    source: str
    url: str
    reason: str
    fatal: bool = True  # False: the source scanned, but a part of it failed
