"""Which alerts go where: the mailbox by default, roll-ups against floods, edits alerted only when worse."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select, update

from alerts.cases import list_cases
from alerts.relay import deliver
from crawler.config import Config
from crawler.queries import mentions_since
from crawler.storage import Delivery, Outbox, open_database
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(60)


def test_without_email_or_slack_alerts_land_in_the_mailbox_folder_once(alert_config: Callable[..., Config]) -> None:
    config = alert_config(alerts={"rollup_after": 20})
    alertable = [m for m in mentions_since(config) if m["severity"] != "low"]
    deliver(config)
    files = sorted(config.storage.mailbox.glob("*.eml"))
    assert len(files) == len(alertable)
    subjects = {message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"] for f in files}
    assert any(s.startswith("[schoolwatch] URGENT: safeguarding") for s in subjects)

    with open_database(config.storage.database).begin() as session:  # as if a crash forgot that they were sent
        session.execute(update(Delivery).values(status="pending"))
    deliver(config)
    assert sorted(config.storage.mailbox.glob("*.eml")) == files  # rewritten in place, never doubled


def test_a_flood_from_one_scan_becomes_one_rolled_up_alert(alert_config: Callable[..., Config], smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "routes": {"normal": ["email"]}, "rollup_after": 2})
    alertable = [m for m in mentions_since(config) if m["severity"] != "low"]
    report = deliver(config)
    assert report.messages == 1 and report.sent["email"] == len(alertable) > 2
    message = smtp.wait_for(1)[0]
    assert message["Subject"].startswith(f"[schoolwatch] URGENT: {len(alertable)} mentions found")
    text = message.get_body(("plain",)).get_content()
    assert all(m["url"] in text for m in alertable)
    assert text.index("URGENT") < text.index("NORMAL")  # the most serious first
    assert sorted(map(int, message["X-Schoolwatch-Case"].split(", "))) == sorted(m["id"] for m in alertable)
    assert len(list_cases(config)) == len(alertable)  # each keeps its own case and deadline


def test_an_edit_alerts_again_only_when_it_is_more_serious(alert_config: Callable[..., Config], smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "routes": {"normal": ["email"]}, "rollup_after": 20})
    deliver(config)
    before = len(smtp.messages)
    normal = next(m for m in mentions_since(config) if m["severity"] == "normal")
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        session.add(Outbox(kind="mention.updated", idempotency_key="edit-same", mention_id=normal["id"], payload=normal))
    deliver(config)
    assert len(smtp.messages) == before
    history = next(c for c in list_cases(config) if c["id"] == normal["id"])["history"]
    assert history[-1]["action"] == "edited"

    worse = {**normal, "severity": "urgent", "concerns": ["threat"]}
    with sessions.begin() as session:
        session.add(Outbox(kind="mention.updated", idempotency_key="edit-worse", mention_id=normal["id"], payload=worse))
    deliver(config)
    assert len(smtp.messages) == before + 1
    assert smtp.messages[-1]["Subject"].startswith("[schoolwatch] URGENT: Edited post: threat")
    case = next(c for c in list_cases(config) if c["id"] == normal["id"])
    assert case["severity"] == "urgent" and "escalated" in [e["action"] for e in case["history"]]


def test_low_severity_waits_for_the_digest(alert_config: Callable[..., Config], smtp: LocalSMTP) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "rollup_after": 20})
    deliver(config)
    low = {m["id"] for m in mentions_since(config) if m["severity"] == "low"}
    assert low and not low & {c["id"] for c in list_cases(config)}
    with open_database(config.storage.database)() as session:
        routed = session.scalars(select(Outbox.status)).all()
    assert set(routed) == {"routed"}


def test_a_failing_source_is_alerted_once_and_again_when_it_recovers(tmp_path, hostile_site, smtp: LocalSMTP,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from crawler.cli import main
    from crawler.demo.server import Response
    from support.scanning import make_config

    state = {"up": False}
    hostile_site.route("/flaky.rss", lambda _: Response(200, {"Content-Type": "application/rss+xml"},
                                                        b"<rss version='2.0'><channel><title>ok</title></channel></rss>")
                       if state["up"] else Response(500, {"Content-Type": "text/html"}, b"down"))
    config = make_config(tmp_path, [{"name": "flaky", "kind": "feed", "url": hostile_site.url("/flaky.rss"),
                                     "allow_private": True}], settings={"alerts": {"email": smtp.settings()}})
    for _ in range(3):
        assert main(["scan", "--config", str(config.path)]) == 0
    assert "Alerts sent: email 1" in capsys.readouterr().out
    failing = [m for m in smtp.messages if "Source failing: flaky" in m["Subject"]]
    assert len(failing) == 1 and "500" in failing[0].get_body(("plain",)).get_content()

    state["up"] = True
    for _ in range(2):
        main(["scan", "--config", str(config.path)])
    recovered = [m for m in smtp.messages if "Source working again: flaky" in m["Subject"]]
    assert len(recovered) == 1 and len(smtp.messages) == 2
