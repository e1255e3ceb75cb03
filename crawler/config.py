"""The school's configuration: YAML validated by pydantic, with readable errors.

Precedence, lowest to highest:

1. defaults written in these models (so a minimal file only needs ``school`` and ``sources``);
2. the YAML file (``--config PATH``, else ``$SCHOOLWATCH_CONFIG``, else ``./schoolwatch.yaml``);
3. environment variables, for secrets only: the config names the variable, never the secret.

Relative paths under ``storage`` are taken relative to the config file's folder, so the
same file works whichever folder the administrator runs ``schoolwatch`` from.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator, model_validator,
)

from crawler.errors import ConfigError
from spiders.options import SourceOptions, options_for, parse_duration

DEFAULT_CONFIG_NAME = "schoolwatch.yaml"
CONFIG_ENV = "SCHOOLWATCH_CONFIG"

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class School(_Strict):
    name: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    timezone: str = "Europe/London"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone name (for example Europe/London)") from None
        return value

    @property
    def names(self) -> list[str]:
        """The name and every alias, without repeats, longest first (longest match wins)."""
        seen: dict[str, str] = {}
        for phrase in [self.name, *self.aliases]:
            seen.setdefault(phrase.strip().casefold(), phrase.strip())
        return sorted((p for p in seen.values() if p), key=len, reverse=True)


class Storage(_Strict):
    database: str = "sqlite:///data/schoolwatch.db"
    archive: Path = Path("data/archive")
    mailbox: Path = Path("data/mailbox")  # where alerts land as .eml files when no channel is set up


class Crawl(_Strict):
    """Politeness and safety limits for every fetch. The defaults suit the public web."""

    contact: str = "https://github.com/schoolwatch/schoolwatch"
    obey_robots: bool = True
    autothrottle: bool = True
    concurrency: int = Field(default=8, ge=1, le=64)
    timeout: float = Field(default=30.0, gt=0, le=600)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_pages: int = Field(default=5000, ge=1)  # per site source per scan
    scan_timeout: float = Field(default=3600.0, gt=0)  # the whole crawl process


SEVERITIES = ("urgent", "high", "normal", "low")  # most serious first


class Classify(_Strict):
    """How concerns and tone become a severity. Each list names concerns; first level wins."""

    urgent: list[str] = Field(default_factory=lambda: ["threat", "safeguarding", "extremism"])
    high: list[str] = Field(default_factory=lambda: ["offensive", "hate", "allegation", "personal_data"])
    normal: list[str] = Field(default_factory=lambda: ["press"])
    negative_is: str = "normal"  # severity of a negative mention with no higher concern
    backend: str = "linear"  # or "minilm": the optional transformer extra (docs/tone.md)

    @field_validator("backend")
    @classmethod
    def _backend(cls, value: str) -> str:
        from crawler.tone.scorer import BACKENDS, missing_extra

        if value not in BACKENDS:
            raise ValueError(f"must be one of {', '.join(BACKENDS)}")
        if problem := missing_extra(value):
            raise ValueError(problem)
        return value

    @field_validator("negative_is")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError("must be one of urgent, high, normal, low")
        return value


CHANNEL_NAMES = ("email", "slack", "mailbox")


def channel_names(value: list[str]) -> list[str]:
    """Channel names as routes and the digest list them: known ones only, each once."""
    unknown = [name for name in value if name not in CHANNEL_NAMES]
    if unknown:
        raise ValueError(f"{', '.join(map(repr, unknown))} is not a channel: use {', '.join(CHANNEL_NAMES)}")
    return list(dict.fromkeys(value))


class EmailSettings(_Strict):
    """An SMTP server. The username and password come from the environment variables named here."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    ssl: bool = False  # SMTP over TLS from the first byte (usually port 465)
    username_env: str | None = None
    password_env: str | None = None
    sender: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    timeout: float = Field(default=30.0, gt=0, le=600)

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | list[str]) -> str | list[str]:
        for address in [value] if isinstance(value, str) else value:
            if "@" not in address or any(c in address for c in "\r\n<>,; "):
                raise ValueError(f"{address!r} is not an email address such as head@school.example")
        return value


