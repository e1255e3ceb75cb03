"""Bank holidays and response deadlines, checked against the dates GOV.UK publishes."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crawler.config import config_from_dict
from crawler.errors import ConfigError
from crawler.workdays import Calendar, bank_holidays

LONDON = ZoneInfo("Europe/London")
GOV_UK = {  # https://www.gov.uk/bank-holidays, copied by hand
    ("england", 2026): ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
                        "2026-12-25", "2026-12-28"],
    ("england", 2027): ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
                        "2027-12-27", "2027-12-28"],
    ("england", 2022): ["2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03",
                        "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27"],
    ("scotland", 2022): ["2022-01-03", "2022-01-04", "2022-04-15", "2022-05-02", "2022-06-02", "2022-06-03",
                         "2022-08-01", "2022-09-19", "2022-11-30", "2022-12-26", "2022-12-27"],
    ("northern_ireland", 2025): ["2025-01-01", "2025-03-17", "2025-04-18", "2025-04-21", "2025-05-05",
                                 "2025-05-26", "2025-07-14", "2025-08-25", "2025-12-25", "2025-12-26"],
}


@pytest.mark.parametrize("region, year", list(GOV_UK))
def test_bank_holidays_match_gov_uk(region: str, year: int) -> None:
    assert sorted(str(d) for d in bank_holidays(region, year)) == GOV_UK[region, year]


@pytest.mark.parametrize("seen, due", [
    (datetime(2026, 11, 24, 10, 0), datetime(2026, 11, 26, 10, 0)),  # Tuesday: plain 48 hours
    (datetime(2026, 11, 27, 10, 0), datetime(2026, 11, 30, 17, 0)),  # Friday: Sunday -> end of Monday
    (datetime(2026, 11, 28, 9, 0), datetime(2026, 11, 30, 9, 0)),  # Saturday: lands on Monday, stays
    (datetime(2027, 3, 25, 12, 0), datetime(2027, 3, 30, 17, 0)),  # Thursday before Easter -> Tuesday
    (datetime(2026, 12, 23, 9, 0), datetime(2026, 12, 29, 17, 0)),  # Christmas and Boxing Day substitute
])
def test_due_follows_the_policy(seen: datetime, due: datetime) -> None:
    calendar = Calendar(["england"])
    assert calendar.due(seen.replace(tzinfo=LONDON), 48) == due.replace(tzinfo=LONDON)


def test_closed_days_and_the_plain_rule() -> None:
    calendar = Calendar(["england", "2026-11-30", "2026-12-01..2026-12-02"])
    seen = datetime(2026, 11, 27, 10, 0, tzinfo=LONDON)
    assert calendar.due(seen, 48, day_ends=time(16, 0)) == datetime(2026, 12, 3, 16, 0, tzinfo=LONDON)
    assert calendar.due(seen, 48, rule="none") == datetime(2026, 11, 29, 10, 0, tzinfo=LONDON)
    assert not calendar.is_working_day(date(2026, 12, 2)) and calendar.is_working_day(date(2026, 12, 3))


def test_bad_response_and_alert_settings_are_named() -> None:
    with pytest.raises(ConfigError) as error:
        config_from_dict({"school": {"name": "Bentilee Nursery School"},
                          "response": {"holidays": ["england", "christmas"]},
                          "alerts": {"email": {"host": "smtp.example.org", "sender": "not-an-address", "to": []},
                                     "routes": {"urgent": ["email", "pager"]}}})
    text = str(error.value)
    assert "'christmas' is neither a region" in text
    assert "'pager' is not a channel" in text
    assert "alerts.email.sender" in text and "alerts.email.to" in text


def test_a_route_to_a_channel_that_is_not_set_up_is_an_error() -> None:
    with pytest.raises(ConfigError, match="routes.high names 'slack', but alerts.slack is not set up"):
        config_from_dict({"school": {"name": "Bentilee Nursery School"},
                          "alerts": {"email": {"host": "smtp.example.org", "sender": "a@b.example", "to": ["c@d.example"]},
                                     "routes": {"high": ["slack"]}}})
