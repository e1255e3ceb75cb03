"""The always-on service: ``schoolwatch run``, or ``python scheduler.py --config FILE``.

The policy asks for monitoring seven days a week, holidays included, so this runs
unattended for months (under systemd, say). One process, APScheduler jobs:

=================  ===========================================  ===============================================
job                when                                         what
=================  ===========================================  ===============================================
``scan:<source>``  every ``every`` of the source (else           queue the source for a scan; scans run in child
                   ``schedule.default_every``), plus up to       processes, batched when several fall due, at most
                   ``schedule.jitter``                           ``schedule.workers`` at once (crawler.scan_queue)
``deliver``        every ``schedule.deliver_every`` (1 min),     route the outbox, schedule case reminders, send
                   and right after each scan                    what is due (alerts.relay)
``digest``         ``digest.when`` in the school's time zone     queue the last full week's digest, then send it
heartbeat          every ``schedule.heartbeat``, main thread    record that the service is alive and each
                                                                source's next scan (``schoolwatch status``)
=================  ===========================================  ===============================================

Each scan job has ``max_instances=1`` and ``coalesce=True``, and a source already queued or
being scanned is not queued again, so scans of a source never overlap and runs missed while
the machine slept become one catch-up scan, not a burst. On start, a source whose last scan
is older than its interval is scanned at once (once); schedules are rebuilt from the config
at every start. Retention (purging old data) is issue 6's ``schoolwatch purge`` and is not
scheduled yet.

Ctrl-C or SIGTERM: no new scans start; a running scan has ``schedule.stop_grace`` to finish,
then it is asked to stop (it commits what it found; its run is marked ``interrupted``) and,
if it still has not, killed. Every batch of rows is one transaction, so there are no half
rows either way. A second service on the same database refuses to start.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update

from alerts.digest import build as build_digest
from alerts.digest import digest_queued, last_full_week, queue_digest
from alerts.relay import deliver
from alerts.status import LATE_BEATS, SERVICE, next_digest
from crawler.config import Config, load_config
from crawler.errors import ConfigError, SchoolwatchError
from crawler.health import source_row
from crawler.leases import acquire, clear_dead, new_holder, release
from crawler.purge import purge
from crawler.records import iso
from crawler.scan import TERM_WAIT, ScanSummary
from crawler.scan_queue import ScanQueue
from crawler.storage import Lease, ScanRun, ServiceState, Source, open_database, utcnow

log = logging.getLogger("schoolwatch.service")


class ServiceBusy(SchoolwatchError):
    """Another service already runs on this database."""


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config
        schedule = config.schedule
        self.sessions = open_database(config.storage.database)
        self.holder = new_holder()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.delivering = False
        self.deliver_again = False
        self.counts: Counter[str] = Counter()
        self.heartbeat = schedule.heartbeat.total_seconds()
        self.queue = ScanQueue(config, self.stopping, self._scanned)
        self.scheduler = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(2), "relay": ThreadPoolExecutor(1),
                       "digest": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1})
        self.started_at: datetime | None = None

    # --- starting and stopping -------------------------------------------------------------

    def start(self) -> None:
        now = utcnow()
        self._claim(now)
        first = self._first_runs(now)
        schedule = self.config.schedule
        jitter = schedule.jitter.total_seconds() or None
        for source in self.config.sources:
            every = source.every.total_seconds()
            self.scheduler.add_job(
                self.queue.request, IntervalTrigger(seconds=every, start_date=first[source.name], jitter=jitter),
                args=[source.name], id=f"scan:{source.name}", name=f"scan {source.name}",
                next_run_time=first[source.name], misfire_grace_time=int(max(every, 60)))
        self.scheduler.add_job(self._deliver_job, IntervalTrigger(seconds=schedule.deliver_every.total_seconds()),
                               id="deliver", name="deliver the outbox", executor="relay", next_run_time=now,
                               misfire_grace_time=int(max(schedule.deliver_every.total_seconds(), 30)))
        digest = self.config.digest
        self.scheduler.add_job(self._digest_job, CronTrigger(day_of_week=digest.day, hour=digest.at.hour,
                                                             minute=digest.at.minute,
                                                             timezone=ZoneInfo(self.config.school.timezone)),
                               id="digest", name="weekly digest", executor="digest",
                               misfire_grace_time=6 * 3600)
        self.scheduler.add_job(self._retention_job, CronTrigger(hour=3, minute=30,
                                                                timezone=ZoneInfo(self.config.school.timezone)),
                               id="retention", name="apply the retention rules (purge)", executor="digest",
                               misfire_grace_time=6 * 3600)
        self.queue.start()
        self.scheduler.start()
        self._catch_up_digest(now)
        self.beat()
        log.info("schoolwatch service started: %d source(s), %d scan process(es) at once, digest %s (%s); "
                 "config %s", len(self.config.sources), schedule.workers, digest.when, self.config.school.timezone,
                 self.config.path or "<built in code>")

    def _claim(self, now: datetime) -> None:
        """One service per database; a predecessor that died on this machine does not block a restart."""
        ttl = timedelta(seconds=max(30.0, self.heartbeat * LATE_BEATS))
        cleared = clear_dead(self.sessions)
        if cleared:
            log.info("cleared leases left by a process that died: %s", ", ".join(sorted(cleared)))
        if not acquire(self.sessions, SERVICE, self.holder, ttl):
            with self.sessions() as session:
                lease = session.get(Lease, SERVICE)
            holder = lease.holder if lease else "unknown"
            raise ServiceBusy(f"another schoolwatch service is already running on this database ({holder}); "
                              f"stop it first (if it was killed on another machine, its claim lapses within "
                              f"{ttl.total_seconds():g} s)")
        with self.sessions.begin() as session:
            row = session.get(ServiceState, SERVICE) or ServiceState(name=SERVICE)
            row.holder, row.started_at, row.heartbeat_at, row.stopped_at = self.holder, now, now, None
            row.info = self._info(now)
            session.merge(row)
        self.started_at = now

    def _first_runs(self, now: datetime) -> dict[str, datetime]:
        """Each source's first scan: when its interval since the last scan ends, or now if that has passed."""
        first = {}
        with self.sessions.begin() as session:
            for options in self.config.sources:
                row = source_row(session, options.name, options.kind, options.url)
                due = row.last_scan_at + options.every if row.last_scan_at else now
                first[options.name] = row.next_scan_at = max(due, now)
        return first

    def run(self) -> int:
        """Start, then beat until Ctrl-C or SIGTERM; stop cleanly. Returns the exit code."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, self._on_signal)
        self.start()
        try:
            while not self.stopping.wait(self.heartbeat):
                self.beat()
        finally:
            self.shutdown()
        return 0

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.stopping.set()  # the main loop wakes and stops cleanly; nothing else is safe in a handler

    def shutdown(self) -> None:
        self.stopping.set()
        grace = self.config.schedule.stop_grace.total_seconds()
        running = self.queue.busy()
        log.info("stopping: no new scans%s", f"; the running scan has {grace:g} s to finish" if running else "")
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if not self.queue.shutdown(timeout=grace + TERM_WAIT + 15):
            log.warning("a scan did not stop in time; its process is left to its own time limit")
        try:
            now = utcnow()
            with self.sessions.begin() as session:
                row = session.get(ServiceState, SERVICE)
                if row is not None and row.holder == self.holder:
                    row.stopped_at = row.heartbeat_at = now
                    row.info = self._info(now)
                session.execute(update(Source).values(next_scan_at=None))
            release(self.sessions, SERVICE, self.holder)
        except Exception:
            log.exception("could not record the stop in the database")
        log.info("schoolwatch service stopped.")

    # --- jobs ------------------------------------------------------------------------------

    def _scanned(self, summary: ScanSummary) -> None:
        """After each scan: its alerts go out now, and its sources' next runs are recorded."""
        self.kick_delivery()
        self._record_next_runs(summary.scanned)

    def kick_delivery(self) -> None:
        with self.lock:
            if self.delivering:
                self.deliver_again = True
                return
        try:
            self.scheduler.modify_job("deliver", next_run_time=utcnow())
        except JobLookupError:  # stopping
            pass

    def _deliver_job(self) -> None:
        with self.lock:
            self.delivering, self.deliver_again = True, False
        try:
            while not self.stopping.is_set():
                report = deliver(self.config)
                self.counts["deliveries"] += 1
                self.counts["alerts_sent"] += sum(report.sent.values())
                if report.messages or report.waiting or report.failed:
                    log.info("alerts: %d message(s) sent%s%s", report.messages,
                             "".join(f"; {c} waiting: {r}" for c, r in report.waiting.items()),
                             "".join(f"; {c} FAILED: {r}" for c, r in report.failed.items()))
                with self.lock:
                    if not self.deliver_again:
                        return
                    self.deliver_again = False
        finally:
            with self.lock:
                self.delivering = False

    def _retention_job(self) -> None:
        """Nightly: what `schoolwatch purge` does, logged in <data>/logs/purge.log."""
        report = purge(self.config)
        if report.mentions or report.orphans:
            log.info("retention: removed %d old mention(s) and %d file(s); see %s", len(report.mentions),
                     len(report.files) + len(report.orphans), report.log)

    def _digest_job(self) -> None:
        self._queue_digest(last_full_week(utcnow(), self.config.school.timezone))

    def _queue_digest(self, week: str) -> None:
        if digest_queued(self.config, week) is not None:
            log.info("the weekly digest of %s was already queued", week)
            return
        if queue_digest(self.config, build_digest(self.config, week)):
            log.info("weekly digest of %s queued", week)
            self.counts["digests"] += 1
            self.kick_delivery()

    def _catch_up_digest(self, now: datetime) -> None:
        """A digest missed while the service was down goes out late (the same week), not never."""
        missed = next_digest(self.config, now) - timedelta(days=7)
        week = last_full_week(missed, self.config.school.timezone)
        with self.sessions() as session:
            watched = session.scalar(select(ScanRun.id).where(ScanRun.started_at < missed).limit(1)) is not None
        if watched and digest_queued(self.config, week) is None:
            log.info("the digest of %s was due %s while the service was not running: sending it now", week,
                     missed.isoformat())
            self._queue_digest(week)

    # --- heartbeat -------------------------------------------------------------------------

    def beat(self) -> None:
        """Say we are alive (renew the claim), and record what runs next, for ``schoolwatch status``."""
        try:
            now = utcnow()
            ttl = timedelta(seconds=max(30.0, self.heartbeat * LATE_BEATS))
            if not acquire(self.sessions, SERVICE, self.holder, ttl):
                log.error("another process took this service's claim on the database; stopping")
                self.stopping.set()
                return
            with self.sessions.begin() as session:
                row = session.get(ServiceState, SERVICE)
                if row is not None and row.holder == self.holder:
                    row.heartbeat_at, row.info = now, self._info(now)
            self._record_next_runs([s.name for s in self.config.sources])
        except Exception:  # a busy or full database: say so, keep running, try again next beat
            log.exception("heartbeat failed")

    def _record_next_runs(self, names: list[str]) -> None:
        runs = {}
        for name in names:
            job = self.scheduler.get_job(f"scan:{name}") if self.scheduler.running else None
            if job is not None and job.next_run_time is not None:
                runs[name] = job.next_run_time
        if runs:
            with self.sessions.begin() as session:
                for source in session.scalars(select(Source).where(Source.name.in_(list(runs)))):
                    source.next_scan_at = runs[source.name]

    def _info(self, now: datetime) -> dict[str, Any]:
        with self.queue.cond:
            counts = {**self.queue.counts, **self.counts}
        job = self.scheduler.get_job("digest") if self.scheduler.running else None
        upcoming = job.next_run_time if job is not None else next_digest(self.config, now)
        return {"config": str(self.config.path) if self.config.path else None,
                "heartbeat_seconds": self.heartbeat, "sources": len(self.config.sources),
                "workers": self.config.schedule.workers, "counts": counts, "next_digest": iso(upcoming)}


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "alembic", "slack_sdk", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_service(config: Config) -> int:
    """``schoolwatch run``: the service in the foreground until Ctrl-C or SIGTERM."""
    setup_logging()
    return Service(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scheduler.py", description="The schoolwatch service (= schoolwatch run).")
    parser.add_argument("--config", metavar="PATH",
                        help="config file (default: $SCHOOLWATCH_CONFIG, else ./schoolwatch.yaml)")
    args = parser.parse_args(argv)
    try:
        return run_service(load_config(args.config))
    except ConfigError as exc:
        print(f"schoolwatch: {exc}", file=sys.stderr)
        return 2
    except SchoolwatchError as exc:
        print(f"schoolwatch: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
