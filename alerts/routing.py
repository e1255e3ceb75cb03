"""Step one of the relay: turn each outbox event into deliveries, one per channel, and open cases.

Routing happens when the relay runs, not during the scan, so a change to ``alerts.routes``
applies to everything not yet routed, and the scan never needs to know about channels.
An edit to a post already alerted is only alerted again when it becomes more serious.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.cases import case_for_alert, note_edit
from crawler.config import SEVERITIES, Config
from crawler.storage import Case, Delivery, Outbox


def channels_for(session: Session, event: Outbox, config: Config, now: datetime) -> list[str]:
    alerts = config.alerts
    if event.kind.startswith("mention."):
        severity = event.payload.get("severity") if event.payload.get("severity") in SEVERITIES else "low"
        channels = alerts.channels_for(severity)
        if not channels:
            note_edit(session, event.mention_id or 0, now)
            return []
        return channels if case_for_alert(session, event.mention_id or 0, severity, channels, config, now) else []
    if event.kind.startswith("source."):
        return alerts.channels_for("sources")
    if event.kind.startswith("case."):
        case = session.get(Case, event.mention_id or 0)
        usable = [c for c in event.payload.get("channels") or [] if alerts.is_set_up(c)]
        return usable or (alerts.channels_for(case.severity) if case else [])
    if event.kind == "delivery.failed":
        return list(event.payload.get("channels") or [])
    if event.kind == "digest.weekly":
        return alerts.channels_among(config.digest.to)
    return []


def route_pending(session: Session, config: Config, now: datetime) -> int:
    """Route every pending event; returns how many deliveries were added."""
    added = 0
    for event in session.scalars(select(Outbox).where(Outbox.status == "pending").order_by(Outbox.id)):
        for channel in channels_for(session, event, config, now):
            session.add(Delivery(outbox_id=event.id, channel=channel, created_at=now,
                                 idempotency_key=f"{event.idempotency_key}:{channel}"))
            added += 1
        event.status = "routed"
    return added
