"""The crawl itself, in a process of its own: ``python -m crawler.crawl_process``.

Twisted's reactor cannot be restarted, so a long-lived service that scans every 30 minutes
cannot run Scrapy in its own process twice. Each scan therefore runs here, in a fresh
process: a hung or leaking crawl can be killed without taking the service down, and the
parent (``crawler.scan``) reads progress as JSON lines on this process's stdout.

Input on stdin, one JSON object: ``{"config": {...}, "sources": [names], "scan_run_id": N}``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

from scrapy.crawler import CrawlerProcess
from scrapy.utils.misc import load_object
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crawler.config import Config, config_from_dict
from crawler.crawl_settings import scrapy_settings
from crawler.matching import Matcher
from crawler.pipeline.context import ScanContext, get_context, set_context
from crawler.storage import Document as DocumentRow
from crawler.storage import Source, make_engine
from spiders.base import Validators


def event_writer(stream: TextIO) -> Any:
    def emit(event: dict[str, Any]) -> None:
        stream.write(json.dumps(event, default=str) + "\n")
        stream.flush()
    return emit


def known_validators(sessions: sessionmaker, source_name: str) -> dict[str, Validators]:
    """What each URL of this source answered last time, for conditional GET."""
    with sessions() as session:
        rows = session.execute(
            select(DocumentRow.url, DocumentRow.etag, DocumentRow.last_modified, DocumentRow.links)
            .join(Source, Source.id == DocumentRow.source_id).where(Source.name == source_name))
        return {url: (etag, modified, list(links or [])) for url, etag, modified, links in rows}


class _StoppableProcess(CrawlerProcess):
    """On SIGTERM or Ctrl-C, Scrapy closes every spider gracefully; the store step is told it is a stop,
    so it commits what it has without judging the source's health on half a scan."""

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        get_context().stopping = True
        super()._signal_shutdown(signum, frame)


def stop_when_orphaned(every: float = 1.0) -> None:
    """If the parent (the scan or the service) dies, stop as if told to, rather than crawl on unwatched."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def crawl(config: Config, source_names: list[str], scan_run_id: int, emit: Any) -> None:
    sessions = sessionmaker(make_engine(config.storage.database), expire_on_commit=False)
    matcher = Matcher(config.school.names, config.school.exclude)
    set_context(ScanContext(config=config, sessions=sessions, matcher=matcher,
                            scan_run_id=scan_run_id, emit=emit))
    process = _StoppableProcess(scrapy_settings(config), install_root_handler=True)
    for name in source_names:
        options = config.source(name)
        process.crawl(load_object(type(options).spider), options=options,
                      known=known_validators(sessions, name), wants=matcher.might_mention,
                      max_pages=config.crawl.max_pages)
    process.start()


def main() -> int:
    job = json.load(sys.stdin)
    # Events go to the real stdout; anything else printed goes to stderr, the scan's log.
    events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    config = config_from_dict(job["config"], shown=job.get("config_path") or "<scan>")
    emit = event_writer(events)
    stop_when_orphaned()
    crawl(config, job["sources"], job["scan_run_id"], emit)
    emit({"event": "finished"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
