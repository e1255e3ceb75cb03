"""The weekly digest: what the web said about the school last week, for the SLT's Monday.

Mentions first seen in the week (Monday to Sunday in the school's time zone), by tone, by
severity and by source, each against the week before; a chart of them per day; open and
overdue cases; the most serious mentions with their links and evidence; the sources that
failed. :func:`build` gathers it as plain JSON-able data, which the outbox event carries, so
a digest retried later says exactly what it said the first time; the templates
``digest.txt.j2`` and ``digest.html.j2`` and Slack's blocks present it.

The service queues it weekly (``digest.when``) as an outbox event ``digest.weekly`` whose
idempotency key is the week, so a week's digest is sent once per channel, never twice and
never lost, even across restarts.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.cases import list_cases
from alerts.chart import week_chart
from alerts.message import SEVERITY_RANK, Alert
from alerts.render import render
from crawler.config import SEVERITIES, Config
from crawler.errors import SchoolwatchError
from crawler.records import iso, mention_record
from crawler.storage import Case, Mention, Outbox, ScanRun, Source, open_database, utcnow

KIND = "digest.weekly"
CHART = "digest-chart.png"
TONE_ORDER = ("negative", "neutral", "positive")
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.IGNORECASE)


def parse_week(value: str) -> str:
    """``2026-W47`` (ISO week), checked and normalised; a readable error otherwise."""
    match = _WEEK.match((value or "").strip())
    try:
        if not match:
            raise ValueError
        date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise SchoolwatchError(f"--week {value!r} is not an ISO week such as 2026-W47") from None
    return f"{int(match.group(1))}-W{int(match.group(2)):02d}"


def last_full_week(now: datetime, timezone: str) -> str:
    """The ISO week before the one ``now`` falls in, in the school's time zone."""
    year, week, _ = (now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, local time (so a week with a clock change is 167 or 169 hours)."""
    year, number = (int(part) for part in week.split("-W"))
    monday = date.fromisocalendar(year, number, 1)
    zone = ZoneInfo(timezone)
    return (datetime.combine(monday, time.min, tzinfo=zone),
            datetime.combine(monday + timedelta(days=7), time.min, tzinfo=zone))


def week_label(start: datetime) -> str:
    end = start + timedelta(days=6)
    if start.month == end.month:
        return f"{start:%a} {start.day}–{end:%a} {end.day} {end:%b %Y}"
    return f"{start:%a} {start.day} {start:%b}–{end:%a} {end.day} {end:%b %Y}"


def change(count: int, previous: int) -> str:
    """"+3", "−2" or "same", against the week before."""
    difference = count - previous
    if difference == 0:
        return "same"
    return f"+{difference}" if difference > 0 else f"\u2212{-difference}"


def _counts(mentions: list[Mention], key: Any) -> Counter[str]:
    return Counter(key(m) for m in mentions)


def _rows(names: list[str], now: Counter[str], before: Counter[str]) -> list[dict[str, Any]]:
    return [{"name": name, "count": now[name], "previous": before[name], "change": change(now[name], before[name])}
            for name in names]


def build(config: Config, week: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Gather the digest of ``week`` (default: the last full week) as JSON-able data."""
    now = now or utcnow()
    zone = config.school.timezone
    week = parse_week(week) if week else last_full_week(now, zone)
    start, end = week_bounds(week, zone)
    before = start - timedelta(days=7)
    sessions = open_database(config.storage.database)
    with sessions() as session:
        this = list(session.scalars(select(Mention).where(Mention.first_seen >= start, Mention.first_seen < end)
                                    .order_by(Mention.id)).unique())
        last = list(session.scalars(select(Mention).where(Mention.first_seen >= before, Mention.first_seen < start))
                    .unique())
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_([m.id for m in this])))}
        top = _top_mentions(this, cases, config, now)
        failed = _failed_sources(session, start, end)
        runs = list(session.execute(select(ScanRun.status).where(ScanRun.started_at >= start,
                                                                 ScanRun.started_at < end)).scalars())
        by_day = _by_day(this, last, start, zone)
        tone = (_counts(this, lambda m: m.tone or "not judged"), _counts(last, lambda m: m.tone or "not judged"))
        severity = (_counts(this, lambda m: m.severity or "low"), _counts(last, lambda m: m.severity or "low"))
        source = (_counts(this, lambda m: m.source.name), _counts(last, lambda m: m.source.name))
    open_cases = list_cases(config, open_only=True, now=now)
    overdue = [c for c in open_cases if c["overdue"]]
    configured = [s.name for s in config.sources]
    sources = sorted(set(configured) | set(source[0]) | set(source[1]),
                     key=lambda name: (-source[0][name], -source[1][name], name))
    tones = [*TONE_ORDER, *sorted((set(tone[0]) | set(tone[1])) - set(TONE_ORDER))]
    return {
        "week": week, "label": week_label(start), "start": iso(start), "end": iso(end), "built_at": iso(now),
        "school": config.school.name, "timezone": zone,
        "total": {"count": len(this), "previous": len(last), "change": change(len(this), len(last))},
        "by_tone": _rows(tones, *tone),
        "by_severity": _rows(list(SEVERITIES), *severity),
        "by_source": _rows(sources, *source),
        "by_day": by_day,
        "top": top,
        "cases": {"open": len(open_cases), "overdue": len(overdue),
                  "overdue_list": [_case_brief(c) for c in overdue[:20]],
                  "open_list": [_case_brief(c) for c in open_cases if not c["overdue"]][:20]},
        "failed_sources": failed,
        "scans": {"runs": len(runs), "failed": sum(1 for status in runs if status == "failed")},
    }


