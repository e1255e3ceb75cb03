"""Every error schoolwatch raises on purpose, in one place.

The hierarchy::

    SchoolwatchError            base: anything the CLI turns into a readable message (exit 1)
    ├── ConfigError             the YAML is missing, malformed or invalid (exit 2)
    └── crawler.browser.BrowserError    the headless Chromium (kept beside the code that raises them)
        ├── BrowserUnavailable  no usable Chromium: no screenshots; `incident --out` cannot print
        ├── CaptureRefused      an address the crawl would refuse too (private, not http(s), redirected away)
        └── CaptureFailed       no answer in time, a crash, a cap exceeded

A source that fails is not an exception here: it is data (``spiders.items.SourceProblem``),
recorded on the scan run and the source, and the scan goes on. A request refused for
safety is ``spiders.safety.BlockedRequest``, inside the crawl. Altered evidence is reported
by ``crawler.evidence.verify`` as a list, not raised. A screenshot that fails during a scan
is a note on the revision (``crawler.screenshots``), never a failed scan.

Library code raises these; only ``crawler.cli`` turns them into messages and exit codes,
so the core stays usable from the scheduler and the tests.
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
