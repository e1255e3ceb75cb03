"""Run one scan ("scan now", or a scheduled one) and say what it found.

The crawl runs in a child process (``crawler.crawl_process``) so scans can repeat inside one
long-lived service; this module records the scan run, relays the child's progress events,
enforces the time limit, and reads the outcome back from the database.

One scan of a source at a time, across processes: each source is leased (``scan:<name>``,
:mod:`crawler.leases`) for as long as its crawl runs, so ``schoolwatch scan`` while the
service is scanning the same source skips it, and says so, instead of crawling it twice.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from crawler.config import Config
from crawler.errors import ConfigError
from crawler.health import record_failure, source_row
from crawler.leases import acquire, new_holder, release
from crawler.screenshots import ScreenshotReport, take_screenshots
from crawler.storage import ScanRun, open_database, utcnow

Event = dict[str, Any]
log = logging.getLogger(__name__)

SKIPPED = "already being scanned by another process"
LEASE_TTL = timedelta(minutes=2)  # renewed while the crawl runs; lapses soon after a holder dies
RENEW_EVERY = 30.0
WATCH_TICK = 0.25  # seconds between checks of the time limit and of a request to stop
TERM_WAIT = 15.0  # after SIGTERM, how long the crawl may take to close its spiders before it is killed


@dataclass
class ScanSummary:
    scan_run_id: int
    status: str
    sources: int
    documents: int = 0
    mentions_new: int = 0
    mentions_updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    log: str | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)  # sources another process was scanning
    scanned: list[str] = field(default_factory=list)  # the names of the ``sources`` scanned
    screenshots: ScreenshotReport | None = None  # taken after the crawl, of the alerted mentions

    def as_json(self) -> dict[str, Any]:
        """The object ``scan --json`` prints; the first five keys are the contract."""
        return {"sources": self.sources, "documents": self.documents, "mentions_new": self.mentions_new,
                "mentions_updated": self.mentions_updated, "errors": self.errors,
                "warnings": self.warnings, "skipped": self.skipped, "scan_run": self.scan_run_id,
                "status": self.status, "log": self.log,
                "screenshots": self.screenshots.as_json() if self.screenshots else None}


def selected_sources(config: Config, only: list[str] | None) -> list[str]:
    names = [s.name for s in config.sources]
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ConfigError(str(config.path or "<config>"),
                          [f"--source {n}: no source has that name (known: {', '.join(names) or 'none'})"
                           for n in unknown])
    return list(dict.fromkeys(only))


def run_scan(config: Config, only: list[str] | None = None, on_event: Callable[[Event], None] | None = None,
             trigger: str = "manual", timeout: float | None = None, stop: threading.Event | None = None,
             grace: float = 0.0) -> ScanSummary:
    """Scan the sources (all, or ``only`` these) in one crawl process and record the run.

    ``timeout`` (default ``crawl.scan_timeout``) stops a crawl that runs too long; a source it
    cut short counts as failing. ``stop``, when set, lets the crawl go on for ``grace`` seconds,
    then asks it to close (what it found is committed) and marks the run ``interrupted``.
    """
    requested = selected_sources(config, only)
    limit = timeout if timeout is not None else config.crawl.scan_timeout
    sessions = open_database(config.storage.database)
    _close_abandoned_runs(sessions, max(limit, config.crawl.scan_timeout))
    leases = SourceLeases(sessions)
    try:
        names = leases.take(requested)
        skipped = [{"source": name, "reason": SKIPPED} for name in requested if name not in names]
        for item in skipped:
            if on_event:
                on_event({"event": "skipped", **item})
        return _scan(config, sessions, leases, names, skipped, on_event, trigger, limit, stop, grace)
    finally:
        leases.release_all()


def _scan(config: Config, sessions: sessionmaker, leases: "SourceLeases", names: list[str],
          skipped: list[dict[str, Any]], on_event: Callable[[Event], None] | None, trigger: str, limit: float,
          stop: threading.Event | None, grace: float) -> ScanSummary:
    with sessions.begin() as session:
        run = ScanRun(status="running", trigger=trigger, sources=names)
        session.add(run)
        session.flush()
        run_id = run.id
    log_path = config.storage.archive.parent / "logs" / f"scan-{run_id}.log"
    done: set[str] = set()
    stopped: set[str] = set()

    def relay(event: Event) -> None:
        kind = event.get("event")
        if kind in ("source_done", "source_stopped"):
            name = str(event.get("source"))
            (done if kind == "source_done" else stopped).add(name)
            leases.release(name)  # finished with: it may be scanned again, here or elsewhere
        if on_event:
            on_event(event)

    outcome: int | str = 0
    if names:
        leases.start_renewing()
        outcome = _run_child(config, names, run_id, log_path, relay, limit, stop, grace)
    status, crash, unfinished_reason = "finished", None, \
        f"the scan of this source did not finish (an internal error); details in {log_path}"
    if outcome == "stopped" or stopped:
        status = "interrupted"
        unfinished_reason = "stopped before it finished because schoolwatch was shutting down; it is scanned again next time"
    elif outcome == "timeout":
        status = "failed"
        unfinished_reason = f"the scan did not finish within its time limit ({limit:g} s) and was stopped"
        crash = {"source": None, "url": None, "reason": "the scan took longer than its time limit "
                 f"({limit:g} s: schedule.scan_timeout, or crawl.scan_timeout for `schoolwatch scan`) and was stopped"}
    elif outcome != 0:
        status = "failed"
        crash = {"source": None, "url": None,
                 "reason": f"the crawl process stopped unexpectedly (exit code {outcome}); "
                           f"what it had stored is kept; details in {log_path}"}
    shots = None
    if names and status != "interrupted" and not (stop is not None and stop.is_set()):
        shots = _take_screenshots(config, sessions, run_id, on_event, stop, log_path)
    unfinished = [name for name in names if name not in done]
    with sessions.begin() as session:
        if status != "interrupted":  # cut short by a hang or a crash: the source is not being watched
            now = utcnow()
            for name in unfinished:
                options = config.source(name)
                record_failure(session, source_row(session, name, options.kind, options.url), unfinished_reason, now)
        run = session.get_one(ScanRun, run_id)
        run.status, run.finished_at = status, utcnow()
        lost = [{"source": name, "url": config.source(name).url, "reason": unfinished_reason} for name in unfinished]
        if crash or lost:
            run.errors = [*run.errors, *lost, *([crash] if crash else [])]
        summary = ScanSummary(scan_run_id=run_id, status=status, sources=len(names), documents=run.documents,
                              mentions_new=run.mentions_new, mentions_updated=run.mentions_updated,
                              errors=list(run.errors), warnings=list(run.warnings),
                              log=str(log_path) if names else None, skipped=skipped, scanned=list(names),
                              screenshots=shots)
    return summary


def _take_screenshots(config: Config, sessions: sessionmaker, run_id: int, on_event: Callable[[Event], None] | None,
                      stop: threading.Event | None, log_path: Path) -> ScreenshotReport:
    """After the crawl, never inside it: Playwright cannot run in the crawl's Twisted reactor."""
    report = take_screenshots(config, sessions, run_id, on_event=on_event, stop=stop)
    if report.wanted:
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(f"screenshots: {report.taken} of {report.wanted} taken"
                         + (f" ({', '.join(f'{s:.1f}' for s in report.seconds)} s)" if report.seconds else "")
                         + (f"; screenshots are off: {report.off}" if report.off else "") + "\n")
            for failure in report.failed:
                handle.write(f"  no screenshot of {failure['url']}: {failure['reason']}\n")
    return report


