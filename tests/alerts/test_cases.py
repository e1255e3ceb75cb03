"""Cases: deadlines by the policy's rule, reminders once each, and the record of who did what."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from alerts.cases import list_cases
from alerts.relay import deliver
from crawler.cli import main
from crawler.config import Config
from crawler.storage import Mention, open_database
from support.smtp_server import LocalSMTP

pytestmark = pytest.mark.timeout(60)
LONDON = ZoneInfo("Europe/London")


def first_seen_at(config: Config, moment: datetime) -> None:
    with open_database(config.storage.database).begin() as session:
        session.execute(update(Mention).values(first_seen=moment))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_due_is_48_hours_or_the_end_of_the_next_working_day(alert_config: Callable[..., Config]) -> None:
    config = alert_config()
    first_seen_at(config, datetime(2026, 11, 27, 10, 0, tzinfo=LONDON))  # a Friday morning
    deliver(config)
    cases = list_cases(config, now=datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))
    assert cases and all(c["status"] == "open" for c in cases)
    # +48 h is Sunday 10:00, a weekend: due at the end of Monday.
    assert {datetime.fromisoformat(c["due"]).astimezone(LONDON) for c in cases} == {datetime(2026, 11, 30, 17, 0, tzinfo=LONDON)}


def test_a_deadline_on_a_bank_holiday_or_a_closed_day_moves_on(alert_config: Callable[..., Config]) -> None:
    config = alert_config(response={"holidays": ["england", "2026-12-29..2027-01-04"]})
    first_seen_at(config, datetime(2026, 12, 23, 9, 0, tzinfo=LONDON))  # due Friday 25th: Christmas
    deliver(config)
    due = {c["due"] for c in list_cases(config)}
    assert due == {datetime(2027, 1, 5, 17, 0, tzinfo=LONDON).astimezone(timezone.utc).isoformat()}


def test_reminders_before_due_and_when_overdue_go_out_once_each(alert_config: Callable[..., Config], smtp: LocalSMTP,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config(alerts={"email": smtp.settings(), "rollup_after": 20}, response={"remind_before_hours": 8})
    start = datetime(2026, 11, 23, 9, 0, tzinfo=LONDON)  # a Monday: due Wednesday 09:00
    first_seen_at(config, start)
    alerted = deliver(config, now=start).messages
    case_ids = [c["id"] for c in list_cases(config)]
    urgent = next(c for c in list_cases(config) if c["severity"] == "urgent")["id"]
    code, out, _ = cli(capsys, "respond", str(urgent), "--by", "Mrs Patel (DSL)", "--note", "Referred to children's services",
                       "--config", str(config.path))
    assert code == 0 and "responded" in out

    deliver(config, now=start + timedelta(hours=39))  # 9 hours before due: nothing yet
    assert len(smtp.messages) == alerted
    for hour in (41, 42, 45):  # inside the 8-hour window, several relay runs: one reminder each
        deliver(config, now=start + timedelta(hours=hour))
    reminders = [m for m in smtp.messages if m["Subject"].startswith("[schoolwatch]") and "Reminder: case" in m["Subject"]]
    assert sorted(int(m["X-Schoolwatch-Case"]) for m in reminders) == sorted(i for i in case_ids if i != urgent)

    for hour in (49, 50, 60):
        deliver(config, now=start + timedelta(hours=hour))
    overdue = [m for m in smtp.messages if "Overdue: case" in m["Subject"]]
    assert sorted(int(m["X-Schoolwatch-Case"]) for m in overdue) == sorted(i for i in case_ids if i != urgent)

    listed = list_cases(config, overdue_only=True, now=start + timedelta(hours=60))
    assert {c["id"] for c in listed} == set(case_ids) - {urgent} and all(c["overdue"] for c in listed)


def test_ack_respond_close_record_who_when_and_what(alert_config: Callable[..., Config],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = alert_config()
    deliver(config)
    case = list_cases(config)[0]["id"]
    where = ("--config", str(config.path))
    assert cli(capsys, "ack", str(case), "--by", "Head", *where)[0] == 0
    assert cli(capsys, "respond", str(case), "--by", "Head", "--note", "Asked the parent to remove the post", *where)[0] == 0
    assert cli(capsys, "close", str(case), "--by", "Head", "--note", "Post removed; met the parent", *where)[0] == 0
    code, out, _ = cli(capsys, "cases", "--json", *where)
    record = next(json.loads(line) for line in out.splitlines() if json.loads(line)["id"] == case)
    assert record["status"] == "closed" and record["on_time"] is True
    actions = [(e["action"], e["by"], e["note"]) for e in record["history"]]
    assert ("acknowledged", "Head", None) in actions
    assert ("responded", "Head", "Asked the parent to remove the post") in actions
    assert ("closed", "Head", "Post removed; met the parent") in actions
    assert actions[0][0] == "opened" and ("alerted", None, "by mailbox") in actions

    code, _, err = cli(capsys, "ack", str(case), "--by", "Head", *where)
    assert code == 1 and f"case {case} is closed" in err
    code, _, err = cli(capsys, "ack", "99999", "--by", "Head", *where)
    assert code == 1 and "there is no case 99999" in err
    with pytest.raises(SystemExit):  # argparse: --note is required for respond
        main(["respond", str(case), "--by", "Head", *where])
    assert cli(capsys, "cases", "--open", *where)[1].count(f"\n{case} ") == 0
