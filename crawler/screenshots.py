"""Screenshots of alerted mentions, taken after the crawl: the picture the policy asks for.

The social media policy asks that incidents be recorded "with screenshots taken and printed
where possible". After a scan's crawl process has finished (Playwright must not run inside
Scrapy's Twisted reactor, and the crawl should not wait on a browser), :func:`take_screenshots`
looks at the revisions that scan stored and photographs each page whose mention will be
alerted (its severity has a route: ``config.alerts.channels_for(severity)``), with
:func:`crawler.browser.screenshot`: headless Chromium, the page allowed to reach only its own
origin, a time limit (``evidence.timeout``) and caps on size.

Each PNG goes into the evidence archive under its SHA-256, like the raw bytes, the text and
the WARC record, and its name and hash are written on the revision; the still-unsent alert
event gets the path, so the email attaches it. A screenshot that fails is a note on the
revision (``screenshot_note``), never a failed scan. Without a browser, nothing is taken and
the scan says once why (``ScreenshotReport.off``).

At most ``evidence.max_per_scan`` are taken per scan, the most serious first; two run at once
(each is its own browser process, so a slow page does not hold up the next one).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crawler.browser import BrowserError, BrowserUnavailable, find_chromium, screenshot
from crawler.config import Config
from crawler.crawl_settings import user_agent
from crawler.evidence import store_file
from crawler.storage import Delivery, Mention, Outbox, Revision, Source

log = logging.getLogger(__name__)

RANK = {"urgent": 4, "high": 3, "normal": 2, "low": 1}
PARALLEL = 2  # browsers at once; each is a process of its own with a few hundred MB at most
NO_CHROMIUM = ("no Chromium found on this machine (evidence.chromium: auto); install Debian's `chromium` "
               "package (`make system-deps`) or set evidence.chromium to its path")
_said_off: set[str] = set()  # reasons already logged by this process: a service says each once


@dataclass
class ScreenshotReport:
    """What the screenshot step of one scan did, for the summary and ``scan --json``."""

    wanted: int = 0  # alerted mentions of this scan without a screenshot yet
    taken: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {mention, url, reason}
    over_cap: int = 0  # left without one because of evidence.max_per_scan
    off: str | None = None  # why none were taken at all
    on_purpose: bool = False  # ``off`` because the config says so (evidence.screenshots: false, chromium: off)
    seconds: list[float] = field(default_factory=list)  # each screenshot's own time

    def as_json(self) -> dict[str, Any]:
        return {"wanted": self.wanted, "taken": self.taken, "failed": self.failed, "over_cap": self.over_cap,
                "off": self.off, "seconds": [round(s, 2) for s in self.seconds]}


@dataclass(frozen=True)
class _Target:
    revision_id: int
    mention_id: int
    url: str
    severity: str
    allow_private: bool


def browser_for(config: Config) -> tuple[Path | None, str | None, bool]:
    """The Chromium to use, or why there is none and whether that is on purpose."""
    if not config.evidence.screenshots:
        return None, "evidence.screenshots is false in the config", True
    setting = config.evidence.chromium
    if setting.lower() == "off":
        return None, "evidence.chromium is off in the config", True
    try:
        found = find_chromium(setting)
    except BrowserUnavailable as error:
        return None, str(error), False
    if found is None:
        return None, NO_CHROMIUM, False
    return found, None, False


def wanted(config: Config, sessions: sessionmaker, scan_run_id: int) -> list[_Target]:
    """This scan's revisions of mentions that will be alerted and have no screenshot, most serious first."""
    with sessions() as session:
        rows = session.execute(
            select(Revision.id, Mention.id, Mention.url, Mention.severity, Source.name)
            .join(Mention, Mention.id == Revision.mention_id).join(Source, Source.id == Mention.source_id)
            .where(Revision.scan_run_id == scan_run_id, Revision.screenshot_path.is_(None))
            .order_by(Revision.id)).all()
    newest: dict[int, _Target] = {}
    for revision_id, mention_id, url, severity, source in rows:
        if severity not in RANK or not config.alerts.channels_for(severity):
            continue  # not alerted at once (low: the digest only): no picture needed
        try:
            allow_private = bool(getattr(config.source(source), "allow_private", False))
        except KeyError:
            allow_private = False  # a source since removed from the config: the safe default
        newest[mention_id] = _Target(revision_id, mention_id, url, severity, allow_private)
    return sorted(newest.values(), key=lambda t: (-RANK[t.severity], t.revision_id))


