"""Cases: each alerted mention is a case with a response deadline and a history of who did what.

A case's id is its mention's id, so "case 12" and "mention 12" are the same post. Due is
first seen + ``response.within_hours``, moved to the end of the next working day when it
falls on a weekend, a bank holiday or a day the school lists as closed (crawler.workdays).
Reminders go out ``remind_before_hours`` before due and once overdue, once each.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.message import SEVERITY_RANK
from crawler.config import Config
from crawler.errors import SchoolwatchError
from crawler.records import iso, mention_record
from crawler.storage import Case, CaseEvent, Mention, Outbox, open_database, utcnow
from crawler.workdays import Calendar

OPEN = ("open", "acknowledged")  # still waiting for a response: these get reminders


def due_for(first_seen: datetime, config: Config) -> datetime:
    r = config.response
    return Calendar(r.holidays, config.school.timezone).due(first_seen, r.within_hours, r.weekend_rule,
                                                            r.working_day_ends)


def case_for_alert(session: Session, mention_id: int, severity: str, channels: list[str], config: Config,
                   now: datetime) -> bool:
    """Open the case, or raise its severity; False when this change needs no new alert."""
    case = session.get(Case, mention_id)
    if case is None:
        mention = session.get_one(Mention, mention_id)
        case = Case(id=mention_id, opened_at=now, due=due_for(mention.first_seen, config), severity=severity,
                    channels=list(channels), status="open")
        session.add(case)
        case.history.append(CaseEvent(at=now, action="opened", note=f"{severity}; respond by {case.due.isoformat()}"))
        return True
    if SEVERITY_RANK[severity] <= SEVERITY_RANK.get(case.severity, 0):
        note_edit(session, mention_id, now)
        return False
    case.history.append(CaseEvent(at=now, action="escalated", note=f"the post changed: {case.severity} -> {severity}"))
    case.severity = severity
    case.channels = list(dict.fromkeys([*case.channels, *channels]))
    if case.status == "closed":
        case.status, case.closed_at = "open", None
        case.history.append(CaseEvent(at=now, action="reopened", note="escalated after it was closed"))
    return True


def note_edit(session: Session, mention_id: int, now: datetime) -> None:
    """A post with a case changed in a way that needs no alert: keep it in the history."""
    case = session.get(Case, mention_id)
    if case is not None:
        case.history.append(CaseEvent(at=now, action="edited", note=f"the post changed; still {case.severity}"))


def schedule_reminders(session: Session, config: Config, now: datetime) -> int:
    """Outbox events for cases nearing or past due; each case gets each reminder once."""
    before = timedelta(hours=config.response.remind_before_hours)
    added = 0
    for case in session.scalars(select(Case).where(Case.status.in_(OPEN))):
        kind = None
        if case.due <= now and case.overdue_reminded_at is None:
            kind, case.overdue_reminded_at = "case.overdue", now
            case.reminded_at = case.reminded_at or now  # past due: "due soon" would be stale
        elif before and case.reminded_at is None and case.due - before <= now < case.due:
            kind, case.reminded_at = "case.reminder", now
        if kind:
            session.add(Outbox(kind=kind, idempotency_key=f"{kind}:{case.id}", mention_id=case.id, created_at=now,
                               payload={"channels": list(case.channels),
                                        "record": mention_record(case.mention, config.storage.archive)}))
            added += 1
    return added


ACTIONS = {  # command -> (new status, statuses it may follow, needs a note)
    "ack": ("acknowledged", ("open",), False),
    "respond": ("responded", ("open", "acknowledged", "responded"), True),
    "close": ("closed", ("open", "acknowledged", "responded"), True),
}
PAST = {"ack": "acknowledged", "respond": "responded", "close": "closed"}


def act(config: Config, case_id: int, action: str, by: str, note: str | None = None,
        now: datetime | None = None) -> dict[str, Any]:
    """Record that someone acknowledged, responded to or closed a case."""
    status, allowed, needs_note = ACTIONS[action]
    by = " ".join((by or "").split())
    if not by:
        raise SchoolwatchError(f"say who you are: schoolwatch {action} {case_id} --by \"Your name\"")
    if needs_note and not (note or "").strip():
        raise SchoolwatchError(f"add what was done: schoolwatch {action} {case_id} --by \"{by}\" --note \"...\"")
    now = now or utcnow()
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise SchoolwatchError(f"there is no case {case_id}; `schoolwatch cases` lists them")
        if case.status not in allowed:
            raise SchoolwatchError(f"case {case_id} is {case.status}, so it cannot be {PAST[action]} now")
        case.status = status
        if action == "respond" and case.responded_at is None:
            case.responded_at = now
        if action == "close":
            case.closed_at = now
        case.history.append(CaseEvent(at=now, action=PAST[action], by=by, note=(note or "").strip() or None))
        session.flush()
        return case_record(case, config, now)


def case_record(case: Case, config: Config, now: datetime) -> dict[str, Any]:
    """One case as JSON (``schoolwatch cases --json``)."""
    mention = case.mention
    waiting = case.status in OPEN
    return {
        "id": case.id,
        "mention_id": case.id,
        "status": case.status,
        "severity": case.severity,
        "due": iso(case.due),
        "overdue": waiting and case.due <= now,
        "on_time": None if case.responded_at is None else case.responded_at <= case.due,
        "opened_at": iso(case.opened_at),
        "first_seen": iso(mention.first_seen),
        "responded_at": iso(case.responded_at),
        "closed_at": iso(case.closed_at),
        "source": mention.source.name,
        "url": mention.url,
        "title": mention.title,
        "tone": mention.tone,
        "concerns": list(mention.concerns),
        "history": [{"at": iso(e.at), "action": e.action, "by": e.by, "note": e.note} for e in case.history],
    }


def list_cases(config: Config, open_only: bool = False, overdue_only: bool = False,
               now: datetime | None = None) -> list[dict[str, Any]]:
    """Cases, the most pressing first: waiting ones by due, then the rest newest first."""
    now = now or utcnow()
    sessions = open_database(config.storage.database)
    with sessions() as session:
        query = select(Case)
        if open_only or overdue_only:
            query = query.where(Case.status.in_(OPEN))
        if overdue_only:
            query = query.where(Case.due <= now)
        records = [case_record(c, config, now) for c in session.scalars(query).unique()]
    waiting = sorted((r for r in records if r["status"] in OPEN), key=lambda r: r["due"])
    done = sorted((r for r in records if r["status"] not in OPEN), key=lambda r: r["opened_at"], reverse=True)
    return waiting + done