class SlackSettings(_Strict):
    """A Slack workspace: a bot token (from the environment) and the channel alerts go to."""

    token_env: str = "SCHOOLWATCH_SLACK_TOKEN"
    channel: str = Field(min_length=2)
    base_url: str | None = None  # the Slack Web API (slack-sdk's default when empty)
    timeout: float = Field(default=30.0, gt=0, le=600)


class Routes(_Strict):
    """Which channels hear about each severity at once. ``low`` waits for the weekly digest."""

    urgent: list[str] = Field(default_factory=lambda: ["email", "slack"])
    high: list[str] = Field(default_factory=lambda: ["email", "slack"])
    normal: list[str] = Field(default_factory=lambda: ["slack"])
    low: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=lambda: ["email", "slack"])  # a source failing or recovering

    @field_validator("urgent", "high", "normal", "low", "sources")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        return channel_names(value)


class Retry(_Strict):
    """Backoff between delivery attempts: doubles from ``first`` up to ``longest``, with jitter."""

    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(minutes=30)

    @field_validator("first", "longest", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_serializer("first", "longest")
    def _seconds(self, value: timedelta) -> int:
        return int(value.total_seconds())


class Alerts(_Strict):
    email: EmailSettings | None = None
    slack: SlackSettings | None = None
    routes: Routes = Field(default_factory=Routes)
    rollup_after: int = Field(default=5, ge=1)  # more alerts than this for one channel at once: one summary
    retry: Retry = Field(default_factory=Retry)
    guidance: dict[str, str] = Field(default_factory=dict)  # concern -> what the policy says to do

    @model_validator(mode="after")
    def _routes_name_configured_channels(self) -> "Alerts":
        defaults = Routes()
        for level in Routes.model_fields:
            if getattr(self.routes, level) == getattr(defaults, level):
                continue  # the defaults simply skip what is not set up
            for name in getattr(self.routes, level):
                if name != "mailbox" and getattr(self, name) is None and (self.email or self.slack):
                    raise ValueError(f"routes.{level} names {name!r}, but alerts.{name} is not set up")
        return self

    def is_set_up(self, channel: str) -> bool:
        return channel == "mailbox" or getattr(self, channel, None) is not None

    def channels_for(self, route: str) -> list[str]:
        """The channels a route really uses: without email and Slack, everything goes to the mailbox."""
        return self.channels_among(getattr(self.routes, route))

    def channels_among(self, names: list[str]) -> list[str]:
        """Of these channel names, those set up; without email and Slack, the mailbox stands in."""
        if self.email is None and self.slack is None:
            return ["mailbox"] if names else []
        return [name for name in names if self.is_set_up(name)]


class Response(_Strict):
    """The policy's response deadline: ``within_hours`` of first seen, on a working day."""

    within_hours: float = Field(default=48, gt=0)
    weekend_rule: Literal["next_working_day", "none"] = "next_working_day"
    holidays: list[str] = Field(default_factory=lambda: ["england"])
    remind_before_hours: float = Field(default=8, ge=0)
    working_day_ends: dt_time = dt_time(17, 0)  # a deadline moved off a closed day falls at this hour

    @field_validator("holidays", mode="before")
    @classmethod
    def _holidays(cls, value: Any) -> list[str]:
        from crawler.workdays import check_holiday_entry

        items = [value] if isinstance(value, (str, date)) else (value or [])
        if not isinstance(items, list):
            raise ValueError("list a region (england, wales, scotland, northern_ireland, none), dates or date ranges")
        return [check_holiday_entry(str(item)) for item in items]


def _duration_or_zero(value: Any) -> timedelta:
    """A duration as for ``every`` (``30m``, ``2h``), but ``0`` is allowed: none at all."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return timedelta(0)
    if isinstance(value, str) and re.fullmatch(r"\s*0+\s*[smhdwSMHDW]?\s*", value):
        return timedelta(0)
    return parse_duration(value)


def _seconds_json(value: timedelta) -> int | float:
    """Durations travel (to the scan process, in ``--json``) as seconds; whole ones as integers."""
    seconds = value.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


class Schedule(_Strict):
    """The always-on service (``schoolwatch run``): how often and how long scans run, and its clocks."""

    default_every: timedelta = timedelta(hours=1)  # for a source that does not say ``every``
    jitter: timedelta = timedelta(minutes=5)  # each run starts up to this much later, at random
    scan_timeout: timedelta = timedelta(minutes=20)  # a scheduled scan running longer is stopped and recorded
    workers: int = Field(default=2, ge=1, le=16)  # scan processes at once
    batch: int = Field(default=20, ge=1, le=500)  # most sources one scan process takes, when several are due
    deliver_every: timedelta = timedelta(minutes=1)  # the outbox, reminders and retries
    heartbeat: timedelta = timedelta(minutes=1)  # how often the service records that it is alive
    stop_grace: timedelta = timedelta(seconds=10)  # on Ctrl-C or SIGTERM, how long a running scan may finish

    @field_validator("default_every", "scan_timeout", "deliver_every", "heartbeat", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        duration = parse_duration(value)
        if duration <= timedelta(0):
            raise ValueError("a duration must be more than zero")
        return duration

    @field_validator("jitter", "stop_grace", mode="before")
    @classmethod
    def _maybe_zero(cls, value: Any) -> timedelta:
        return _duration_or_zero(value)

    @field_serializer("default_every", "jitter", "scan_timeout", "deliver_every", "heartbeat", "stop_grace")
    def _seconds(self, value: timedelta) -> int | float:
        return _seconds_json(value)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {name: day for day, full in zip(DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday",
                                                   "saturday", "sunday")) for name in (day, full)}


class Digest(_Strict):
    """The weekly digest: when it goes (the school's time zone) and to which channels."""

    when: str = "mon 07:30"
    to: list[str] = Field(default_factory=lambda: ["email", "slack"])
    top: int = Field(default=10, ge=1, le=40)  # the most serious mentions it lists

    @field_validator("when")
    @classmethod
    def _day_and_time(cls, value: str) -> str:
        match = re.fullmatch(r"\s*([A-Za-z]+)\s+(\d{1,2}):(\d{2})\s*", value or "")
        day = _DAY_NAMES.get(match.group(1).lower(), "") if match else ""
        if not match or not day or int(match.group(2)) > 23 or int(match.group(3)) > 59:
            raise ValueError(f"{value!r} is not a weekday and a time such as 'mon 07:30'")
        return f"{day} {int(match.group(2)):02d}:{match.group(3)}"

    @field_validator("to")
    @classmethod
    def _known_channels(cls, value: list[str]) -> list[str]:
        return channel_names(value)

    @property
    def day(self) -> str:
        return self.when.split()[0]

    @property
    def at(self) -> dt_time:
        hour, minute = self.when.split()[1].split(":")
        return dt_time(int(hour), int(minute))


class EvidenceSettings(_Strict):
    """Screenshots of alerted mentions, taken after each scan by a headless Chromium (docs/evidence.md)."""

    screenshots: bool = True
    chromium: str = "auto"  # auto: find a system Chromium; off: none; or the browser's path
    timeout: float = Field(default=30.0, ge=5, le=300)  # seconds for one screenshot, browser start included
    max_per_scan: int = Field(default=20, ge=0, le=500)  # screenshots one scan takes at most

    @field_validator("chromium")
    @classmethod
    def _chromium(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("say auto, off, or the path of the Chromium program (e.g. /usr/bin/chromium)")
        return value


class Retention(_Strict):
    """How long evidence is kept (``schoolwatch purge``): data protection says no longer than needed."""

    mentions_days: int = Field(default=365, ge=1)  # a mention that never became a case, after it was last seen
    incidents_days: int = Field(default=2555, ge=1)  # a closed case (not escalated), after it closed (7 years)


class Config(_Strict):
    school: School
    storage: Storage = Field(default_factory=Storage)
    crawl: Crawl = Field(default_factory=Crawl)
    classify: Classify = Field(default_factory=Classify)
    alerts: Alerts = Field(default_factory=Alerts)
    response: Response = Field(default_factory=Response)
    schedule: Schedule = Field(default_factory=Schedule)
    digest: Digest = Field(default_factory=Digest)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    retention: Retention = Field(default_factory=Retention)
    sources: list[SourceOptions] = Field(default_factory=list)
    path: Path | None = Field(default=None, exclude=True)  # the file it came from

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceOptions]) -> list[SourceOptions]:
        names = [s.name for s in sources]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique; repeated: {', '.join(repeated)}")
        return sources

    def source(self, name: str) -> SourceOptions:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the config comes from: the flag, else the environment, else the current folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config; every problem is reported at once, with its key."""
    file = config_path(path)
    shown = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(shown, [f"the file does not exist (looked for {file.resolve()}); "
                                  f"pass --config PATH or set ${CONFIG_ENV}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [f"the file cannot be read: {exc}"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(shown, [f"{where}not valid YAML ({problem})"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(shown, ["the file must be a YAML mapping with 'school:' and 'sources:' keys"])
    return config_from_dict(raw, base=file.parent, shown=shown)


def config_from_dict(raw: dict[str, Any], base: Path = Path("."), shown: str = "<config>") -> Config:
    """Validate a mapping (from YAML or built in code, as the demo does)."""
    problems: list[str] = []
    sources = _validate_sources(raw.get("sources", []), problems)
    try:
        config = Config.model_validate({**raw, "sources": sources})
    except ValidationError as exc:
        problems += [_describe("", error) for error in exc.errors()]
    else:
        problems += _check_digest_channels(config)
    if problems:
        raise ConfigError(shown, problems)
    return _resolve_paths(_with_default_every(config), base, Path(shown) if shown != "<config>" else None)


def _check_digest_channels(config: Config) -> list[str]:
    """As for routes: the default simply skips what is not set up; a channel named on purpose must be."""
    alerts = config.alerts
    if config.digest.to == Digest().to or not (alerts.email or alerts.slack):
        return []
    return [f"digest.to: names {name!r}, but alerts.{name} is not set up"
            for name in config.digest.to if not alerts.is_set_up(name)]


def _with_default_every(config: Config) -> Config:
    """A source that does not say ``every`` is scanned every ``schedule.default_every``.

    Resolved once, here: the result says ``every`` explicitly, so it survives the round trip
    through JSON to the scan process unchanged.
    """
    every = config.schedule.default_every
    sources = [source if "every" in source.model_fields_set else source.model_copy(update={"every": every})
               for source in config.sources]
    return config.model_copy(update={"sources": sources})


def _validate_sources(raw_sources: Any, problems: list[str]) -> list[SourceOptions]:
    """Each source is checked by the model of its own ``kind``, so errors name its keys."""
    if raw_sources is None:
        return []
    if not isinstance(raw_sources, list):
        problems.append("sources: must be a list of sources, each starting with '- name:'")
        return []
    valid: list[SourceOptions] = []
    for index, item in enumerate(raw_sources):
        label = f"sources[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{label}: must be a mapping of keys (name:, kind:, url:), not {item!r}")
            continue
        if isinstance(item.get("name"), str):
            label += f" ({item['name']})"
        try:
            valid.append(options_for(item))
        except ValidationError as exc:
            problems += [_describe(label, error) for error in exc.errors()]
        except ValueError as exc:
            problems.append(f"{label}.kind: {exc}")
    return valid


def _describe(prefix: str, error: Any) -> str:
    """Turn one pydantic error into ``sources[1] (parents-forum).depth: message``."""
    key = prefix + "".join(f"[{loc}]" if isinstance(loc, int) else f".{loc}" for loc in error["loc"])
    key = key.lstrip(".") or "sources"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a known key (check its spelling and indentation)"
    elif error["type"] == "missing":
        message = "is required but missing"
    return f"{key}: {message}"


def _resolve_paths(config: Config, base: Path, path: Path | None) -> Config:
    storage = config.storage
    archive = storage.archive if storage.archive.is_absolute() else (base / storage.archive)
    mailbox = storage.mailbox if storage.mailbox.is_absolute() else (base / storage.mailbox)
    database = storage.database
    prefix = "sqlite:///"
    if database.startswith(prefix) and not database.startswith(prefix + "/") and ":memory:" not in database:
        database = prefix + str((base / database[len(prefix):]).resolve())
    return config.model_copy(update={
        "storage": storage.model_copy(update={"archive": archive.resolve(), "mailbox": mailbox.resolve(),
                                             "database": database}),
        "path": path,
    })
