"""Benchmark alert delivery against a real local SMTP server (aiosmtpd) and the Slack API stub.

    .venv/bin/python bench/alerts.py [--count 200] [--backlog 1000] [--out bench/results/alerts.json]

1. Latency: a mention is committed with its outbox event (as a scan does), then the relay
   runs; we time until the local SMTP server has accepted its email and the Slack stub has
   its message. Median and worst of ``--count``. (The service runs the relay every minute
   and after every scan, so add up to that wait in production.)
2. Backlog: ``--backlog`` mentions pile up while SMTP and Slack are down; both come back and
   one ``deliver`` sends everything. Reported twice: as a school gets it (rolled up), and
   one message per alert (roll-up off), with duplicates counted (the aim: none).
3. The bare job in the same run: smtplib sending the same number of emails to the same
   server, for the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import smtplib
import statistics
import sys
import tempfile
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from alerts.relay import deliver  # noqa: E402
from crawler.config import Config, config_from_dict  # noqa: E402
from crawler.storage import Mention, Outbox, Source, open_database, utcnow  # noqa: E402
from support.slack_stub import GOOD_TOKEN, SlackStub  # noqa: E402
from support.smtp_server import LocalSMTP  # noqa: E402


def make_config(folder: Path, smtp: LocalSMTP, slack: SlackStub, rollup_after: int) -> Config:
    return config_from_dict({
        "school": {"name": "Bentilee Nursery School"},
        "storage": {"database": f"sqlite:///{folder / 'bench.db'}", "archive": str(folder / "archive"),
                    "mailbox": str(folder / "mailbox")},
        "alerts": {"email": smtp.settings(), "slack": slack.settings(), "rollup_after": rollup_after},
    }, base=folder)


def add_mentions(config: Config, start: int, count: int) -> None:
    """Mentions and their outbox events, one transaction each, as the scan's store step writes them."""
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        source = session.query(Source).filter_by(name="bench").one_or_none()
        if source is None:
            session.add(Source(name="bench", kind="feed", url="https://example.org/feed", failures=0))
    for n in range(start, start + count):
        with sessions.begin() as session:
            source = session.query(Source).filter_by(name="bench").one()
            mention = Mention(url=f"https://example.org/post/{n}", source_id=source.id, title=f"Post {n} about Bentilee Nursery School",
                              snippet=f"Post {n}: parents are talking about Bentilee Nursery School again.",
                              matched=["Bentilee Nursery School"], text_sha256=f"{n:064d}", tone="negative",
                              concerns=["offensive"], severity="high", why=["offensive 0.91: 'bench'"])
            session.add(mention)
            session.flush()
            record = {"id": mention.id, "source": "bench", "url": mention.url, "title": mention.title,
                      "snippet": mention.snippet, "matched": mention.matched, "first_seen": utcnow().isoformat(),
                      "tone": "negative", "concerns": ["offensive"], "severity": "high", "why": mention.why,
                      "evidence": None}
            session.add(Outbox(kind="mention.new", idempotency_key=f"mention.new:{mention.id}:0",
                               mention_id=mention.id, payload=record))


def latency(count: int, folder: Path, smtp: LocalSMTP, slack: SlackStub) -> dict[str, Any]:
    config = make_config(folder, smtp, slack, rollup_after=10_000)
    deliver(config)  # warm: database created, templates compiled
    email_ms, slack_ms = [], []
    for n in range(count):
        add_mentions(config, n, 1)
        committed = time.perf_counter()
        deliver(config)
        email_ms.append((smtp.wait_for(n + 1)[n] and smtp.envelopes[n][2] - committed) * 1000)
        slack_ms.append((slack.wait_for(n + 1)[n]["received"] - committed) * 1000)
    return {"count": count,
            "email_ms": {"median": round(statistics.median(email_ms), 1), "worst": round(max(email_ms), 1)},
            "slack_ms": {"median": round(statistics.median(slack_ms), 1), "worst": round(max(slack_ms), 1)}}


