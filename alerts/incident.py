"""The Online Incident Record: one mention (or case) on paper, with its evidence and its history.

The school's policy asks that every incident be recorded on an "Online Incident Record" form,
with screenshots taken and printed where possible. ``schoolwatch incident ID`` fills one in
from what schoolwatch stored: where and when the post was first seen (the school's time and
UTC), who posted it when that is public, the text exactly as captured, the screenshot, the
judgement and its reasons, the SHA-256 of every evidence file (re-checked as the record is
made), the case's history (alerted, acknowledged, responded, closed: who, when, notes), and
blank fields the SLT complete by hand (action taken, outcome, follow-up, signature).

Safety: the record is our own Jinja2 template with autoescape on; everything fetched is only
ever a *value* in it, so a post's ``<script>`` prints as those characters. The HTML has no
scripts and no links except the post's own http(s) address; the page's archived HTML is never
shown. The PDF is printed by :func:`crawler.browser.html_to_pdf` with JavaScript off and no
network: the screenshot is read from the evidence archive (``files_from``) and nothing else.

Each PDF is kept in the archive under its SHA-256 beside the evidence it describes, and
recorded in ``incident_records``, so ``schoolwatch verify`` re-checks it and ``purge`` removes
it only with its mention.
"""

from __future__ import annotations

import base64
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import select

from alerts.guidance import guidance_for
from alerts.render import safe_url, when
from crawler.browser import BrowserUnavailable, find_chromium, html_to_pdf, png_size
from crawler.config import Config
from crawler.display import clean
from crawler.errors import SchoolwatchError
from crawler.evidence import file_sha256, store_file
from crawler.storage import Case, IncidentRecord, Mention, open_database, utcnow

MAX_TEXT = 30_000  # characters of each captured text printed; the file itself holds all of it
ACTORS = {"alerted": "schoolwatch", "reminder": "schoolwatch", "overdue": "schoolwatch", "opened": "schoolwatch",
          "escalated": "schoolwatch", "reopened": "schoolwatch", "edited": "schoolwatch"}
LABELS = {"raw": "page as fetched (raw bytes)", "text": "text as judged", "warc": "WARC record (HTTP headers + body)",
          "screenshot": "screenshot (PNG)"}


@dataclass(frozen=True)
class IncidentResult:
    mention_id: int
    html: Path | None = None
    pdf: Path | None = None
    archived: Path | None = None  # the PDF's copy in the evidence archive
    sha256: str | None = None  # of the PDF
    record_id: int | None = None  # its row in incident_records

    def as_json(self) -> dict[str, Any]:
        return {"id": self.mention_id, "html": str(self.html) if self.html else None,
                "pdf": str(self.pdf) if self.pdf else None, "archived": str(self.archived) if self.archived else None,
                "sha256": self.sha256, "record": self.record_id}


def _file_check(archive: Path, relative: str | None, digest: str | None, kind: str) -> dict[str, Any] | None:
    """One evidence file as the record lists it, re-hashed now."""
    if not relative:
        return None
    path = archive / relative
    try:
        found = file_sha256(path)
        state = "matches" if found == digest else "CHANGED since capture"
    except FileNotFoundError:
        state = "MISSING from the archive"
    return {"kind": kind, "label": LABELS[kind], "path": relative, "sha256": digest, "state": state}


def _read_text(archive: Path, relative: str) -> tuple[str, bool]:
    try:
        text = (archive / relative).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "", False
    return text, True


