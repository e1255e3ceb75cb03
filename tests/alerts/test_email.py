"""Alerts by email, received by a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from alerts.relay import deliver
from crawler.cli import main
from crawler.config import Config
from crawler.queries import mentions_since
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(60)


def test_each_alerted_mention_arrives_once_as_a_complete_email(alert_config: Callable[..., Config],
                                                               smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "routes": {"normal": ["email"]}, "rollup_after": 20})
    alertable = [m for m in mentions_since(config) if m["severity"] in ("urgent", "high", "normal")]
    assert len(alertable) >= 3

    report = deliver(config)
    messages = smtp.wait_for(len(alertable))
    assert len(messages) == len(alertable) == report.sent["email"]
    assert {m["X-Schoolwatch-Case"] for m in messages} == {str(m["id"]) for m in alertable}

    urgent = next(m for m in alertable if m["severity"] == "urgent")
    message = next(m for m in messages if m["X-Schoolwatch-Case"] == str(urgent["id"]))
    assert message["Subject"].startswith("[schoolwatch] URGENT: ")
    assert urgent["source"] in message["Subject"] and "safeguarding" in message["Subject"]
    assert message["To"] == "head@bentilee.example, dsl@bentilee.example"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert urgent["url"] in body
        assert "Respond by" in body and "Designated Safeguarding Lead" in body  # deadline and policy advice
        assert f"schoolwatch ack {urgent['id']}" in body
    assert "<mark>" in html  # the school's name highlighted in the snippet
    attachments = {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}
    snapshot = attachments[f"case-{urgent['id']}-text-snapshot.txt"]
    assert snapshot.strip() and snapshot == open(urgent["evidence"]["text"], "rb").read()  # byte for byte

    again = deliver(config)
    assert again.messages == 0 and len(smtp.messages) == len(alertable)


def test_login_uses_the_secret_from_the_environment_and_a_wrong_one_fails_with_the_reason(
        alert_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    server = LocalSMTP(username="schoolwatch", password="correct horse").start()
    try:
        settings = server.settings(username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD")
        config = alert_config(alerts={"email": settings})
        monkeypatch.setenv("TEST_SMTP_USER", "schoolwatch")
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong battery")
        report = deliver(config)
        assert report.sent == {} and "refused the username or password" in report.failed["email"]
        assert server.messages == []

        assert main(["alerts", "--json", "--config", str(config.path)]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        failed = [r for r in rows if r["status"] == "failed"]
        assert failed and all("username or password" in r["reason"] for r in failed)
        assert "wrong battery" not in json.dumps(rows)  # the secret never shows

        monkeypatch.setenv("TEST_SMTP_PASSWORD", "correct horse")
        assert deliver(config).messages == 0  # failed stays failed until someone says retry
        report = deliver(config, retry_failed=True)
        assert report.messages == len(failed) == len(server.wait_for(len(failed)))
    finally:
        server.stop()


def test_a_refused_address_is_a_permanent_failure_reported_on_slack(alert_config: Callable[..., Config],
                                                                    smtp: LocalSMTP, slack) -> None:
    smtp.refuse_recipients = "550 5.1.1 mailbox unavailable"
    config = alert_config(alerts={"email": smtp.settings(), "slack": slack.settings()})
    report = deliver(config)
    assert "refused every recipient" in report.failed["email"] and "550" in report.failed["email"]
    notices = [m for m in slack.messages if "Alerts by email are failing" in m["text"]]
    assert len(notices) == 1
    assert "refused every recipient" in json.dumps(notices[0]["blocks"])
    assert report.sent["slack"] >= 1  # Slack's own alerts still went


def test_a_missing_password_variable_is_named_and_nothing_is_lost(alert_config: Callable[..., Config],
                                                                  smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(password_env="NOT_SET_ANYWHERE", username_env="ALSO_NOT_SET")})
    report = deliver(config)
    assert "ALSO_NOT_SET" in report.failed["email"] and "is not set" in report.failed["email"]
    assert smtp.messages == []
