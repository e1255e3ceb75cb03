"""What a configured source looks like, and the registry of source kinds.

Each kind of source (``feed``, ``site``, ``page``, ...) is one module in ``spiders/`` that
subclasses :class:`SourceOptions` with ``kind="..."`` and names its spider. The YAML key
``kind:`` picks the class, so adding a kind never touches the config loader.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import timedelta
from functools import cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """Accept ``30m``, ``2h``, ``1d`` (and bare seconds) as a school administrator writes them."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration: write a number and a unit, like 30m, 2h or 1d")
    number, unit = int(match.group(1)), match.group(2).lower()
    if number <= 0:
        raise ValueError("a duration must be more than zero")
    return timedelta(seconds=number * _UNIT_SECONDS[unit])


class SourceOptions(BaseModel):
    """Keys every source has. Subclass with ``kind="name"`` to register a new kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry: ClassVar[dict[str, type["SourceOptions"]]] = {}
    spider: ClassVar[str] = ""  # dotted path of the spider class that scans this kind
    summary: ClassVar[str] = ""  # one line for `schoolwatch sources`
    example: ClassVar[str] = ""  # a YAML list item for `schoolwatch sources` (it must validate)

    name: str
    kind: str
    url: str
    every: timedelta = Field(default=timedelta(hours=1))
    allow_private: bool = False

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            SourceOptions.registry[kind] = cls

    @field_validator("name")
    @classmethod
    def _name_is_simple(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '-', '_' or '.', starting with a letter or digit")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) address (it must start with https:// or http://)")
        try:
            parts.port
        except ValueError:
            raise ValueError(f"{value!r} has a port that is not a number") from None
        return value.strip()

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_serializer("every")
    def _every_seconds(self, value: timedelta) -> int:
        return int(value.total_seconds())


@cache
def kinds() -> list[str]:
    """Every kind, found by importing each module of ``spiders/``: a new kind is one new file."""
    import spiders

    for module in pkgutil.iter_modules(spiders.__path__):
        importlib.import_module(f"spiders.{module.name}")
    return sorted(SourceOptions.registry)


def options_for(raw: dict[str, Any]) -> SourceOptions:
    """Validate one source's YAML mapping with the model of its ``kind``."""
    kinds()
    kind = raw.get("kind")
    cls = SourceOptions.registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"kind {kind!r} is not known: use one of {', '.join(kinds())}")
    return cls.model_validate(raw)
