"""Run one scan ("scan now", or a scheduled one) and say what it found.

The crawl runs in a child process (``crawler.crawl_process``) so scans can repeat inside one
long-lived service; this module records the scan run, relays the child's progress events,
enforces the time limit, and reads the outcome back from the database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from crawler.config import Config
from crawler.errors import ConfigError
from crawler.storage import ScanRun, open_database, utcnow

Event = dict[str, Any]


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

    def as_json(self) -> dict[str, Any]:
        """The object ``scan --json`` prints; the first five keys are the contract."""
        return {"sources": self.sources, "documents": self.documents, "mentions_new": self.mentions_new,
                "mentions_updated": self.mentions_updated, "errors": self.errors,
                "warnings": self.warnings, "scan_run": self.scan_run_id, "status": self.status, "log": self.log}


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
             trigger: str = "manual") -> ScanSummary:
    names = selected_sources(config, only)
    sessions = open_database(config.storage.database)
    _close_abandoned_runs(sessions, config.crawl.scan_timeout)
    with sessions.begin() as session:
        run = ScanRun(status="running", trigger=trigger, sources=names)
        session.add(run)
        session.flush()
        run_id = run.id
    log_path = config.storage.archive.parent / "logs" / f"scan-{run_id}.log"
    status, crash = "finished", None
    done: set[str] = set()

    def relay(event: Event) -> None:
        if event.get("event") == "source_done":
            done.add(str(event.get("source")))
        if on_event:
            on_event(event)

    if names:
        returncode = _run_child(config, names, run_id, log_path, relay)
        if returncode != 0:
            status = "failed"
            crash = {"source": None, "url": None,
                     "reason": ("the scan took longer than crawl.scan_timeout and was stopped"
                                if returncode is None else
                                f"the crawl process stopped unexpectedly (exit code {returncode}); "
                                f"what it had stored is kept; details in {log_path}")}
    unfinished = [{"source": name, "url": config.source(name).url,
                   "reason": f"the scan of this source did not finish (an internal error); details in {log_path}"}
                  for name in names if name not in done]
    with sessions.begin() as session:
        run = session.get_one(ScanRun, run_id)
        run.status, run.finished_at = status, utcnow()
        if crash or unfinished:
            run.errors = [*run.errors, *unfinished, *([crash] if crash else [])]
        summary = ScanSummary(scan_run_id=run_id, status=status, sources=len(names), documents=run.documents,
                              mentions_new=run.mentions_new, mentions_updated=run.mentions_updated,
                              errors=list(run.errors), warnings=list(run.warnings),
                              log=str(log_path) if names else None)
    return summary


def _run_child(config: Config, names: list[str], run_id: int, log_path: Path,
               on_event: Callable[[Event], None]) -> int | None:
    """Run the crawl process; relay its events; None when it had to be stopped for time."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    job = {"config": config.model_dump(mode="json", serialize_as_any=True), "sources": names,
           "scan_run_id": run_id, "config_path": str(config.path) if config.path else None}
    with open(log_path, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "crawler.crawl_process"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=log, text=True, encoding="utf-8")
        timed_out = threading.Event()

        def stop_for_time() -> None:
            timed_out.set()
            child.kill()

        timer = threading.Timer(config.crawl.scan_timeout, stop_for_time)
        timer.daemon = True
        timer.start()
        try:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write(json.dumps(job))
            child.stdin.close()
            for line in child.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                on_event(event)
            returncode = child.wait()
        finally:
            timer.cancel()
            if child.poll() is None:
                child.kill()
                child.wait()
    return None if timed_out.is_set() else returncode


def _close_abandoned_runs(sessions: sessionmaker, scan_timeout: float) -> None:
    """A run still "running" long after any scan could last was cut off (power cut, kill -9)."""
    cutoff = utcnow() - timedelta(seconds=scan_timeout * 2)
    with sessions.begin() as session:
        session.execute(update(ScanRun).where(ScanRun.status == "running", ScanRun.started_at < cutoff)
                        .values(status="interrupted", finished_at=utcnow()))
