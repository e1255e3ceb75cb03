"""`schoolwatch status`: the service's heartbeat, each source's health and next scan, what is waiting."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from crawler.cli import main
from crawler.config import Config
from crawler.storage import Case, ScanRun, Source, open_database, utcnow
from scheduler import Service

pytestmark = pytest.mark.timeout(90)
SOURCE_KEYS = {"name", "kind", "url", "every_seconds", "state", "scanning", "last_scan_at", "last_ok_at",
               "next_run_at", "next_run_estimated", "failing_since", "failures", "reason"}


def status_json(config: Config, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["status", "--config", str(config.path), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_status_without_the_service(alert_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config(schedule={"default_every": "30m"})
    code, report = status_json(config, capsys)
    assert code == 1  # for monitoring: the service is not running
    assert report["service"] == {"state": "never started", "running": False}
    assert [s["name"] for s in report["sources"]] == ["local-news", "local-news-atom", "parents-forum", "reviews"]
    for item in report["sources"]:
        assert set(item) == SOURCE_KEYS and item["state"] == "ok" and item["next_run_estimated"]
        last = datetime.fromisoformat(item["last_scan_at"])
        expected = last + timedelta(seconds=item["every_seconds"])
        assert abs((datetime.fromisoformat(item["next_run_at"]) - max(expected, utcnow())).total_seconds()) < 5
    assert {s["every_seconds"] for s in report["sources"]} == {1800}  # local-news says 30m; the others use the default
    assert report["alerts"]["pending"] > 0 and report["alerts"]["failed"] == 0  # the scan's alerts, not yet sent
    assert report["digest"]["when"] == "mon 07:30" and report["digest"]["to"] == ["mailbox"]


def test_status_shows_failing_sources_overdue_cases_and_a_running_service(
        alert_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config(schedule={"heartbeat": 1, "jitter": 0})
    main(["deliver", "--config", str(config.path)])
    now = utcnow()
    sessions = open_database(config.storage.database)
    with sessions.begin() as session:
        late = session.scalars(select(Case).order_by(Case.id)).first()
        late.due = now - timedelta(hours=1)
        forum = session.scalars(select(Source).where(Source.name == "parents-forum")).one()
        forum.failures, forum.last_error, forum.error_since = 3, "the server answered 500", now

    service = Service(config)  # every source was scanned minutes ago: none is due for an hour
    thread = threading.Thread(target=service.run)
    thread.start()
    try:
        time.sleep(2)
        code, report = status_json(config, capsys)
        capsys.readouterr()
        assert main(["status", "--config", str(config.path)]) == 1
        text = capsys.readouterr().out
    finally:
        service.stopping.set()
        thread.join(60)
    assert code == 1  # a source is failing
    assert report["service"]["state"] == "running" and report["service"]["heartbeat_age_seconds"] < 5
    forum_status = next(s for s in report["sources"] if s["name"] == "parents-forum")
    assert forum_status["state"] == "failing" and forum_status["reason"] == "the server answered 500"
    assert forum_status["failing_since"] == now.isoformat()
    for item in report["sources"]:
        assert not item["next_run_estimated"]
        expected = datetime.fromisoformat(item["last_scan_at"]) + timedelta(seconds=item["every_seconds"])
        assert datetime.fromisoformat(item["next_run_at"]) == expected  # as scheduled, not yet due
    assert report["cases"]["overdue"] == 1 and report["cases"]["overdue_list"][0]["id"] == late.id
    assert report["cases"]["open"] >= 2
    assert "Service: running on" in text and "FAILING since" in text and f"OVERDUE case {late.id}" in text
    with open_database(config.storage.database)() as session:
        assert session.scalars(select(ScanRun).where(ScanRun.trigger == "schedule")).all() == []

    code, report = status_json(config, capsys)
    assert report["service"]["state"] == "stopped" and report["service"]["stopped_at"]
    assert all(s["next_run_estimated"] for s in report["sources"])
