"""Scheduled scans, batched: sources that fall due together share one crawl process.

Starting a crawl process costs seconds of CPU (Python, Scrapy, the tone model) while one
feed inside it costs milliseconds, so the service does not start a process per source. When
a source's time comes it joins this queue; each worker takes everything queued (up to
``schedule.batch`` sources) into one :func:`crawler.scan.run_scan`. When the service is idle
a batch is one source and starts at once; when it is busy, batches grow and the cost per
source falls, so it keeps up instead of falling behind.

A source already queued or being scanned is not queued again: a run that falls due while the
last one is still going is coalesced, never doubled. The per-source leases of
:mod:`crawler.scan` keep it from overlapping a ``schoolwatch scan`` in another process, and
each source is free again as soon as its own crawl is done, not when its whole batch is.
A crash or a hang costs that batch only: the worker logs it and takes the next.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from crawler.config import Config
from crawler.scan import Event, ScanSummary, run_scan

log = logging.getLogger(__name__)

GATHER = 0.5  # seconds a worker waits for others falling due at the same moment before it starts


class ScanQueue:
    def __init__(self, config: Config, stop: threading.Event, on_scanned: Callable[[ScanSummary], None],
                 workers: int | None = None) -> None:
        self.config = config
        self.stop = stop
        self.on_scanned = on_scanned
        schedule = config.schedule
        self.timeout = min(schedule.scan_timeout.total_seconds(), config.crawl.scan_timeout)
        self.grace = schedule.stop_grace.total_seconds()
        self.batch = schedule.batch
        self.queued: dict[str, None] = {}  # in the order they fell due
        self.running: dict[str, int] = {}  # source -> the batch scanning it
        self.counts: Counter[str] = Counter()  # requested, coalesced, scanned, failed, skipped, stopped, batches
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._work, name=f"scan-worker-{n + 1}", daemon=True)
                        for n in range(workers or schedule.workers)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def request(self, name: str) -> bool:
        """The source is due: queue it, unless it is queued or being scanned already."""
        with self.cond:
            if self.stop.is_set():
                return False
            self.counts["requested"] += 1
            if name in self.queued or name in self.running:
                self.counts["coalesced"] += 1
                return False
            self.queued[name] = None
            self.cond.notify()
            return True

    def busy(self) -> set[str]:
        with self.cond:
            return set(self.queued) | set(self.running)

    def shutdown(self, timeout: float) -> bool:
        """Stop taking work; wait for the running scans (they obey ``stop`` too). False if one is still going."""
        with self.cond:
            self.stop.set()
            self.queued.clear()
            self.cond.notify_all()
        for thread in self.threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self.threads)

    def _take(self) -> tuple[int, list[str]] | None:
        with self.cond:
            while True:
                while not self.queued and not self.stop.is_set():
                    self.cond.wait()
                if self.stop.is_set():
                    return None
                self.cond.wait_for(lambda: self.stop.is_set() or len(self.queued) >= self.batch, GATHER)
                if self.stop.is_set():
                    return None
                if self.queued:  # (another worker may have taken them while this one gathered)
                    break
            names = list(self.queued)[:self.batch]
            self.counts["batches"] += 1
            batch = self.counts["batches"]
            for name in names:
                del self.queued[name]
                self.running[name] = batch
            return batch, names

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            batch, names = taken
            try:
                summary = run_scan(self.config, only=names, on_event=lambda event: self._event(batch, event),
                                   trigger="schedule", timeout=self.timeout, stop=self.stop, grace=self.grace)
                failed = {e.get("source") for e in summary.errors if e.get("source")}
                with self.cond:
                    self.counts["scanned"] += len(summary.scanned)
                    self.counts["failed"] += len(failed)
                    if summary.status != "finished":
                        self.counts[f"batches_{summary.status}"] += 1
                log.info("scan %s %s: %d source(s), %d new and %d edited mention(s)%s%s", summary.scan_run_id,
                         summary.status, summary.sources, summary.mentions_new, summary.mentions_updated,
                         f"; failing: {', '.join(sorted(failed))}" if failed else "",
                         f"; skipped (another process is scanning them): {', '.join(s['source'] for s in summary.skipped)}"
                         if summary.skipped else "")
                self.on_scanned(summary)
            except Exception:  # the database, a bug: this batch is lost, the service goes on
                log.exception("a scheduled scan of %s could not run", ", ".join(names))
                with self.cond:
                    self.counts["errors"] += 1
            finally:
                with self.cond:
                    for name in names:
                        if self.running.get(name) == batch:  # not if a later batch has it by now
                            del self.running[name]

    def _event(self, batch: int, event: Event) -> None:
        kind = event.get("event")
        if kind in ("source_done", "source_stopped", "skipped"):
            with self.cond:
                name = str(event.get("source"))
                if self.running.get(name) == batch:
                    del self.running[name]  # due again from now on
                if kind == "skipped":
                    self.counts["skipped"] += 1
                elif kind == "source_stopped":
                    self.counts["stopped"] += 1