def take_screenshots(config: Config, sessions: sessionmaker, scan_run_id: int,
                     on_event: Callable[[dict[str, Any]], None] | None = None,
                     stop: threading.Event | None = None) -> ScreenshotReport:
    """Photograph this scan's alerted mentions; never raises for a page or a missing browser."""
    report = ScreenshotReport()
    targets = wanted(config, sessions, scan_run_id)
    report.wanted = len(targets)
    chromium, report.off, report.on_purpose = browser_for(config)
    if not targets:
        return report
    if chromium is None:
        _say_off(report.off or "", report.on_purpose)
        _note(sessions, targets, f"no screenshot: {report.off}")
        return report
    cap = config.evidence.max_per_scan
    targets, left = targets[:cap], targets[cap:]
    if left:
        report.over_cap = len(left)
        log.info("%d alerted mentions were left without a screenshot: evidence.max_per_scan is %d", len(left), cap)
        _note(sessions, left, f"no screenshot: more alerted mentions in one scan than evidence.max_per_scan ({cap})")
    archive = config.storage.archive
    archive.mkdir(parents=True, exist_ok=True)
    unavailable = threading.Event()
    agent = user_agent(config)

    def one(target: _Target) -> tuple[_Target, str | None, float]:
        """(target, None, seconds) when taken; (target, reason, seconds) when not; seconds 0: not tried."""
        if unavailable.is_set():
            return target, report.off, 0.0
        if stop is not None and stop.is_set():
            return target, "schoolwatch was stopping", 0.0
        started = time.monotonic()
        part = archive / f".screenshot-{uuid.uuid4().hex}.png"
        try:
            result = screenshot(target.url, part, chromium=chromium, timeout=config.evidence.timeout,
                                allow_private=target.allow_private, user_agent=agent)
            relative, digest = store_file(archive, part, ".png")
            notes = list(result.notes)
            if result.status is not None and result.status >= 400:
                notes.insert(0, f"the page answered HTTP {result.status} when it was photographed "
                                "(it may have been removed)")
            _record(sessions, archive, target, relative, digest, "; ".join(notes) or None)
            return target, None, time.monotonic() - started
        except BrowserUnavailable as error:  # Chromium is there but does not start: stop trying
            unavailable.set()
            report.off = str(error)
            return target, report.off, 0.0
        except BrowserError as error:
            reason = str(error)
        except Exception as error:  # a bug of ours must not cost the scan: keep it in the log
            log.exception("the screenshot of %s failed", target.url)
            reason = f"internal error ({type(error).__name__}: {str(error)[:200]})"
        finally:
            part.unlink(missing_ok=True)
        _record(sessions, archive, target, None, None, f"no screenshot: {reason}")
        return target, reason, time.monotonic() - started

    not_tried: list[tuple[_Target, str]] = []
    workers = max(1, min(PARALLEL, os.cpu_count() or 1, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="screenshot") as pool:
        for future in as_completed([pool.submit(one, target) for target in targets]):
            target, reason, seconds = future.result()
            if seconds == 0.0:
                not_tried.append((target, reason or "not tried"))
                continue
            if reason is None:
                report.taken += 1
                report.seconds.append(seconds)
            else:
                report.failed.append({"mention": target.mention_id, "url": target.url, "reason": reason})
                log.info("no screenshot of %s: %s", target.url, reason)
            if on_event:
                on_event({"event": "screenshot", "mention": target.mention_id, "url": target.url,
                          "ok": reason is None, "reason": reason, "seconds": round(seconds, 2)})
    for target, reason in not_tried:
        _note(sessions, [target], f"no screenshot: {reason}")
    if unavailable.is_set():
        _say_off(report.off or "", False)
    return report


def _note(sessions: sessionmaker, targets: list[_Target], note: str) -> None:
    with sessions.begin() as session:
        for target in targets:
            session.get_one(Revision, target.revision_id).screenshot_note = note[:2000]


def _record(sessions: sessionmaker, archive: Path, target: _Target, relative: str | None, digest: str | None,
            note: str | None) -> None:
    """The screenshot on its revision, and on the alert event if that has not gone yet."""
    with sessions.begin() as session:
        revision = session.get_one(Revision, target.revision_id)
        revision.screenshot_path, revision.screenshot_sha256 = relative, digest
        revision.screenshot_note = note[:2000] if note else None
        if relative is None:
            return
        keys = [f"mention.{change}:{target.mention_id}:{target.revision_id}" for change in ("new", "updated")]
        for event in session.scalars(select(Outbox).where(Outbox.idempotency_key.in_(keys))):
            sent = session.scalar(select(Delivery.id).where(Delivery.outbox_id == event.id,
                                                            Delivery.status == "sent").limit(1))
            if sent is not None:
                continue  # what was sent stays as it was sent
            payload = dict(event.payload or {})
            evidence = dict(payload.get("evidence") or {})
            evidence["screenshot"] = str(archive / relative)  # as crawler.records.mention_record writes it
            evidence["screenshot_sha256"] = digest
            payload["evidence"] = evidence
            event.payload = payload  # a new dict: SQLAlchemy sees the change


def _say_off(reason: str, on_purpose: bool) -> None:
    if on_purpose or reason in _said_off:
        return
    _said_off.add(reason)
    log.info("screenshots are off: %s", reason)
