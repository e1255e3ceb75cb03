"""From outbox events to :class:`~alerts.message.Alert`: the words of each kind of alert."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from alerts.digest import KIND as DIGEST
from alerts.digest import digest_alert
from alerts.guidance import guidance_for
from alerts.message import SEVERITY_RANK, Alert, Item
from alerts.render import when
from crawler.config import SEVERITIES, Config
from crawler.display import clean
from crawler.storage import Case, Outbox


def mention_item(record: dict[str, Any], case: Case | None, config: Config) -> Item:
    return Item(record=record, case_id=case.id if case else None, due=case.due if case else None,
                guidance=guidance_for(list(record.get("concerns") or []), config.alerts.guidance))


def _attachments(item: Item) -> tuple[tuple[Path, str], ...]:
    evidence = item.record.get("evidence") or {}
    label = f"case-{item.case_id}" if item.case_id else f"mention-{item.record.get('id')}"
    files = []
    if evidence.get("text"):
        files.append((Path(evidence["text"]), f"{label}-text-snapshot.txt"))
    if evidence.get("screenshot"):
        files.append((Path(evidence["screenshot"]), f"{label}-screenshot.png"))
    return tuple(files)


def mentions_alert(key: str, events: list[Outbox], cases: dict[int, Case], config: Config) -> Alert:
    """One mention in full, or several rolled up into one list (most serious first)."""
    items = [mention_item(e.payload, cases.get(e.mention_id or 0), config) for e in events]
    items.sort(key=lambda i: (-SEVERITY_RANK.get(i.severity, 0), i.record.get("id") or 0))
    worst = items[0].severity
    if len(items) == 1:
        item, event = items[0], events[0]
        what = ", ".join(item.record.get("concerns") or []) or f"{item.record.get('tone') or 'new'} mention"
        edited = "Edited post: " if event.kind == "mention.updated" else ""
        title = clean(item.record.get("title") or item.record.get("url"), 90)
        headline = f"{edited}{what} on {item.record.get('source')}: {title}"
        return Alert(key=key, kind=event.kind, severity=worst, headline=headline, items=(item,),
                     attachments=_attachments(item), created=event.created_at, **_school(config))
    counts = Counter(i.severity for i in items)
    parts = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    facts = (f"{len(items)} mentions need attention at once ({parts}); they are listed together so "
             f"this channel is not flooded. Each has its own case number and deadline.",
             "`schoolwatch cases --open` lists them with their deadlines.")
    return Alert(key=key, kind="rollup", severity=worst, headline=f"{len(items)} mentions found ({parts})",
                 items=tuple(items), facts=facts, created=max(e.created_at for e in events), **_school(config))


def event_alert(key: str, event: Outbox, case: Case | None, config: Config) -> Alert:
    """Alerts that are not a newly found mention: reminders, source health, delivery trouble, the digest."""
    p, zone = event.payload, config.school.timezone
    severity, items, facts = "normal", (), ()
    if event.kind == DIGEST:  # built when it was queued; the payload is the whole digest
        return digest_alert(key, p, config, created=event.created_at)
    if event.kind in ("case.reminder", "case.overdue") and case is not None:
        items = (mention_item(p.get("record") or {}, case, config),)
        severity = case.severity
        if event.kind == "case.reminder":
            headline = f"Reminder: case {case.id} is due by {when(case.due, zone)}"
            facts = (f"Nobody has recorded a response to case {case.id} yet. The policy asks for a response "
                     f"within {config.response.within_hours:g} hours.",)
        else:
            headline = f"Overdue: case {case.id} was due {when(case.due, zone)}"
            facts = (f"Case {case.id} has passed its response deadline without a recorded response.",)
        facts += (f'Record what was done: schoolwatch respond {case.id} --by "Your name" --note "..."',)
    elif event.kind == "source.failing":
        headline = f"Source failing: {p.get('source')}"
        facts = (f"schoolwatch could not read {p.get('source')} ({p.get('url')}): {p.get('reason')}",
                 "Mentions there are not being seen until it works again. It is retried at every scan; "
                 "you will hear once when it recovers, not at every failure.")
    elif event.kind == "source.recovered":
        headline = f"Source working again: {p.get('source')}"
        facts = (f"{p.get('source')} ({p.get('url')}) can be read again"
                 + (f"; it had been failing since {when(p['failed_since'], zone)}." if p.get("failed_since") else "."),)
        severity = "low"
    elif event.kind == "delivery.failed":
        headline = f"Alerts by {p.get('channel')} are failing"
        facts = (f"schoolwatch could not send alerts by {p.get('channel')}: {p.get('reason')}",
                 f"{p.get('count', 1)} alert(s) are kept, not lost. Fix the setting, then run "
                 f"`schoolwatch deliver --retry-failed` to send them.")
        severity = "high"
    else:
        headline = f"{event.kind}"
        facts = (clean(str(p), 500),)
    return Alert(key=key, kind=event.kind, severity=severity, headline=headline, items=items, facts=facts,
                 created=event.created_at, **_school(config))


def _school(config: Config) -> dict[str, str]:
    return {"school": config.school.name, "timezone": config.school.timezone}
