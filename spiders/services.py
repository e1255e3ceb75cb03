"""Options shared by the kinds that watch a service (a news search, a social network).

Such a source is written in the service's own words (``query:``, ``tag:``, ``channel:``), not
as a web address: its ``url`` (the first address fetched, which the scan, the source's
health record and the reports show) is built from them, so ``url:`` is not written for these
kinds. ``endpoint:`` replaces the service's own address, for a mirror or a local test
server (which also needs ``allow_private: true``).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from pydantic import Field, field_validator, model_validator

from spiders.options import SourceOptions

MAX_QUERY = 500


def http_address(value: str) -> str:
    """The same check ``url:`` gets: http(s), a host, a numeric port."""
    return SourceOptions._url_is_http(value)  # type: ignore[operator]


def clean_query(value: str) -> str:
    """A search phrase or boolean query: one line, not empty, not absurdly long."""
    query = " ".join(str(value).split())
    if not query:
        raise ValueError("is empty: write the words to search for, for example '\"Bentilee Nursery School\"'")
    if len(query) > MAX_QUERY:
        raise ValueError(f"is {len(query)} characters long; keep it under {MAX_QUERY}")
    return query


class ServiceSource(SourceOptions):
    """Base of the service kinds: ``url`` is built by :meth:`build_url`, never written."""

    default_endpoint: ClassVar[str] = ""

    # Built from the kind's own keys after validation; left out of dumps, so a config sent to
    # the crawl process is rebuilt the same way instead of carrying a stale copy.
    url: str = Field(default="", exclude=True)
    endpoint: str | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _url_is_built(cls, value: Any) -> Any:
        if value:
            raise ValueError("is not written for this kind: it is built from the kind's own keys "
                             "(see `schoolwatch sources`); to use another server, set endpoint: instead")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_http(cls, value: str | None) -> str | None:
        return None if value is None else http_address(value).rstrip("/")

    @model_validator(mode="after")
    def _build_url(self) -> "ServiceSource":
        object.__setattr__(self, "url", http_address(self.build_url()))
        return self

    @property
    def base(self) -> str:
        """The service's address: ``endpoint:`` when given, else the real one."""
        return self.endpoint or self.default_endpoint

    def build_url(self) -> str:
        raise NotImplementedError


class QuerySource(ServiceSource):
    """A service searched with ``query:`` (a phrase, or a boolean query where it supports one)."""

    query: str

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return clean_query(value)


class PagedSource(ServiceSource):
    """A service whose answers come in pages, newest first (an API with a cursor)."""

    # How many pages one scan may read at most; paging also stops at a page of known posts.
    pages: int = Field(default=3, ge=1, le=20)


def with_query(base: str, **params: Any) -> str:
    """``base?k=v&...`` with the parameters that have a value, encoded."""
    present = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(present, doseq=True)}" if present else base
