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
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crawler.errors import ConfigError
from spiders.options import SourceOptions, options_for

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


class Classify(_Strict):
    """How concerns and tone become a severity. Each list names concerns; first level wins."""

    urgent: list[str] = Field(default_factory=lambda: ["threat", "safeguarding", "extremism"])
    high: list[str] = Field(default_factory=lambda: ["offensive", "hate", "allegation", "personal_data"])
    normal: list[str] = Field(default_factory=lambda: ["press"])
    negative_is: str = "normal"  # severity of a negative mention with no higher concern

    @field_validator("negative_is")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in ("urgent", "high", "normal", "low"):
            raise ValueError("must be one of urgent, high, normal, low")
        return value


class Config(_Strict):
    school: School
    storage: Storage = Field(default_factory=Storage)
    crawl: Crawl = Field(default_factory=Crawl)
    classify: Classify = Field(default_factory=Classify)
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
    if problems:
        raise ConfigError(shown, problems)
    return _resolve_paths(config, base, Path(shown) if shown != "<config>" else None)


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
    database = storage.database
    prefix = "sqlite:///"
    if database.startswith(prefix) and not database.startswith(prefix + "/") and ":memory:" not in database:
        database = prefix + str((base / database[len(prefix):]).resolve())
    return config.model_copy(update={
        "storage": storage.model_copy(update={"archive": archive.resolve(), "database": database}),
        "path": path,
    })