def incident_data(config: Config, mention_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the record shows, as plain values (strings, numbers, lists) for the template."""
    now = now or utcnow()
    archive = config.storage.archive
    zone = config.school.timezone
    sessions = open_database(config.storage.database)
    with sessions() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise SchoolwatchError(f"there is no mention or case {mention_id}; `schoolwatch mentions` and "
                                   "`schoolwatch cases` list them")
        case = session.get(Case, mention_id)
        printed = session.scalars(select(IncidentRecord).where(IncidentRecord.mention_id == mention_id)
                                  .order_by(IncidentRecord.id)).all()
        revisions = []
        for number, revision in enumerate(mention.revisions, start=1):
            text, found = _read_text(archive, revision.text_path)
            files = [f for f in (
                _file_check(archive, revision.raw_path, revision.raw_sha256, "raw"),
                _file_check(archive, revision.text_path, revision.text_sha256, "text"),
                _file_check(archive, revision.warc_path, revision.warc_sha256, "warc"),
                _file_check(archive, revision.screenshot_path, revision.screenshot_sha256, "screenshot"),
            ) if f]
            revisions.append({
                "number": number, "captured": when(revision.captured_at, zone), "title": revision.title,
                "snippet": revision.snippet, "text": text[:MAX_TEXT], "text_found": found,
                "text_cut": max(0, len(text) - MAX_TEXT), "files": files,
                "screenshot": revision.screenshot_path, "screenshot_note": revision.screenshot_note,
            })
        shot = next(((n, r) for n, r in reversed(list(enumerate(mention.revisions, start=1))) if r.screenshot_path),
                    None)
        screenshot = None
        if shot is not None:
            number, revision = shot
            path = archive / (revision.screenshot_path or "")
            try:
                width, height = png_size(path)
            except (OSError, SchoolwatchError):
                width = height = 0
            screenshot = {"path": path, "revision": number, "captured": when(revision.captured_at, zone),
                          "sha256": revision.screenshot_sha256, "note": revision.screenshot_note,
                          "width": width, "height": height, "exists": width > 0}
        history = []
        if case is not None:
            for event in case.history:
                history.append({"at": when(event.at, zone), "action": event.action,
                                "by": event.by or ACTORS.get(event.action, ""), "note": event.note or ""})
        source = mention.source
        options = next((s for s in config.sources if s.name == source.name), None)
        return {
            "school": config.school.name,
            "timezone": zone,
            "id": mention.id,
            "printed": when(now, zone),
            "printing": len(printed) + 1,
            "earlier_printings": [{"at": when(p.created_at, zone), "sha256": p.sha256, "path": p.path} for p in printed],
            "source": source.name, "source_kind": source.kind, "source_url": source.url,
            "platform": _platform(source.kind, mention.url),
            "url": mention.url, "link": safe_url(mention.url), "title": mention.title,
            "author": mention.author or "",
            "published": when(mention.published, zone) if mention.published else "",
            "first_seen": when(mention.first_seen, zone), "last_seen": when(mention.last_seen, zone),
            "matched": list(mention.matched), "snippet": mention.snippet,
            "tone": mention.tone or "not judged", "scores": dict(mention.scores or {}),
            "concerns": list(mention.concerns or []), "severity": mention.severity or "not judged",
            "why": [str(w) for w in (mention.why or [])],
            "guidance": list(guidance_for(list(mention.concerns or []), config.alerts.guidance)),
            "revisions": revisions, "screenshot": screenshot,
            "case": None if case is None else {
                "status": case.status, "severity": case.severity, "opened": when(case.opened_at, zone),
                "due": when(case.due, zone), "responded": when(case.responded_at, zone) if case.responded_at else "",
                "closed": when(case.closed_at, zone) if case.closed_at else "",
                "on_time": None if case.responded_at is None else case.responded_at <= case.due,
                "overdue": case.status in ("open", "acknowledged") and case.due <= now,
                "channels": list(case.channels),
            },
            "history": history,
            "allow_private": bool(getattr(options, "allow_private", False)),
        }


def _platform(kind: str, url: str) -> str:
    """The kind of source in words, with the site's host: what a reader calls 'where it was posted'."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    words = {"feed": "news or blog feed", "site": "website", "page": "web page", "google_alerts": "Google Alerts",
             "google_news": "Google News", "bing_news": "Bing News", "reddit": "Reddit", "bluesky": "Bluesky",
             "mastodon": "Mastodon", "youtube": "YouTube"}.get(kind, kind)
    return f"{words} ({host})" if host else words


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("alerts", "templates"), undefined=StrictUndefined, autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clean"] = lambda v, width=None: clean(str(v) if v is not None else "", width)
    return env


def incident_html(data: dict[str, Any], image_src: str | None) -> str:
    """The record as one HTML page; ``image_src`` is how it shows the screenshot (``data:`` or ``file:``)."""
    return _environment().get_template("incident.html.j2").render({**data, "image_src": image_src})


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def chromium_for_pdf(config: Config) -> Path:
    """The browser that prints the PDF, or a plain-words error saying how to get one (or use --html)."""
    setting = config.evidence.chromium
    hint = "`schoolwatch incident ID --html FILE.html` writes the record without it"
    if setting.lower() == "off":
        raise BrowserUnavailable(f"printing the record to PDF needs Chromium, and evidence.chromium is off; {hint}")
    try:
        found = find_chromium(setting)
    except BrowserUnavailable as error:
        raise BrowserUnavailable(f"printing the record to PDF needs Chromium: {error}; {hint}") from None
    if found is None:
        raise BrowserUnavailable("printing the record to PDF needs Chromium, and none was found: install Debian's "
                                 f"`chromium` package (`make system-deps`) or set evidence.chromium to its path; {hint}")
    return found


def write_incident(config: Config, mention_id: int, pdf: Path | None = None, html: Path | None = None,
                   now: datetime | None = None) -> IncidentResult:
    """Write the record as HTML and/or PDF; a PDF is also kept in the archive, hashed and recorded."""
    chromium = chromium_for_pdf(config) if pdf is not None else None  # before anything is written
    data = incident_data(config, mention_id, now)
    shot = data["screenshot"]
    usable = shot is not None and shot["exists"]
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(incident_html(data, _data_uri(shot["path"]) if usable else None), encoding="utf-8")
    if pdf is None or chromium is None:
        return IncidentResult(mention_id, html=html)
    archive = config.storage.archive
    archive.mkdir(parents=True, exist_ok=True)
    page = incident_html(data, shot["path"].resolve().as_uri() if usable else None)
    part = archive / f".incident-{uuid.uuid4().hex}.pdf"
    try:
        html_to_pdf(page, part, chromium=chromium, files_from=archive)
        relative, digest = store_file(archive, part, ".pdf")
    finally:
        part.unlink(missing_ok=True)
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        row = IncidentRecord(mention_id=mention_id, created_at=now or utcnow(), path=relative, sha256=digest)
        session.add(row)
        session.flush()
        record_id = row.id
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.resolve() != (archive / relative).resolve():
        shutil.copyfile(archive / relative, pdf)
    return IncidentResult(mention_id, html=html, pdf=pdf, archived=archive / relative, sha256=digest,
                          record_id=record_id)
