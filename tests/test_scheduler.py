"""The always-on service, driven on a short clock (seconds, not hours) against local servers.

Scans are real: crawl processes against local HTTP servers, alerts to a real local SMTP
server. Each crawl process costs a few seconds, so the clocks are a second or two and the
waits are generous; the assertions are about counts and order, never about exact timings.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bench.sitegen import generate_site
from crawler.config import Config
from crawler.demo.server import LocalSite, Request, Response, serve
from crawler.leases import acquire
from crawler.storage import Case, Lease, Mention, ScanRun, ServiceState, Source, open_database, utcnow
from alerts.relay import deliver
from scheduler import Service, ServiceBusy
from support.scanning import DEMO_EXPECTED, demo_sources, make_config, stored_counts
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(240)
ROOT = Path(__file__).resolve().parents[1]
QUICK = {"jitter": 0, "heartbeat": 0.5, "deliver_every": 1, "stop_grace": 1}
EMPTY_RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title></channel></rss>"


def wait_until(condition: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")


@contextmanager
def running(config: Config) -> Iterator[Service]:
    """The service in a thread, as ``schoolwatch run`` runs it (start, heartbeats, clean stop)."""
    service = Service(config)
    thread = threading.Thread(target=service.run, name="service")
    thread.start()
    try:
        wait_until(lambda: service.scheduler.running, 30)
        yield service
    finally:
        service.stopping.set()
        thread.join(90)
        assert not thread.is_alive(), "the service did not stop"


def scans_of(config: Config) -> dict[str, int]:
    """Scheduled scans per source, from the scan runs recorded."""
    with open_database(config.storage.database)() as session:
        runs = session.scalars(select(ScanRun).where(ScanRun.trigger == "schedule")).all()
    counts: dict[str, int] = {}
    for run in runs:
        for name in run.sources:
            counts[name] = counts.get(name, 0) + 1
    return counts


def source(config: Config, name: str) -> Source:
    with open_database(config.storage.database)() as session:
        return session.scalars(select(Source).where(Source.name == name)).one()


def test_each_source_is_scanned_again_and_again_on_its_own_interval(tmp_path: Path, demo_site: LocalSite) -> None:
    sources = demo_sources(demo_site.base_url)
    fast = {"local-news", "reviews"}
    for item in sources:
        item["every"] = "2s" if item["name"] in fast else "1h"
    config = make_config(tmp_path, sources, settings={"schedule": QUICK})
    with running(config):
        wait_until(lambda: all(scans_of(config).get(name, 0) >= 3 for name in fast), 150)
        counts = scans_of(config)
    assert counts["local-news-atom"] == counts["parents-forum"] == 1  # hourly: scanned at start, once
    hourly = source(config, "parents-forum")
    assert hourly.last_ok_at is not None and hourly.next_scan_at is None  # cleared when the service stops
    with open_database(config.storage.database)() as session:
        statuses = set(session.scalars(select(ScanRun.status)))
    assert statuses <= {"finished", "interrupted"}


def test_a_slow_source_is_never_scanned_twice_at_once(tmp_path: Path) -> None:
    state = {"active": 0, "most": 0, "fetches": 0}
    lock = threading.Lock()

    def slow(_: Request) -> Response:
        with lock:
            state["active"] += 1
            state["fetches"] += 1
            state["most"] = max(state["most"], state["active"])
        time.sleep(3)
        with lock:
            state["active"] -= 1
        return Response(200, {"Content-Type": "application/rss+xml"}, EMPTY_RSS)

    with serve() as site:
        site.route("/slow.rss", slow)
        config = make_config(tmp_path, [{"name": "slow", "kind": "feed", "url": site.url("/slow.rss"), "every": "1s",
                                         "allow_private": True}], settings={"schedule": QUICK})
        with running(config) as service:
            wait_until(lambda: state["fetches"] >= 3, 120)
            counts = dict(service.queue.counts)
    assert state["most"] == 1  # one scan of a source at a time
    assert counts["coalesced"] >= 3  # runs that fell due meanwhile were coalesced, not queued up
    assert counts["scanned"] <= counts["requested"] - counts["coalesced"] <= counts["scanned"] + 1


def test_runs_missed_while_paused_or_down_become_one_catch_up_scan(tmp_path: Path, demo_site: LocalSite) -> None:
    sources = [{**s, "every": "2s"} for s in demo_sources(demo_site.base_url) if s["name"] in ("local-news", "reviews")]
    config = make_config(tmp_path, sources, settings={"schedule": QUICK})
    with running(config) as service:
        wait_until(lambda: min(scans_of(config).get(n, 0) for n in ("local-news", "reviews")) >= 1, 120)
        service.scheduler.pause()  # the machine slept, or the scheduler was starved: 5 intervals go by
        wait_until(lambda: not service.queue.busy(), 120)
        before = dict(service.queue.counts)
        time.sleep(10)
        service.scheduler.resume()
        time.sleep(1.5)
        after = dict(service.queue.counts)
    queued = (after["requested"] - after.get("coalesced", 0)) - (before["requested"] - before.get("coalesced", 0))
    assert queued == 2  # one catch-up scan per source, not five
    assert after["requested"] - before["requested"] <= 4

    # Down for longer than an interval: at the next start each source is scanned at once, once.
    with open_database(config.storage.database).begin() as session:
        session.execute(update(Source).values(last_scan_at=utcnow() - timedelta(minutes=5)))
    runs_before = sum(scans_of(config).values())
    config = make_config(tmp_path, [{**s, "every": "1m"} for s in sources], settings={"schedule": QUICK})
    with running(config) as service:
        wait_until(lambda: sum(scans_of(config).values()) >= runs_before + 2, 120)
        time.sleep(2)
        counts = dict(service.queue.counts)
    assert counts["requested"] == 2 and sum(scans_of(config).values()) == runs_before + 2


def test_a_failing_source_is_alerted_once_and_once_more_when_it_recovers(tmp_path: Path, hostile_site: LocalSite,
                                                                         smtp: LocalSMTP) -> None:
    state = {"up": False}
    hostile_site.route("/flaky.rss", lambda _: Response(200, {"Content-Type": "application/rss+xml"}, EMPTY_RSS)
                       if state["up"] else Response(500, {"Content-Type": "text/html"}, b"down"))
    config = make_config(tmp_path, [{"name": "flaky", "kind": "feed", "url": hostile_site.url("/flaky.rss"),
                                     "every": "1s", "allow_private": True}],
                         settings={"schedule": QUICK, "alerts": {"email": smtp.settings()}})

    def subjects() -> list[str]:
        return [m["Subject"] for m in smtp.messages]

    with running(config):
        wait_until(lambda: source(config, "flaky").failures >= 4, 150)
        wait_until(lambda: any("Source failing: flaky" in s for s in subjects()), 30)
        time.sleep(2)  # a few more failed scans and deliveries
        state["up"] = True
        wait_until(lambda: any("Source working again: flaky" in s for s in subjects()), 150)
        time.sleep(3)
    assert sum("Source failing: flaky" in s for s in subjects()) == 1
    assert sum("Source working again: flaky" in s for s in subjects()) == 1
    assert len(subjects()) == 2


def test_sigterm_mid_scan_stops_cleanly_without_half_rows(tmp_path: Path) -> None:
    generate_site(tmp_path / "site", pages=1200, page_kb=4, mention_every=20, seed=2)
    with serve(tmp_path / "site") as site:
        config = make_config(tmp_path / "data", [{"name": "big-site", "kind": "site", "url": site.url("/"),
                                                  "depth": 8, "every": "1h", "allow_private": True}],
                             settings={"schedule": QUICK})
        service = subprocess.Popen([sys.executable, "scheduler.py", "--config", str(config.path)], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: stored_counts(config)["mentions"] >= 1 or service.poll() is not None, 120)
            assert service.poll() is None, service.communicate()[1]
            service.send_signal(signal.SIGTERM)
            out, err = service.communicate(timeout=90)
        finally:
            if service.poll() is None:
                service.kill()
    assert service.returncode == 0, err
    assert "schoolwatch service stopped." in err
    counts = stored_counts(config)
    assert counts["mentions"] >= 1
    assert counts["mentions_without_revision"] == 0 and counts["revisions_without_outbox"] == 0
    with open_database(config.storage.database)() as session:
        runs = session.scalars(select(ScanRun)).all()
        assert [r.status for r in runs] == ["interrupted"]  # stopped on purpose, and recorded as such
        assert session.scalars(select(Lease)).all() == []  # nothing left locked
        assert session.get(ServiceState, "scheduler").stopped_at is not None
    assert source(config, "big-site").failures == 0  # a stop is not the source's fault: no false alarm


def test_schoolwatch_scan_skips_a_source_the_service_is_scanning(tmp_path: Path, demo_site: LocalSite) -> None:
    release = threading.Event()

    def held(_: Request) -> Response:
        release.wait(60)
        return Response(200, {"Content-Type": "application/rss+xml"}, EMPTY_RSS)

    with serve() as site:
        site.route("/held.rss", held)
        sources = [{"name": "held", "kind": "feed", "url": site.url("/held.rss"), "every": "1h", "allow_private": True},
                   *(s for s in demo_sources(demo_site.base_url) if s["name"] == "reviews")]
        sources[1]["every"] = "1h"
        config = make_config(tmp_path, sources, settings={"schedule": QUICK}, timeout=90)
        with open_database(config.storage.database).begin() as session:  # reviews is not due: only held is scanned
            session.add(Source(name="reviews", kind="page", url=sources[1]["url"], failures=0, last_scan_at=utcnow()))
        with running(config):
            sessions = open_database(config.storage.database)
            with sessions() as session:
                wait_until(lambda: session.get(Lease, "scan:held") is not None, 60)
            done = subprocess.run([sys.executable, "-m", "crawler", "scan", "--config", str(config.path),
                                   "--source", "held", "--source", "reviews", "--no-alerts"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=120)
            as_json = subprocess.run([sys.executable, "-m", "crawler", "scan", "--config", str(config.path),
                                      "--source", "held", "--json", "--no-alerts"],
                                     cwd=ROOT, capture_output=True, text=True, timeout=120)
            release.set()
    assert done.returncode == 0, done.stderr
    assert "held: skipped: already being scanned by another process" in done.stderr
    assert "Skipped held: already being scanned by another process." in done.stdout
    assert "✔ reviews: done" in done.stderr and "1 sources" in done.stdout
    result = json.loads(as_json.stdout)
    assert result["sources"] == 0 and result["skipped"] == [{"source": "held", "reason": "already being scanned by "
                                                                                          "another process"}]


def test_a_second_service_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    config = make_config(tmp_path, [], settings={"schedule": QUICK})
    with running(config):
        with pytest.raises(ServiceBusy, match="already running"):
            Service(config).start()
        done = subprocess.run([sys.executable, "scheduler.py", "--config", str(config.path)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1 and "another schoolwatch service is already running" in done.stderr

    # A service killed on this machine (its process is gone) does not block the next start.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    holder = f"{socket.gethostname()}:{dead.stdout.strip()}:deadbeef"
    sessions = open_database(config.storage.database)
    assert acquire(sessions, "scheduler", holder, timedelta(hours=1))
    with running(config) as service:
        assert service.holder != holder


def test_the_service_sends_a_digest_it_missed_while_it_was_down(tmp_path: Path, smtp: LocalSMTP) -> None:
    from alerts.status import next_digest

    config = make_config(tmp_path, [], settings={"schedule": QUICK, "alerts": {"email": smtp.settings()},
                                                 "digest": {"when": "mon 07:30", "to": ["email"]}})
    with open_database(config.storage.database).begin() as session:  # it was watching before the digest was due
        session.add(ScanRun(status="finished", trigger="schedule", sources=[],
                            started_at=utcnow() - timedelta(days=8), finished_at=utcnow() - timedelta(days=8)))
    with running(config) as service:
        digest = smtp.wait_for(1, timeout=30)
        job = service.scheduler.get_job("digest")
        assert job.next_run_time == next_digest(config, utcnow())
    assert len(digest) == 1 and digest[0]["Subject"].startswith("[schoolwatch] DIGEST: Week ")
    with running(config):  # started again: that week's digest is not sent twice
        time.sleep(2)
    assert len(smtp.messages) == 1


def test_schoolwatch_run_starts_the_same_service_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    config = make_config(tmp_path, [], settings={"schedule": QUICK})
    service = subprocess.Popen([sys.executable, "-m", "crawler", "run", "--config", str(config.path)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sessions = open_database(config.storage.database)

        def heartbeat() -> bool:
            with sessions() as session:
                row = session.get(ServiceState, "scheduler")
                return row is not None and row.stopped_at is None and service.poll() is None
        wait_until(heartbeat, 60)
        service.send_signal(signal.SIGINT)
        _, err = service.communicate(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, err
    assert "schoolwatch service started: 0 source(s)" in err and err.rstrip().endswith("schoolwatch service stopped.")


def test_the_retention_rules_run_every_night(tmp_path: Path, demo_site: LocalSite) -> None:
    config = make_config(tmp_path, demo_sources(demo_site.base_url), settings={"retention": {"mentions_days": 1}})
    with running(config) as service:
        job = service.scheduler.get_job("retention")
        assert job is not None and "hour='3'" in str(job.trigger) and "minute='30'" in str(job.trigger)
        wait_until(lambda: stored_counts(config)["mentions"] == len(DEMO_EXPECTED["mentions"]), 60)
        service.stopping.set()  # no more scans: they would see the posts again
        deliver(config)  # every alert out (purge keeps a mention whose alert is still queued)
        with open_database(config.storage.database).begin() as session:
            session.execute(update(Mention).values(last_seen=utcnow() - timedelta(days=3)))
            caseless = session.scalars(select(Mention.id).where(Mention.id.not_in(select(Case.id)))).all()
        assert caseless, "the feed should have some low-severity mentions that opened no case"
        service._retention_job()
    with open_database(config.storage.database)() as session:
        assert not session.scalars(select(Mention.id).where(Mention.id.in_(caseless))).all()
        assert session.scalars(select(Case.id)).all()  # cases are kept
    assert (tmp_path / "logs" / "purge.log").exists()
