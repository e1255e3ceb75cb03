"""Alerts to Slack through slack-sdk, against a local stub of the Slack Web API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from alerts.relay import deliver
from crawler.config import Config
from crawler.queries import mentions_since
from crawler.storage import Delivery, open_database, utcnow
from support.slack_stub import SlackStub

pytestmark = pytest.mark.timeout(60)


def test_each_alert_is_a_block_kit_message_with_its_evidence_in_the_thread(alert_config: Callable[..., Config],
                                                                          slack: SlackStub) -> None:
    config = alert_config(alerts={"slack": slack.settings(), "rollup_after": 20})
    alertable = [m for m in mentions_since(config) if m["severity"] != "low"]
    report = deliver(config)
    assert report.sent["slack"] == len(alertable) == len(slack.messages)

    urgent = next(m for m in alertable if m["severity"] == "urgent")
    message = next(m for m in slack.messages if f"case {urgent['id']}" in json.dumps(m["blocks"]))
    assert message["channel"] == "#slt-alerts" and message["unfurl_links"] is False
    blocks = json.dumps(message["blocks"])
    assert message["blocks"][0]["type"] == "header" and "safeguarding" in message["blocks"][0]["text"]["text"]
    assert "Respond by" in blocks and "Designated Safeguarding Lead" in blocks
    assert urgent["url"] in blocks
    upload = next(u for u in slack.uploads if u["filename"] == f"case-{urgent['id']}-text-snapshot.txt")
    assert upload["thread_ts"] == message["ts"] and upload["channel_id"] == "C0SLT0001"
    assert upload["data"] == open(urgent["evidence"]["text"], "rb").read()


def test_rate_limit_waits_exactly_as_long_as_slack_asks(alert_config: Callable[..., Config], slack: SlackStub) -> None:
    config = alert_config(alerts={"slack": slack.settings(), "routes": {"normal": [], "high": [], "urgent": ["slack"]}})
    slack.rate_limit_next, slack.retry_after = 1, 120
    start = utcnow()
    report = deliver(config)
    assert report.messages == 0 and "asked to wait 120 s" in report.waiting["slack"]
    sessions = open_database(config.storage.database)
    with sessions() as session:
        waiting = session.query(Delivery).filter_by(status="pending").all()
    assert waiting and all(d.rate_limited for d in waiting)
    assert all(timedelta(seconds=119) <= d.next_attempt_at - start <= timedelta(seconds=125) for d in waiting)

    assert deliver(config, force=True).messages == 0  # even "deliver now" honours Retry-After
    later = deliver(config, now=start + timedelta(seconds=121))
    assert later.messages == len(waiting) == len(slack.messages)


def test_a_bad_token_fails_for_good_with_the_reason_and_email_hears_of_it(alert_config: Callable[..., Config],
                                                                          slack: SlackStub, smtp,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHOOLWATCH_SLACK_TOKEN", "xoxb-revoked")
    config = alert_config(alerts={"slack": slack.settings(), "email": smtp.settings()})
    report = deliver(config)
    assert "invalid_auth" in report.failed["slack"] and slack.messages == []
    notice = [m for m in smtp.messages if "Alerts by slack are failing" in m["Subject"]]
    assert len(notice) == 1 and "invalid_auth" in notice[0].get_body(("plain",)).get_content()
    assert "xoxb-revoked" not in notice[0].as_string()


def test_an_unknown_channel_is_named_in_the_failure(alert_config: Callable[..., Config], slack: SlackStub) -> None:
    config = alert_config(alerts={"slack": slack.settings(channel="#no-such-channel")})
    report = deliver(config)
    assert "channel_not_found" in report.failed["slack"] and "does not exist" in report.failed["slack"]
