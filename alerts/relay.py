"""The outbox relay: route new events, schedule reminders, send what is due, remember the outcome.

Delivery is at least once. Each send is committed on its own, so a crash can repeat at
most the one message in flight (its email keeps the same Message-ID, its mailbox file the
same name). A channel that is down is left alone for the rest of the run and retried
later with exponential backoff and jitter; Slack's ``Retry-After`` is obeyed exactly. A
permanent failure marks the alerts failed with the reason and says so on the other channels.
Only one relay runs at a time, across processes (a database lease).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from alerts.cases import schedule_reminders
from alerts.channels import Channel, PermanentFailure, TemporaryFailure, build_channels
from alerts.compose import event_alert, mentions_alert
from alerts.message import MAX_ITEMS, SEVERITY_RANK, Alert
from alerts.routing import route_pending
from crawler.config import Config
from crawler.leases import lease
from crawler.storage import Case, CaseEvent, Delivery, Outbox, open_database, utcnow

LEASE = timedelta(minutes=15)


@dataclass
class DeliveryReport:
    routed: int = 0
    sent: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # channel -> alerts sent
    messages: int = 0  # messages actually sent (a roll-up is one)
    waiting: dict[str, str] = field(default_factory=dict)  # channel -> why it will be retried
    failed: dict[str, str] = field(default_factory=dict)  # channel -> why it failed for good
    busy: bool = False  # another relay holds the lease

    def as_json(self) -> dict[str, object]:
        return {"routed": self.routed, "sent": dict(self.sent), "messages": self.messages,
                "waiting": self.waiting, "failed": self.failed, "busy": self.busy}


def backoff(attempts: int, config: Config) -> timedelta:
    """Doubling from ``alerts.retry.first`` to ``alerts.retry.longest``, then half to all of it (jitter)."""
    retry = config.alerts.retry
    delay = min(retry.longest.total_seconds(), retry.first.total_seconds() * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))


def deliver(config: Config, now: datetime | None = None, force: bool = False, retry_failed: bool = False,
            channels: dict[str, Channel] | None = None) -> DeliveryReport:
    """Route and send everything due. ``force`` ignores backoff (not a service's Retry-After)."""
    sessions = open_database(config.storage.database)
    report = DeliveryReport()
    with lease(sessions, "deliver", LEASE) as holder:
        if holder is None:
            report.busy = True
            return report
        channels = channels if channels is not None else build_channels(config)
        try:
            if retry_failed:
                with sessions.begin() as session:
                    session.execute(update(Delivery).where(Delivery.status == "failed").values(
                        status="pending", next_attempt_at=None, rate_limited=False))
            for _ in range(2):  # a second round sends the notices about channels that failed in the first
                moment = now or utcnow()
                with sessions.begin() as session:
                    schedule_reminders(session, config, moment)
                    report.routed += route_pending(session, config, moment)
                if not _Sender(config, sessions, channels, moment, force, report).run():
                    break
        finally:
            for channel in channels.values():
                channel.close()
    return report


class _Sender:
    def __init__(self, config: Config, sessions: sessionmaker[Session], channels: dict[str, Channel],
                 now: datetime, force: bool, report: DeliveryReport) -> None:
        self.config, self.sessions, self.channels = config, sessions, channels
        self.now, self.force, self.report = now, force, report
        self.notices = 0

    def run(self) -> int:
        """Send every due delivery; return how many failure notices were queued."""
        with self.sessions() as session:
            due = (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= self.now)
            if self.force:
                due = due | (Delivery.rate_limited.is_(False))
            rows = session.execute(select(Delivery.id, Delivery.channel, Outbox.kind, Outbox.payload)
                                   .join(Outbox, Delivery.outbox_id == Outbox.id)
                                   .where(Delivery.status == "pending", due).order_by(Delivery.id)).all()
        by_channel: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for row_id, channel, kind, payload in rows:
            by_channel[channel].append((row_id, kind, (payload or {}).get("severity") or "low"))
        for name, items in by_channel.items():
            self.send_channel(name, items)
        return self.notices

    def batches(self, items: list[tuple[int, str, str]]) -> Iterator[list[int]]:
        """Most serious first; mentions rolled up when there are more than ``rollup_after``."""
        mentions = [i for i in items if i[1].startswith("mention.")]
        others = [[i[0]] for i in items if not i[1].startswith("mention.")]
        mentions.sort(key=lambda i: (-SEVERITY_RANK.get(i[2], 0), i[0]))
        if len(mentions) > self.config.alerts.rollup_after:
            yield from ([i[0] for i in mentions[k:k + MAX_ITEMS]] for k in range(0, len(mentions), MAX_ITEMS))
        else:
            yield from ([i[0]] for i in mentions)
        yield from others

    def send_channel(self, name: str, items: list[tuple[int, str, str]]) -> None:
        channel = self.channels.get(name)
        for ids in self.batches(items):
            with self.sessions.begin() as session:
                deliveries = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)))
                deliveries.sort(key=lambda d: ids.index(d.id))
                if channel is None:
                    self.give_up(session, name, deliveries, PermanentFailure(f"alerts.{name} is no longer set up"))
                    return
                try:
                    receipt = channel.send(self.alert_for(session, name, deliveries))
                except TemporaryFailure as failure:
                    self.later(deliveries, failure)
                    return  # the channel is down or busy: leave the rest for the next run
                except PermanentFailure as failure:
                    self.give_up(session, name, deliveries, failure)
                    if failure.whole_channel:
                        return
                    continue
                self.sent(session, name, deliveries, receipt)

    def alert_for(self, session: Session, name: str, deliveries: list[Delivery]) -> Alert:
        events = [d.event for d in deliveries]
        cases = {c.id: c for c in session.scalars(select(Case).where(
            Case.id.in_([e.mention_id for e in events if e.mention_id])))}
        if events[0].kind.startswith("mention."):
            key = deliveries[0].idempotency_key if len(deliveries) == 1 else \
                f"rollup:{name}:{deliveries[0].id}:{len(deliveries)}"
            return mentions_alert(key, events, cases, self.config)
        return event_alert(deliveries[0].idempotency_key, events[0], cases.get(events[0].mention_id or 0), self.config)

    def sent(self, session: Session, name: str, deliveries: list[Delivery], receipt: dict[str, object]) -> None:
        leader = deliveries[0].id
        for delivery in deliveries:
            delivery.status, delivery.sent_at, delivery.attempts = "sent", self.now, delivery.attempts + 1
            delivery.last_error = None
            delivery.receipt = receipt if delivery.id == leader else {"rolled_up_with": leader}
            event = delivery.event
            if event.mention_id and event.kind.startswith(("mention.", "case.")):
                action = "alerted" if event.kind.startswith("mention.") else event.kind.split(".")[1]
                session.add(CaseEvent(case_id=event.mention_id, at=self.now, action=action, note=f"by {name}"))
        self.report.sent[name] += len(deliveries)
        self.report.messages += 1

    def later(self, deliveries: list[Delivery], failure: TemporaryFailure) -> None:
        """Back off this message; everything else queued for the channel waits behind it."""
        tried = {d.id for d in deliveries}
        attempts = max(d.attempts for d in deliveries) + 1
        wait = timedelta(seconds=failure.retry_after) if failure.retry_after is not None \
            else backoff(attempts, self.config)
        with self.sessions.begin() as session:
            for delivery in session.scalars(select(Delivery).where(
                    Delivery.channel == deliveries[0].channel, Delivery.status == "pending")):
                if delivery.id in tried:
                    delivery.attempts += 1
                delivery.last_error = failure.reason
                delivery.rate_limited = failure.retry_after is not None
                delivery.next_attempt_at = self.now + wait
        self.report.waiting[deliveries[0].channel] = failure.reason

    def give_up(self, session: Session, name: str, deliveries: list[Delivery], failure: PermanentFailure) -> None:
        failed = list(deliveries)
        if failure.whole_channel:  # the settings are wrong: everything queued for this channel fails alike
            failed += session.scalars(select(Delivery).where(
                Delivery.channel == name, Delivery.status == "pending",
                Delivery.id.not_in([d.id for d in deliveries])))
        for delivery in failed:
            delivery.status, delivery.last_error = "failed", failure.reason
            delivery.attempts += 1
        self.report.failed[name] = failure.reason
        others = [c for c in self.channels if c not in (name, "mailbox")]  # the mailbox is the fallback, not a pager
        if others and deliveries[0].event.kind != "delivery.failed":  # never a notice about a notice
            session.add(Outbox(kind="delivery.failed", idempotency_key=f"delivery.failed:{name}:{deliveries[0].id}",
                               created_at=self.now, payload={"channel": name, "reason": failure.reason,
                                                             "count": len(failed), "channels": others}))
            self.notices += 1
