"""The weekly digest: counts against the week before, the chart, cases, evidence, failed sources; sent once."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import select, update

from alerts import digest
from alerts.channels.slack import blocks_for
from crawler.cli import main
from crawler.config import Config
from crawler.errors import SchoolwatchError
from crawler.storage import Mention, ScanRun, Source, open_database, utcnow
from support.hostile import HOSTILE_TEXT
from support.slack_stub import SlackStub
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(60)
PNG = b"\x89PNG\r\n\x1a\n"


def this_week(config: Config) -> str:
    return digest.last_full_week(utcnow() + timedelta(days=7), config.school.timezone)


def move_to_week_before(config: Config, count: int) -> list[int]:
    """Make ``count`` mentions a week older, so the week before has something to compare with."""
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        ids = list(session.scalars(select(Mention.id).order_by(Mention.id).limit(count)))
        for mention in session.scalars(select(Mention).where(Mention.id.in_(ids))):
            mention.first_seen -= timedelta(days=7)
    return ids


def test_weeks_are_iso_weeks_in_the_schools_time_zone() -> None:
    monday_morning = datetime(2026, 11, 30, 7, 30, tzinfo=timezone.utc)
    assert digest.last_full_week(monday_morning, "Europe/London") == "2026-W48"
    assert digest.last_full_week(datetime(2026, 11, 29, 23, 30, tzinfo=timezone.utc), "Asia/Tokyo") == "2026-W48"
    start, end = digest.week_bounds("2026-W13", "Europe/London")  # the clocks go forward on Sunday 29 March
    assert (start.isoformat(), end - start) == ("2026-03-23T00:00:00+00:00", timedelta(days=7))
    assert (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)) == timedelta(hours=167)
    assert digest.parse_week("2026-w5") == "2026-W05"
    for bad in ("2026-W54", "last week", "2026-11-23"):
        with pytest.raises(SchoolwatchError, match="not an ISO week"):
            digest.parse_week(bad)


def test_the_digest_counts_the_week_by_tone_severity_and_source_against_the_week_before(
        alert_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config()
    moved = move_to_week_before(config, 3)
    week = this_week(config)
    assert main(["digest", "--config", str(config.path), "--week", week, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    total = data["total"]
    assert (total["count"], total["previous"]) == (11, 3) and total["change"] == "+8"
    for rows in (data["by_tone"], data["by_severity"], data["by_source"]):
        assert sum(r["count"] for r in rows) == 11 and sum(r["previous"] for r in rows) == 3
        assert all(r["change"] == digest.change(r["count"], r["previous"]) for r in rows)
    assert [r["name"] for r in data["by_tone"]][:3] == ["negative", "neutral", "positive"]
    assert {r["name"] for r in data["by_source"]} == {"local-news", "local-news-atom", "parents-forum", "reviews"}
    assert sum(d["negative"] + d["neutral"] + d["positive"] for d in data["by_day"]) == 11
    assert sum(d["previous"] for d in data["by_day"]) == 3
    ranks = [digest.SEVERITY_RANK[m["severity"]] for m in data["top"]]
    assert ranks == sorted(ranks, reverse=True) and not set(moved) & {m["id"] for m in data["top"]}
    assert all(m["evidence"]["sha256"] and m["url"].startswith("http") for m in data["top"])

    assert main(["digest", "--config", str(config.path), "--week", week]) == 0
    text = capsys.readouterr().out
    assert f"WEEKLY DIGEST: {data['label']} ({week})" in text
    assert "11 mention(s) first seen this week; the week before: 3 (+8)." in text
    assert re.search(r"By tone\s+this week\s+week before\s+change", text)
    top = data["top"][0]
    assert top["url"] in text and top["evidence"]["text"] in text and top["evidence"]["sha256"] in text
    assert "Every source could be read this week." in text


def test_open_and_overdue_cases_and_failed_sources_are_in_the_digest(alert_config: Callable[..., Config],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config()
    main(["deliver", "--config", str(config.path)])  # opens the cases
    sessions = open_database(config.storage.database)
    now = utcnow()
    with sessions.begin() as session:
        from crawler.storage import Case
        late = session.scalars(select(Case).order_by(Case.id)).first()
        late.due = now - timedelta(hours=2)
        forum = session.scalars(select(Source).where(Source.name == "parents-forum")).one()
        forum.failures, forum.last_error, forum.error_since = 2, "the server answered 503 Service Unavailable", now
        session.add(ScanRun(status="finished", trigger="schedule", sources=["parents-forum"], started_at=now,
                            errors=[{"source": "parents-forum", "url": forum.url, "reason": forum.last_error}]))
    capsys.readouterr()
    assert main(["digest", "--config", str(config.path), "--week", this_week(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cases"]["overdue"] == 1 and data["cases"]["overdue_list"][0]["id"] == late.id
    assert data["cases"]["open"] >= 2
    assert data["failed_sources"] == [{"name": "parents-forum", "url": forum.url, "failed_scans": 1,
                                       "reason": "the server answered 503 Service Unavailable",
                                       "last_failed": data["failed_sources"][0]["last_failed"],
                                       "still_failing": True, "since": now.isoformat()}]
    assert main(["digest", "--config", str(config.path), "--week", this_week(config)]) == 0
    text = capsys.readouterr().out
    assert "OVERDUE CASES" in text and f"case {late.id}," in text
    assert "parents-forum: still failing since" in text and "503 Service Unavailable" in text


def test_digest_out_is_one_html_file_with_the_chart_inside(alert_config: Callable[..., Config], tmp_path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config()
    out = tmp_path / "digest.html"
    assert main(["digest", "--config", str(config.path), "--week", this_week(config), "--out", str(out)]) == 0
    assert f"Written to {out}" in capsys.readouterr().out
    html = out.read_text("utf-8")
    match = re.search(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert match, "the chart is embedded as a data URI"
    png = base64.b64decode(match.group(1))
    assert png.startswith(PNG) and Image.open(io.BytesIO(png)).size == (600, 240)
    assert "cid:" not in html and "<h1" in html and "By source" in html


def test_digest_send_emails_the_chart_inline_and_uploads_it_to_slack_once(
        alert_config: Callable[..., Config], smtp: LocalSMTP, slack: SlackStub,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "slack": slack.settings(),
                                  "routes": {"urgent": [], "high": [], "normal": [], "sources": []}})
    week = this_week(config)
    assert main(["digest", "--config", str(config.path), "--week", week, "--send"]) == 0
    assert "Alerts sent: email 1, slack 1" in capsys.readouterr().out

    message = smtp.wait_for(1)[0]
    assert message["Subject"].startswith(f"[schoolwatch] DIGEST: Week {int(week[-2:])} (")
    html_part = message.get_body(("html",))
    cid = re.search(r'src="cid:([^"]+)"', html_part.get_content()).group(1)
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0]["Content-ID"] == f"<{cid}>"
    assert images[0].get_content_disposition() == "inline" and images[0].get_content().startswith(PNG)
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    assert images[0] in related.get_payload()  # shown inside the HTML, not as an attachment
    text = message.get_body(("plain",)).get_content()
    assert "WEEKLY DIGEST" in text and "MOST SERIOUS MENTIONS OF THE WEEK" in text

    posted = slack.wait_for(1)[0]
    blocks = json.loads(posted["blocks"]) if isinstance(posted["blocks"], str) else posted["blocks"]
    assert blocks[0]["type"] == "header" and "Week" in blocks[0]["text"]["text"]
    uploads = [u for u in slack.uploads if u["filename"] == "digest-chart.png"]
    assert len(uploads) == 1 and uploads[0]["data"].startswith(PNG) and uploads[0]["thread_ts"] == posted["ts"]

    assert main(["digest", "--config", str(config.path), "--week", week, "--send"]) == 0
    assert "had been queued before" in capsys.readouterr().out
    assert len(smtp.messages) == 1 and len(slack.messages) == 1  # a week's digest goes once per channel


def test_without_email_or_slack_the_digest_lands_in_the_mailbox(alert_config: Callable[..., Config]) -> None:
    config = alert_config(alerts={"routes": {"urgent": [], "high": [], "normal": [], "sources": []}})
    assert main(["digest", "--config", str(config.path), "--send"]) == 0
    files = list(config.storage.mailbox.glob("*digest-weekly*.eml"))
    assert len(files) == 1


def test_fetched_text_in_the_digest_stays_text(alert_config: Callable[..., Config]) -> None:
    config = alert_config()
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        session.execute(update(Mention).values(title=HOSTILE_TEXT + "\r\nBcc: attacker@example.invalid",
                                               snippet=HOSTILE_TEXT))
    data = digest.build(config, this_week(config))
    html = digest.html(data, config)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and "<!channel>" not in html
    text = digest.text(data, config)
    assert "{{ 7*7 }}" in text and "\r" not in text and "\nBcc:" not in text
    alert = digest.digest_alert("digest.weekly:test", data, config)
    blocks, fallback = blocks_for(alert)
    posted = json.dumps(blocks) + fallback
    assert "<!channel>" not in posted and "<@U024BE7LH>" not in posted and "<script>" not in posted
    assert len(blocks) <= 50 and all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
