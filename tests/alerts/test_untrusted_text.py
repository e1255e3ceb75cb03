"""A post written to attack the alert itself arrives as harmless text, everywhere it is shown."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from alerts.relay import deliver
from crawler.demo.server import LocalSite
from crawler.scan import run_scan
from support.scanning import make_config
from support.slack_stub import SlackStub
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(60)
EVERYTHING = {"urgent": ["email", "slack", "mailbox"], "high": ["email", "slack", "mailbox"],
              "normal": ["email", "slack", "mailbox"], "low": ["email", "slack", "mailbox"]}


def test_script_template_ping_and_header_injection_stay_inert(tmp_path: Path, hostile_site: LocalSite,
                                                              smtp: LocalSMTP, slack: SlackStub) -> None:
    sources = [{"name": "hostile", "kind": "feed", "url": hostile_site.url("/feed-with-hostile-entry.rss"),
                "allow_private": True}]
    config = make_config(tmp_path, sources, settings={"alerts": {
        "email": smtp.settings(), "slack": slack.settings(), "routes": EVERYTHING}})
    assert run_scan(config).mentions_new >= 1
    report = deliver(config)
    assert report.failed == {} and report.sent["email"] >= 1 and report.sent["slack"] >= 1

    mail = smtp.wait_for(1)[0]
    eml = message_from_bytes(next((tmp_path / "mailbox").glob("*.eml")).read_bytes(), policy=policy.default)
    for message in (mail, eml):
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
        assert "Bentilee Nursery School" in message["Subject"]
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "</script> {{ 7*7 }}" in text and "</script> 49" not in text  # shown, never evaluated
        assert "{{ 7*7 }}" in html
        assert "<!channel>" not in html and "&lt;!channel&gt;" in html
    assert [to for _, to, _ in smtp.envelopes] == [["head@bentilee.example", "dsl@bentilee.example"]]

    posted = json.dumps(slack.messages[0]["blocks"]) + slack.messages[0]["text"]
    assert "<!channel>" not in posted and "&lt;!channel&gt;" in posted
    assert "<@U024BE7LH>" not in posted and "<script>" not in posted
    assert "<http://example.invalid" not in posted  # no link Slack would render from the post's text