def backlog(count: int, folder: Path, rollup_after: int) -> dict[str, Any]:
    smtp, slack = LocalSMTP().start(), SlackStub().start()
    try:
        config = make_config(folder, smtp, slack, rollup_after)
        add_mentions(config, 0, count)
        smtp.stop()
        port = slack.port
        slack.stop()
        down = deliver(config, force=True)
        smtp.start()
        slack.port = port
        slack.start()
        started = time.perf_counter()
        report = deliver(config, force=True)
        seconds = time.perf_counter() - started
        emails, posts = smtp.wait_for(report.messages // 2), slack.messages
        cases = Counter(c for m in emails for c in (m["X-Schoolwatch-Case"] or "").split(", ") if c)
        listed = Counter()  # each post's case numbers, as its item sections show them
        for post in posts:
            listed.update({c for block in post["blocks"] if block["type"] == "section"
                           for c in re.findall(r"· case (\d+)", block["text"]["text"])})
        return {
            "alerts": count, "rollup_after": rollup_after, "waiting_while_down": bool(down.waiting),
            "emails": len(emails), "slack_messages": len(posts), "seconds": round(seconds, 2),
            "alerts_per_second": round(2 * count / seconds, 1),
            "email_alerts_delivered": len(cases), "email_duplicates": sum(v - 1 for v in cases.values()),
            "email_missing": count - len(cases),
            "slack_alerts_delivered": len(listed), "slack_duplicates": sum(v - 1 for v in listed.values()),
            "slack_missing": count - len(listed),
        }
    finally:
        smtp.stop()
        slack.stop()


def bare_smtp(count: int) -> dict[str, Any]:
    smtp = LocalSMTP().start()
    try:
        started = time.perf_counter()
        for n in range(count):
            message = EmailMessage()
            message["Subject"], message["From"], message["To"] = f"bench {n}", "a@b.example", "c@d.example"
            message.set_content("Bentilee Nursery School " * 40)
            with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
                client.send_message(message)
        smtp.wait_for(count)
        seconds = time.perf_counter() - started
        return {"emails": count, "seconds": round(seconds, 2), "per_second": round(count / seconds, 1)}
    finally:
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--out", default=str(HERE / "results" / "alerts.json"))
    args = parser.parse_args()
    os.environ["SCHOOLWATCH_SLACK_TOKEN"] = GOOD_TOKEN
    with tempfile.TemporaryDirectory() as tmp:
        smtp, slack = LocalSMTP().start(), SlackStub().start()
        try:
            lat = latency(args.count, Path(tmp) / "latency", smtp, slack)
        finally:
            smtp.stop()
            slack.stop()
        rolled = backlog(args.backlog, Path(tmp) / "rolled", rollup_after=5)
        single = backlog(args.backlog, Path(tmp) / "single", rollup_after=10 * args.backlog)
    bare = bare_smtp(args.backlog)
    ratio = round(single["alerts_per_second"] / 2 / bare["per_second"], 2)
    print(f"\nLatency, mention committed -> accepted (of {lat['count']}):")
    print(f"  email  median {lat['email_ms']['median']:7.1f} ms   worst {lat['email_ms']['worst']:7.1f} ms")
    print(f"  slack  median {lat['slack_ms']['median']:7.1f} ms   worst {lat['slack_ms']['worst']:7.1f} ms")
    print(f"\nBacklog of {args.backlog} alerts x 2 channels after an outage:")
    print(f"  {'mode':<12} {'emails':>7} {'slack':>6} {'seconds':>8} {'alerts/s':>9} {'delivered':>10} {'duplicates':>11} {'missing':>8}")
    for name, row in (("rolled up", rolled), ("one each", single)):
        print(f"  {name:<12} {row['emails']:>7} {row['slack_messages']:>6} {row['seconds']:>8} {row['alerts_per_second']:>9}"
              f" {row['email_alerts_delivered'] + row['slack_alerts_delivered']:>10}"
              f" {row['email_duplicates'] + row['slack_duplicates']:>11} {row['email_missing'] + row['slack_missing']:>8}")
    print(f"\nBare smtplib, {bare['emails']} emails to the same server: {bare['per_second']} /s;"
          f" schoolwatch emails (one each, with Slack alongside) at {ratio} of that per channel")
    result = {"machine": platform.platform(), "python": platform.python_version(), "latency": lat,
              "backlog_rolled_up": rolled, "backlog_one_each": single, "bare_smtplib": bare,
              "ratio_vs_bare_smtplib": ratio}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
