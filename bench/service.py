"""The always-on service under load: 50 local sources every 10 seconds, for 10 minutes.

    .venv/bin/python bench/service.py [--sources 50] [--every 10] [--minutes 10] [--jitter 2]
                                      [--workers 2] [--out bench/results/service.json]

One local HTTP server (crawler/demo/server.py, with ETag and Last-Modified, as a careful real
server) serves ``--sources`` RSS feeds of 20 entries each; a few entries name the school. While
the service runs, one feed a minute gains an entry about the school (a new mention: stored with
its evidence, alerted to the mailbox folder). The service runs as ``python scheduler.py`` in
its own process, exactly as ``schoolwatch run``; this script samples, once a second, the
resident memory of that process and of all its descendants (the crawl processes) from
/proc, then stops it with SIGTERM and reads what happened from the database.

Reported:

* scans: **scheduled** is the ideal (sources x duration / every); **fired** is how often the
  scheduler's jobs fired (``every`` plus up to ``jitter`` apart); **completed** is source-scans
  that finished (from the scan runs); **coalesced** are runs that fell due while the source was
  still queued or being scanned (dropped, not queued up). Also crawl processes (batches), their
  size and duration, and each source's achieved interval.
* memory: the service process's own RSS (peak, final, and its trend over the second half of
  the run, MB per hour), and the peak of service + crawl processes together.
* CPU: seconds of CPU used by the service and every crawl process it waited for
  (``RUSAGE_CHILDREN`` of this script), as a share of the run's wall time and of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import yaml  # noqa: E402
from sqlalchemy import select  # noqa: E402

from crawler.demo.server import serve  # noqa: E402
from crawler.storage import ScanRun, ServiceState, Source, open_database  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
WORDS = ("parents", "council", "bus route", "library", "football club", "market", "allotments", "roadworks")


def feed(number: int, entries: list[tuple[str, str]]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{{{{BASE}}}}/feed-{number}/{slug}.html</link>"
        f"<guid isPermaLink='false'>feed-{number}-{slug}</guid>"
        f"<pubDate>{format_datetime(datetime(2026, 11, 1, tzinfo=timezone.utc))}</pubDate>"
        f"<description>{title}. More local news from Bentilee and Stoke-on-Trent.</description></item>"
        for slug, title in entries)
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Local feed {number}</title>"
            f"<link>{{{{BASE}}}}/</link><description>bench feed</description>{items}</channel></rss>")


def write_site(folder: Path, sources: int) -> dict[int, list[tuple[str, str]]]:
    feeds = {}
    for n in range(sources):
        entries = [(f"item-{k}", f"News about the {WORDS[(n + k) % len(WORDS)]} in Bentilee, item {k}")
                   for k in range(20)]
        if n % 10 == 0:
            entries[0] = ("nursery-open-day", "Bentilee Nursery School holds an open day for families")
        feeds[n] = entries
        (folder / f"feed-{n}.xml").write_text(feed(n, entries), encoding="utf-8")
        for slug, title in entries:
            page = folder / f"feed-{n}" / f"{slug}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(f"<html><head><title>{title}</title></head><body><p>{title}.</p></body></html>",
                            encoding="utf-8")
    (folder / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    return feeds


def add_mention(folder: Path, feeds: dict[int, list[tuple[str, str]]], n: int, serial: int) -> None:
    """A feed gains an entry about the school: a new mention for the next scan."""
    slug = f"new-{serial}"
    title = f"Parents angry about parking chaos outside Bentilee Nursery School, story {serial}"
    feeds[n].insert(0, (slug, title))
    page = folder / f"feed-{n}" / f"{slug}.html"
    page.write_text(f"<html><head><title>{title}</title></head><body><p>{title}. Parents say the parking at "
                    f"Bentilee Nursery School is dangerous and nobody listens to complaints.</p></body></html>",
                    encoding="utf-8")
    target = folder / f"feed-{n}.xml"
    target.with_suffix(".tmp").write_text(feed(n, feeds[n][:20]), encoding="utf-8")
    os.replace(target.with_suffix(".tmp"), target)


def proc_stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def is_crawl(pid: int) -> bool:
    try:
        return b"crawler.crawl_process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    fields = proc_stat(pid)
    return int(fields[21]) * PAGE / 1e6 if fields else 0.0


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0  # utime + stime, the service alone


def slope_mb_per_hour(samples: list[tuple[float, float]]) -> float:
    if len(samples) < 3:
        return 0.0
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return 0.0 if not spread else sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread * 3600


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="schoolwatch-bench-service-"))
    site_dir = work / "site"
    site_dir.mkdir()
    feeds = write_site(site_dir, args.sources)
    with serve(site_dir) as site:
        config_file = work / "schoolwatch.yaml"
        config_file.write_text(yaml.safe_dump({
            "school": {"name": "Bentilee Nursery School", "aliases": ["Bentilee Nursery"]},
            "storage": {"database": "sqlite:///schoolwatch.db", "archive": "archive", "mailbox": "mailbox"},
            "crawl": {"contact": "https://example.org/schoolwatch-bench", "autothrottle": False, "timeout": 10},
            "alerts": {"rollup_after": 20},
            "schedule": {"default_every": args.every, "jitter": args.jitter, "workers": args.workers,
                         "batch": args.batch, "heartbeat": 5, "deliver_every": "1m", "stop_grace": 5},
            "sources": [{"name": f"feed-{n}", "kind": "feed", "url": site.url(f"/feed-{n}.xml"),
                         "allow_private": True} for n in range(args.sources)],
        }), encoding="utf-8")
        log_file = work / "service.log"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        with open(log_file, "wb") as log:
            service = subprocess.Popen([sys.executable, str(ROOT / "scheduler.py"), "--config", str(config_file)],
                                       cwd=ROOT, stdout=log, stderr=log)
        duration = args.minutes * 60
        own: list[tuple[float, float]] = []
        tree_peak, crawls_peak, helpers_peak, children_peak, serial = 0.0, 0.0, 0.0, 0, 0
        next_edit = started + 60
        try:
            while (now := time.monotonic()) - started < duration and service.poll() is None:
                mine = rss_mb(service.pid)
                kids = descendants(service.pid)
                crawls = sum(rss_mb(pid) for pid in kids if is_crawl(pid))
                helpers = sum(rss_mb(pid) for pid in kids if not is_crawl(pid))  # the screenshot browser
                tree_peak = max(tree_peak, mine + crawls + helpers)
                crawls_peak, helpers_peak = max(crawls_peak, crawls), max(helpers_peak, helpers)
                children_peak = max(children_peak, len(kids))
                own.append((now - started, mine))
                if now >= next_edit:
                    serial += 1
                    add_mention(site_dir, feeds, (serial * 7) % args.sources, serial)
                    next_edit += 60
                time.sleep(1.0)
            service_cpu = cpu_seconds(service.pid)
            final_own = rss_mb(service.pid)
        finally:
            service.send_signal(signal.SIGTERM)
            try:
                service.wait(120)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait()
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    sessions = open_database(f"sqlite:///{work / 'schoolwatch.db'}")
    with sessions() as session:
        runs = session.scalars(select(ScanRun).where(ScanRun.trigger == "schedule").order_by(ScanRun.id)).all()
        state = session.get(ServiceState, "scheduler")
        health = session.scalars(select(Source)).all()
    counts = dict(state.info.get("counts") or {}) if state else {}
    per_source: dict[str, int] = {}
    for scan in runs:
        if scan.status in ("finished", "failed"):
            for name in scan.sources:
                per_source[name] = per_source.get(name, 0) + 1
    done = [r for r in runs if r.finished_at is not None]
    seconds = sorted((r.finished_at - r.started_at).total_seconds() for r in done)
    sizes = [len(r.sources) for r in runs if r.sources]
    half = [s for s in own if s[0] >= duration / 2]
    completed = sum(per_source.values())
    errors = sum(len(r.errors) for r in runs if r.status != "interrupted")  # the last, stopped by SIGTERM
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"sources": args.sources, "every_seconds": args.every, "jitter_seconds": args.jitter,
                     "minutes": args.minutes, "workers": args.workers, "batch": args.batch},
        "scans": {
            "scheduled": int(args.sources * duration / args.every),
            "fired": counts.get("requested", 0),
            "coalesced": counts.get("coalesced", 0),
            "completed": completed,
            "completed_share_of_scheduled": round(completed / max(1, args.sources * duration / args.every), 3),
            "skipped_by_lease": counts.get("skipped", 0),
            "source_errors": errors,
            "sources_failing_at_end": sum(1 for s in health if s.failures),
            "crawl_processes": len(runs),
            "batch_size": {"mean": round(statistics.fmean(sizes), 1) if sizes else 0, "max": max(sizes, default=0)},
            "batch_seconds": {"median": round(statistics.median(seconds), 1) if seconds else None,
                              "p95": round(seconds[int(0.95 * (len(seconds) - 1))], 1) if seconds else None,
                              "max": round(max(seconds), 1) if seconds else None},
            "per_source_scans": {"min": min(per_source.values(), default=0),
                                 "median": statistics.median(per_source.values()) if per_source else 0,
                                 "max": max(per_source.values(), default=0)},
            "mean_interval_seconds": round(duration * args.sources / completed, 1) if completed else None,
            "new_mentions": sum(r.mentions_new for r in runs),
            "alerts_sent": counts.get("alerts_sent", 0),
        },
        "memory_mb": {
            "service_peak": round(max((s[1] for s in own), default=0), 1),
            "service_final": round(final_own, 1),
            "service_first_minute_peak": round(max((s[1] for s in own if s[0] <= 60), default=0), 1),
            "service_trend_second_half_mb_per_hour": round(slope_mb_per_hour(half), 2),
            "service_and_crawls_peak": round(tree_peak, 1),
            "crawl_processes_peak": round(crawls_peak, 1),
            "browser_and_other_helpers_peak": round(helpers_peak, 1),
            "service_by_minute": [round(max(s[1] for s in own if minute * 60 <= s[0] < (minute + 1) * 60), 1)
                                  for minute in range(int(duration // 60)) if any(minute * 60 <= s[0] < (minute + 1) * 60
                                                                                 for s in own)],
            "largest_crawl_process_peak": round(after.ru_maxrss / 1024, 1),
            "most_processes_at_once": children_peak + 1,
        },
        "cpu": {"seconds_total": round(cpu, 1), "seconds_service_alone": round(service_cpu, 1),
                "seconds_crawl_processes": round(cpu - service_cpu, 1), "wall_seconds": round(wall, 1),
                "share_of_one_core": round(cpu / wall, 2), "share_of_machine": round(cpu / wall / (os.cpu_count() or 1), 2),
                "cpu_seconds_per_source_scan": round(cpu / completed, 3) if completed else None},
        "stopped": {"exit_code": service.returncode,
                    "clean": "schoolwatch service stopped." in log_file.read_text("utf-8", "replace")},
        "work_folder": str(work),
    }


def table(result: dict[str, Any]) -> str:
    s, m, c = result["scans"], result["memory_mb"], result["cpu"]
    rows = [
        ("sources x every x minutes", f"{result['settings']['sources']} x {result['settings']['every_seconds']} s "
                                      f"(+ jitter up to {result['settings']['jitter_seconds']} s) x {result['settings']['minutes']} min"),
        ("scans scheduled (ideal)", s["scheduled"]),
        ("scans fired by the scheduler", s["fired"]),
        ("  coalesced (source still busy)", s["coalesced"]),
        ("scans completed", f"{s['completed']} ({s['completed_share_of_scheduled']:.0%} of scheduled)"),
        ("  per source min / median / max", f"{s['per_source_scans']['min']} / {s['per_source_scans']['median']} / "
                                            f"{s['per_source_scans']['max']}"),
        ("  achieved interval per source", f"{s['mean_interval_seconds']} s"),
        ("crawl processes (batches)", f"{s['crawl_processes']}, mean {s['batch_size']['mean']} sources, max "
                                      f"{s['batch_size']['max']}"),
        ("  batch seconds median / p95 / max", f"{s['batch_seconds']['median']} / {s['batch_seconds']['p95']} / "
                                               f"{s['batch_seconds']['max']}"),
        ("source errors / failing at end", f"{s['source_errors']} / {s['sources_failing_at_end']}"),
        ("new mentions / alerts sent", f"{s['new_mentions']} / {s['alerts_sent']}"),
        ("service RSS peak / final (MB)", f"{m['service_peak']} / {m['service_final']}"),
        ("service RSS trend, 2nd half", f"{m['service_trend_second_half_mb_per_hour']:+} MB/h"),
        ("service RSS by minute (MB)", " ".join(map(str, m["service_by_minute"]))),
        ("all processes RSS peak (MB)", f"{m['service_and_crawls_peak']} (crawls {m['crawl_processes_peak']}, "
                                        f"screenshot browser {m['browser_and_other_helpers_peak']})"),
        ("largest crawl process (MB)", m["largest_crawl_process_peak"]),
        ("CPU s total / service / crawls", f"{c['seconds_total']} / {c['seconds_service_alone']} / "
                                           f"{c['seconds_crawl_processes']}"),
        ("CPU use", f"{c['share_of_one_core']:.2f} cores of {result['machine']['cpus']} "
                    f"({c['share_of_machine']:.0%} of the machine)"),
        ("CPU s per source-scan", c["cpu_seconds_per_source_scan"]),
        ("stopped cleanly (SIGTERM)", f"{result['stopped']['clean']}, exit {result['stopped']['exit_code']}"),
        ("load average at end", " ".join(map(str, result["machine"]["load_average_at_end"]))),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--every", type=int, default=10, help="seconds between scans of each source")
    parser.add_argument("--jitter", type=int, default=2, help="seconds of jitter (schedule.jitter)")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--out", default=str(HERE / "results" / "service.json"))
    args = parser.parse_args()
    result = run(args)
    print(table(result))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {out}; the service's log and database are in {result['work_folder']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
