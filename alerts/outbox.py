"""Reading the outbox for people: what is waiting, what went, what failed and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crawler.config import Config
from crawler.records import iso
from crawler.storage import Delivery, Outbox, open_database


def _about(event: Outbox) -> str:
    p = event.payload or {}
    if event.kind.startswith("mention."):
        return p.get("title") or p.get("url") or ""
    if event.kind.startswith("case."):
        return (p.get("record") or {}).get("title") or ""
    if event.kind.startswith("digest."):
        return f"week {p.get('week')} ({p.get('label')})"
    return p.get("source") or p.get("channel") or ""


def delivery_records(config: Config) -> list[dict[str, Any]]:
    """Every delivery, and every event not yet routed to a channel, newest first."""
    sessions = open_database(config.storage.database)
    with sessions() as session:
        records = [{
            "id": d.id, "status": d.status, "channel": d.channel, "kind": d.event.kind,
            "case": d.event.mention_id, "about": _about(d.event), "attempts": d.attempts,
            "created_at": iso(d.created_at), "sent_at": iso(d.sent_at), "next_attempt_at": iso(d.next_attempt_at),
            "reason": d.last_error, "receipt": d.receipt,
        } for d in session.scalars(select(Delivery).order_by(Delivery.id.desc())).unique()]
        unrouted = [{
            "id": None, "status": "pending", "channel": None, "kind": e.kind, "case": e.mention_id,
            "about": _about(e), "attempts": 0, "created_at": iso(e.created_at), "sent_at": None,
            "next_attempt_at": None, "reason": "not yet routed: the next `schoolwatch deliver` sends it",
            "receipt": {},
        } for e in session.scalars(select(Outbox).where(Outbox.status == "pending").order_by(Outbox.id.desc()))]
    return unrouted + records
