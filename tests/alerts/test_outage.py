"""SMTP or Slack down for hours: nothing is lost, nothing arrives twice, the relay backs off."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from alerts.relay import deliver
from crawler.config import Config
from crawler.storage import Delivery, open_database, utcnow
from support.slack_stub import SlackStub
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(90)


def pending(config: Config) -> list[Delivery]:
    with open_database(config.storage.database)() as session:
        return session.query(Delivery).filter_by(status="pending").order_by(Delivery.id).all()


def test_smtp_down_for_hours_then_everything_arrives_once(alert_config: Callable[..., Config], smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "routes": {"normal": ["email"]}, "rollup_after": 20,
                                  "retry": {"first": "1m", "longest": "30m"}})
    smtp.stop()
    start = utcnow()
    first = deliver(config, now=start)
    assert first.messages == 0 and "cannot reach the SMTP server" in first.waiting["email"]
    queued = pending(config)
    assert queued and queued[0].attempts == 1 and not queued[0].rate_limited
    assert timedelta(seconds=30) <= queued[0].next_attempt_at - start <= timedelta(seconds=60)
    assert all(d.attempts == 0 for d in queued[1:])  # only one message was tried against the dead server

    # The service tries every minute for six hours; the relay only knocks when the backoff allows.
    tries, now = 1, start
    for _ in range(6 * 60):
        now += timedelta(minutes=1)
        report = deliver(config, now=now)
        tries += bool(report.waiting)
    waits = [d.next_attempt_at - now for d in pending(config)]
    assert 8 <= tries <= 25, tries  # doubling up to 30 minutes, not 360 knocks
    assert all(w <= timedelta(minutes=30) for w in waits)

    smtp.start()  # the server comes back on the same address
    report = deliver(config, now=now + timedelta(minutes=31))
    received = smtp.wait_for(len(queued))
    assert report.messages == len(queued) == len(received)
    assert max(Counter(m["Message-ID"] for m in received).values()) == 1
    assert pending(config) == []


def test_slack_down_then_back(alert_config: Callable[..., Config], slack: SlackStub) -> None:
    config = alert_config(alerts={"slack": slack.settings(), "rollup_after": 20})
    port = slack.port
    slack.stop()
    report = deliver(config, force=True)
    assert report.messages == 0 and "cannot reach Slack" in report.waiting["slack"]
    queued = pending(config)

    slack.port = port
    slack.start()
    report = deliver(config, force=True)  # what `schoolwatch deliver` does: no waiting for the backoff
    assert report.messages == len(queued) == len(slack.messages)
    assert deliver(config, force=True).messages == 0


def test_one_relay_at_a_time(alert_config: Callable[..., Config], smtp: LocalSMTP) -> None:
    from crawler.leases import lease
    config = alert_config(alerts={"email": smtp.settings()})
    with lease(open_database(config.storage.database), "deliver", timedelta(minutes=1)) as holder:
        assert holder is not None
        assert deliver(config).busy and smtp.messages == []
    assert deliver(config).messages >= 1