class SourceLeases:
    """The leases of the sources one scan holds: taken together, renewed while it runs, released as each is done."""

    def __init__(self, sessions: sessionmaker) -> None:
        self.sessions = sessions
        self.holder = new_holder()
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.ended = threading.Event()
        self.renewer: threading.Thread | None = None

    def take(self, names: list[str]) -> list[str]:
        for name in names:
            if acquire(self.sessions, f"scan:{name}", self.holder, LEASE_TTL):
                self.held.add(name)
        return [name for name in names if name in self.held]

    def start_renewing(self) -> None:
        self.renewer = threading.Thread(target=self._renew, name="scan-leases", daemon=True)
        self.renewer.start()

    def _renew(self) -> None:
        while not self.ended.wait(RENEW_EVERY):
            with self.lock:
                for name in sorted(self.held):
                    try:
                        if not acquire(self.sessions, f"scan:{name}", self.holder, LEASE_TTL):
                            log.warning("the lease on %s lapsed and another process took it", name)
                    except Exception:  # a busy database: try again at the next renewal
                        log.exception("could not renew the lease on %s", name)

    def release(self, name: str) -> None:
        with self.lock:
            if name in self.held:
                self.held.discard(name)
                release(self.sessions, f"scan:{name}", self.holder)

    def release_all(self) -> None:
        self.ended.set()
        for name in list(self.held):
            self.release(name)


