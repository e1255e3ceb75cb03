"""The service's config: `schedule` and `digest`, and `every` defaulting to `schedule.default_every`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crawler.config import config_from_dict
from crawler.errors import ConfigError

SCHOOL = {"name": "Bentilee Nursery School"}
SOURCES = [{"name": "news", "kind": "feed", "url": "https://example.org/news.rss"},
           {"name": "forum", "kind": "site", "url": "https://example.org/forum/", "every": "15m"}]


def test_defaults() -> None:
    config = config_from_dict({"school": SCHOOL, "sources": SOURCES})
    schedule = config.schedule
    assert (schedule.default_every, schedule.jitter, schedule.scan_timeout) == \
        (timedelta(hours=1), timedelta(minutes=5), timedelta(minutes=20))
    assert (config.digest.when, config.digest.to) == ("mon 07:30", ["email", "slack"])
    assert [s.every for s in config.sources] == [timedelta(hours=1), timedelta(minutes=15)]


def test_default_every_applies_to_sources_without_every_and_survives_the_trip_to_the_scan_process() -> None:
    config = config_from_dict({"school": SCHOOL, "sources": SOURCES,
                               "schedule": {"default_every": "10m", "jitter": 0, "heartbeat": 0.5}})
    assert [s.every for s in config.sources] == [timedelta(minutes=10), timedelta(minutes=15)]
    # The scan process gets the config as JSON and validates it again: nothing may change on the way.
    sent = json.loads(json.dumps(config.model_dump(mode="json", serialize_as_any=True)))
    again = config_from_dict(sent)
    assert [s.every for s in again.sources] == [timedelta(minutes=10), timedelta(minutes=15)]
    assert again.schedule == config.schedule and again.digest == config.digest
    assert sent["schedule"]["heartbeat"] == 0.5 and sent["schedule"]["jitter"] == 0


def test_digest_when_is_a_weekday_and_a_time() -> None:
    config = config_from_dict({"school": SCHOOL, "digest": {"when": "Friday 16:05"}})
    assert config.digest.when == "fri 16:05" and (config.digest.day, config.digest.at.hour) == ("fri", 16)


@pytest.mark.parametrize(("raw", "expected"), [
    ({"schedule": {"jitter": "soon"}}, "schedule.jitter: 'soon' is not a duration"),
    ({"schedule": {"default_every": 0}}, "schedule.default_every: a duration must be more than zero"),
    ({"schedule": {"every": "1h"}}, "schedule.every: is not a known key"),
    ({"digest": {"when": "mon 25:00"}}, "digest.when: 'mon 25:00' is not a weekday and a time such as 'mon 07:30'"),
    ({"digest": {"when": "monkey 07:30"}}, "digest.when: 'monkey 07:30' is not a weekday"),
    ({"digest": {"to": ["pager"]}}, "digest.to: 'pager' is not a channel"),
    ({"digest": {"to": ["slack"]}, "alerts": {"email": {"host": "smtp.example.org", "sender": "a@example.org",
                                                          "to": ["head@example.org"]}}},
     "digest.to: names 'slack', but alerts.slack is not set up"),
])
def test_mistakes_name_the_key(raw: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"school": SCHOOL, **raw})
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