def _by_day(this: list[Mention], last: list[Mention], start: datetime, zone: str) -> list[dict[str, Any]]:
    tz = ZoneInfo(zone)
    days = [(start + timedelta(days=n)).date() for n in range(7)]
    now_by = Counter((m.first_seen.astimezone(tz).date(), m.tone or "neutral") for m in this)
    before_by = Counter(m.first_seen.astimezone(tz).date() + timedelta(days=7) for m in last)
    return [{"date": day.isoformat(), "label": f"{day:%a} {day.day}",
             **{tone: now_by[(day, tone)] for tone in TONE_ORDER}, "previous": before_by[day]} for day in days]


def _top_mentions(mentions: list[Mention], cases: dict[int, Case], config: Config,
                  now: datetime) -> list[dict[str, Any]]:
    """The most serious first: severity, then negative before the rest, then the newest."""
    ranked = sorted(mentions, key=lambda m: (-SEVERITY_RANK.get(m.severity or "low", 0),
                                             m.tone != "negative", -m.first_seen.timestamp(), m.id))
    out = []
    for mention in ranked[:config.digest.top]:
        record = mention_record(mention, config.storage.archive)
        case = cases.get(mention.id)
        out.append({key: record[key] for key in ("id", "source", "url", "title", "snippet", "matched", "tone",
                                                 "concerns", "severity", "first_seen", "evidence")}
                   | {"case": case.id if case else None, "case_status": case.status if case else None,
                      "due": iso(case.due) if case else None,
                      "overdue": bool(case and case.status in ("open", "acknowledged") and case.due <= now)})
    return out


def _failed_sources(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Sources with a failed scan in the week, and any failing now, with the latest reason."""
    failures: dict[str, dict[str, Any]] = {}
    runs = session.execute(select(ScanRun.started_at, ScanRun.errors).where(  # a stopped scan is not a failure
        ScanRun.started_at >= start, ScanRun.started_at < end, ScanRun.status != "interrupted").order_by(ScanRun.id))
    for started, errors in runs:
        for error in errors or []:
            name = error.get("source")
            if not name:
                continue
            entry = failures.setdefault(name, {"name": name, "url": error.get("url"), "failed_scans": 0,
                                               "still_failing": False, "since": None})
            entry["failed_scans"] += 1
            entry["reason"], entry["last_failed"] = error.get("reason"), iso(started)
    for source in session.scalars(select(Source)):
        entry = failures.get(source.name)
        failing = bool(source.failures)
        if entry is None and not failing:
            continue
        entry = entry or failures.setdefault(source.name, {"name": source.name, "url": source.url, "failed_scans": 0,
                                                           "reason": source.last_error, "last_failed": None})
        entry["still_failing"] = failing
        entry["since"] = iso(source.error_since) if failing else None
        if failing:
            entry["reason"] = source.last_error or entry.get("reason")
    return sorted(failures.values(), key=lambda e: (not e.get("still_failing"), -e["failed_scans"], e["name"]))


def _case_brief(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in ("id", "status", "severity", "due", "overdue", "source", "url", "title")}


# --- presenting it -----------------------------------------------------------------------------

def headline(data: dict[str, Any]) -> str:
    negative = next((row["count"] for row in data["by_tone"] if row["name"] == "negative"), 0)
    words = f"Week {int(data['week'].split('-W')[1])} ({data['label']}): {data['total']['count']} mention(s)"
    if negative:
        words += f", {negative} negative"
    if data["cases"]["overdue"]:
        words += f", {data['cases']['overdue']} case(s) overdue"
    return words


def digest_alert(key: str, data: dict[str, Any], config: Config, created: datetime | None = None) -> Alert:
    """The digest as an alert, with its chart; the same data always gives the same message."""
    return Alert(key=key, kind=KIND, severity="low", headline=headline(data), school=data.get("school") or
                 config.school.name, timezone=data.get("timezone") or config.school.timezone,
                 facts=(f"{data['total']['count']} mention(s) in the week ({data['total']['change']} on the week before).",),
                 created=created, extra={"digest": data}, template="digest",
                 images=((CHART, week_chart(data["by_day"])),))


def text(data: dict[str, Any], config: Config) -> str:
    """The plain-text digest (the email's text part; what ``schoolwatch digest`` prints)."""
    alert = digest_alert(f"{KIND}:{data['week']}", data, config)
    return render(alert, "digest.txt.j2")


def html(data: dict[str, Any], config: Config) -> str:
    """A self-contained HTML page: the chart is a ``data:`` URI (``schoolwatch digest --out``)."""
    alert = digest_alert(f"{KIND}:{data['week']}", data, config)
    sources = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in alert.images}
    return render(alert, "digest.html.j2", image_src=sources)


# --- queueing it -----------------------------------------------------------------------------

def queue_digest(config: Config, data: dict[str, Any], now: datetime | None = None) -> bool:
    """Put a built digest in the outbox, once per week; False when that week's is there already."""
    key = f"{KIND}:{data['week']}"
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        if session.scalar(select(Outbox.id).where(Outbox.idempotency_key == key)) is not None:
            return False
        session.add(Outbox(kind=KIND, idempotency_key=key, created_at=now or utcnow(), payload=data))
    return True


def digest_queued(config: Config, week: str) -> datetime | None:
    """When the week's digest was queued, or None."""
    sessions = open_database(config.storage.database)
    with sessions() as session:
        return session.scalar(select(Outbox.created_at).where(Outbox.idempotency_key == f"{KIND}:{week}"))