def _run_child(config: Config, names: list[str], run_id: int, log_path: Path, on_event: Callable[[Event], None],
               limit: float, stop: threading.Event | None, grace: float) -> int | str:
    """Run the crawl process and relay its events; its exit code, or "timeout" or "stopped"."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    job = {"config": config.model_dump(mode="json", serialize_as_any=True), "sources": names,
           "scan_run_id": run_id, "config_path": str(config.path) if config.path else None}
    with open(log_path, "ab") as log_file:
        child = subprocess.Popen([sys.executable, "-m", "crawler.crawl_process"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=log_file, text=True, encoding="utf-8")
        watcher = _Watcher(child, limit, stop, grace)
        watcher.start()
        try:
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(json.dumps(job))
                child.stdin.close()
            except BrokenPipeError:  # it died at once (or was stopped): the exit code says which
                pass
            for line in child.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                on_event(event)
            returncode = child.wait()
        finally:
            watcher.finished.set()
            if child.poll() is None:
                child.kill()
                child.wait()
    return watcher.outcome or returncode


class _Watcher(threading.Thread):
    """Stops the crawl at its time limit (kill), or when asked to stop: after ``grace``, SIGTERM, then kill."""

    def __init__(self, child: subprocess.Popen, limit: float, stop: threading.Event | None, grace: float) -> None:
        super().__init__(name="scan-watch", daemon=True)
        self.child, self.limit, self.stop, self.grace = child, limit, stop, grace
        self.finished = threading.Event()
        self.outcome: str | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.limit
        terminate_at: float | None = None
        kill_at: float | None = None
        while not self.finished.wait(WATCH_TICK):
            now = time.monotonic()
            if now >= deadline:
                self.outcome = self.outcome or "timeout"
                self.child.kill()
                return
            if self.stop is None or not self.stop.is_set():
                continue
            if terminate_at is None:
                terminate_at = now + self.grace
            if kill_at is None and now >= terminate_at:
                self.outcome = "stopped"
                self.child.terminate()  # Scrapy closes the spiders; the store step commits what it has
                kill_at = now + TERM_WAIT
            elif kill_at is not None and now >= kill_at:
                self.child.kill()
                return


def _close_abandoned_runs(sessions: sessionmaker, scan_timeout: float) -> None:
    """A run still "running" long after any scan could last was cut off (power cut, kill -9)."""
    cutoff = utcnow() - timedelta(seconds=scan_timeout * 2)
    with sessions.begin() as session:
        session.execute(update(ScanRun).where(ScanRun.status == "running", ScanRun.started_at < cutoff)
                        .values(status="interrupted", finished_at=utcnow()))
