"""Every error schoolwatch raises on purpose, in one place.

The hierarchy::

    SchoolwatchError            base: anything the CLI turns into a readable message
    ├── ConfigError             the YAML is missing, malformed or invalid (CLI exit 2)
    ├── SourceError             one source could not be scanned; recorded, the scan goes on
    │   ├── BlockedURLError     non-http(s) scheme, or a private/loopback address on a
    │   │                       source not marked ``allow_private``
    │   └── FeedError           the body is not a feed feedparser can read
    ├── ScanError               the scan as a whole could not run (crawl process died)
    └── EvidenceError           an archived file is missing or its hash has changed

Library code raises these; only ``crawler.cli`` turns them into messages and exit codes,
so the core stays usable from the scheduler and the tests without click-style exits.
"""

from __future__ import annotations


class SchoolwatchError(Exception):
    """Base class: the message is written for the school's administrator."""


class ConfigError(SchoolwatchError):
    """The configuration cannot be used. The message names the file, the key and the problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"config file {path} is not valid:\n{lines}")


class SourceError(SchoolwatchError):
    """One source failed; the reason is kept on the scan run and shown to the user."""


class BlockedURLError(SourceError):
    """A URL we refuse to fetch, for the safety of the school's network."""


class FeedError(SourceError):
    """A response that should have been a feed but could not be read as one."""


class ScanError(SchoolwatchError):
    """The scan could not run at all (not one source's failure)."""


class EvidenceError(SchoolwatchError):
    """Archived evidence is missing or altered."""
