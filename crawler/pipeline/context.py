"""What every pipeline step of one scan shares: config, database, matcher, scan run.

The crawl process sets it once before the crawl starts (it runs one scan and exits). It is
not passed through Scrapy settings because settings are deep-copied per crawler, and a
database engine must not be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import sessionmaker

from crawler.config import Config
from crawler.matching import Matcher


@dataclass
class ScanContext:
    config: Config
    sessions: sessionmaker
    matcher: Matcher
    scan_run_id: int
    emit: Callable[[dict[str, Any]], None]
    stopping: bool = False  # set when the process is asked to stop (SIGTERM, Ctrl-C)


_current: ScanContext | None = None


def set_context(context: ScanContext) -> None:
    global _current
    _current = context


def get_context() -> ScanContext:
    if _current is None:
        raise RuntimeError("the scan pipeline runs only inside a crawl process (crawler.crawl_process)")
    return _current
