"""``schoolwatch status``: is the service alive, is every source healthy, is anything waiting?

Read from the database only, so it works from any process, whether the service is running
or not: the service's heartbeat (``service_state``), each source's health and next scan,
the outbox, and the cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from alerts.cases import list_cases
from alerts.digest import KIND as DIGEST
from crawler.config import DAYS, Config
from crawler.records import iso
from crawler.storage import Delivery, Lease, Outbox, ServiceState, Source, open_database, utcnow

SERVICE = "scheduler"  # the service_state row and the lease the service holds
LATE_BEATS = 3  # a heartbeat older than this many intervals means the service is not running


def next_digest(config: Config, now: datetime) -> datetime:
    """The next ``digest.when`` after ``now``, in the school's time zone."""
    zone = ZoneInfo(config.school.timezone)
    local = now.astimezone(zone)
    day = DAYS.index(config.digest.day)
    for ahead in range(8):
        candidate = datetime.combine(local.date() + timedelta(days=ahead), config.digest.at, tzinfo=zone)
        if candidate.weekday() == day and candidate > local:
            return candidate
    raise AssertionError("a weekday always comes round within eight days")


def service_record(row: ServiceState | None, now: datetime) -> dict[str, Any]:
    if row is None:
        return {"state": "never started", "running": False}
    info = dict(row.info or {})
    every = float(info.get("heartbeat_seconds") or 60)
    age = (now - row.heartbeat_at).total_seconds()
    running = row.stopped_at is None and age <= every * LATE_BEATS + 5
    if running:
        state = "running"
    elif row.stopped_at is not None:
        state = "stopped"
    else:
        state = "not responding"  # killed, crashed or the machine went down: no clean stop, no heartbeat
    host, _, rest = row.holder.partition(":")
    return {"state": state, "running": running, "host": host, "pid": int(rest.split(":")[0] or 0),
            "started_at": iso(row.started_at), "heartbeat_at": iso(row.heartbeat_at),
            "heartbeat_age_seconds": round(age, 1), "stopped_at": iso(row.stopped_at),
            "config": info.get("config"), "counts": info.get("counts") or {}, "next_digest": info.get("next_digest")}


def source_records(config: Config, rows: dict[str, Source], scanning: set[str], running: bool,
                   now: datetime) -> list[dict[str, Any]]:
    records = []
    for options in config.sources:
        row = rows.get(options.name)
        last_scan = row.last_scan_at if row else None
        if running and row is not None and row.next_scan_at is not None:
            next_run, estimated = row.next_scan_at, False
        else:  # when the service (re)starts, an overdue source is scanned at once
            next_run, estimated = max(now, last_scan + options.every) if last_scan else now, True
        failing = bool(row and row.failures)
        records.append({
            "name": options.name, "kind": options.kind, "url": options.url,
            "every_seconds": int(options.every.total_seconds()),
            "state": "failing" if failing else ("ok" if row and row.last_ok_at else "not scanned yet"),
            "scanning": options.name in scanning,
            "last_scan_at": iso(last_scan), "last_ok_at": iso(row.last_ok_at if row else None),
            "next_run_at": iso(next_run), "next_run_estimated": estimated,
            "failing_since": iso(row.error_since) if failing and row else None,
            "failures": row.failures if row else 0, "reason": row.last_error if failing and row else None,
        })
    return records


def status(config: Config, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``schoolwatch status --json`` prints."""
    now = now or utcnow()
    sessions = open_database(config.storage.database)
    with sessions() as session:
        service = service_record(session.get(ServiceState, SERVICE), now)
        rows = {s.name: s for s in session.scalars(select(Source))}
        scanning = {name.removeprefix("scan:") for name in session.scalars(
            select(Lease.name).where(Lease.name.like("scan:%"), Lease.expires_at > now))}
        counts = dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        unrouted = session.scalar(select(func.count(Outbox.id)).where(Outbox.status == "pending")) or 0
        failed = [{"id": d.id, "channel": d.channel, "kind": d.event.kind, "reason": d.last_error,
                   "attempts": d.attempts, "created_at": iso(d.created_at)}
                  for d in session.scalars(select(Delivery).where(Delivery.status == "failed")
                                           .order_by(Delivery.id.desc()).limit(20)).unique()]
        waiting = [{"id": d.id, "channel": d.channel, "kind": d.event.kind, "reason": d.last_error,
                    "attempts": d.attempts, "next_attempt_at": iso(d.next_attempt_at)}
                   for d in session.scalars(select(Delivery).where(Delivery.status == "pending")
                                            .order_by(Delivery.id).limit(20)).unique()]
        last_digest = session.scalar(select(Outbox.idempotency_key).where(Outbox.kind == DIGEST)
                                     .order_by(Outbox.id.desc()).limit(1))
    sources = source_records(config, rows, scanning, service["running"], now)
    open_cases = list_cases(config, open_only=True, now=now)
    overdue = [c for c in open_cases if c["overdue"]]
    brief = ("id", "status", "severity", "due", "overdue", "source", "url", "title")
    return {
        "checked_at": iso(now),
        "service": service,
        "sources": sources,
        "alerts": {"pending": counts.get("pending", 0) + unrouted, "failed": counts.get("failed", 0),
                   "sent": counts.get("sent", 0), "pending_list": waiting, "failed_list": failed},
        "cases": {"open": len(open_cases), "overdue": len(overdue),
                  "overdue_list": [{k: c[k] for k in brief} for c in overdue],
                  "open_list": [{k: c[k] for k in brief} for c in open_cases if not c["overdue"]]},
        "digest": {"when": config.digest.when, "to": config.alerts.channels_among(config.digest.to),
                   "next": service.get("next_digest") if service["running"] else iso(next_digest(config, now)),
                   "last_queued": last_digest.split(":", 1)[1] if last_digest else None},
    }


def needs_attention(report: dict[str, Any]) -> bool:
    """Exit code 1 for monitoring: the service is down, a source is failing or an alert failed."""
    return (not report["service"]["running"] or any(s["state"] == "failing" for s in report["sources"])
            or report["alerts"]["failed"] > 0)
