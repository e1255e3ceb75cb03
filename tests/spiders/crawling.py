"""Run source spiders for real (Scrapy, the address guard, rate limits) and see what they yield.

``crawl(sources)`` starts a child process (Twisted's reactor cannot restart, so each crawl
needs a fresh process), runs one Scrapy crawler per source with the project's own settings
but no pipeline, and hands back, per source, every item the spider yielded: documents and
problems as plain dicts. The spiders meet local servers only (``allow_private: true``).

``service()`` is a routes-only local server for a service's API, and ``fixture()``
reads a file from ``tests/fixtures/sources``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "sources"
JSON = "application/json; charset=utf-8"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Crawled:
    """What one source's spider yielded, in order."""

    items: list[dict[str, Any]]

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Documents to judge (posts, entries, pages), not the bookkeeping ones."""
        return [i for i in self.items if i["type"] == "document" and i["judge"]]

    @property
    def problems(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["type"] == "problem"]

    @property
    def urls(self) -> list[str]:
        return [d["url"] for d in self.documents]

    def document(self, url_end: str) -> dict[str, Any]:
        found = [d for d in self.documents if d["url"].endswith(url_end)]
        assert len(found) == 1, (url_end, self.urls)
        return found[0]


def crawl(sources: list[dict[str, Any]], known: dict[str, list[str]] | None = None,
          timeout: float = 90, **crawl_settings: Any) -> dict[str, Crawled]:
    """Scan ``sources`` (config mappings) in one child process; ``known`` is URLs seen before, per source."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "items.json"
        job = {"sources": sources, "known": known or {}, "crawl": crawl_settings, "result": str(result)}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
        done = subprocess.run([sys.executable, __file__], input=json.dumps(job), capture_output=True, text=True,
                              timeout=timeout, cwd=REPO, env=env)
        if os.environ.get("SCHOOLWATCH_CRAWL_LOG"):  # to read the child's Scrapy log when debugging
            Path(os.environ["SCHOOLWATCH_CRAWL_LOG"]).write_text(done.stderr, "utf-8")
        assert done.returncode == 0, done.stderr[-4000:]
        items = json.loads(result.read_text("utf-8"))
    return {source["name"]: Crawled([i for i in items if i["source"] == source["name"]]) for source in sources}


@dataclass
class Service:
    """A local server answering like a service's API: routes, and when each was asked."""

    site: Any
    asked: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, path with query)

    @property
    def base_url(self) -> str:
        return self.site.base_url

    def route(self, path: str, answer: Any) -> None:
        """``answer(request)`` returns (status, headers, body); every call is timed."""
        def handler(request: Any) -> Any:
            self.asked.append((time.monotonic(), request.path))
            return answer(request)
        self.site.route(path, handler)

    def paths(self, route: str | None = None) -> list[str]:
        return [path for _, path in self.asked if route is None or path.split("?")[0] == route]


@contextmanager
def service() -> Iterator[Service]:
    """A routes-only server on 127.0.0.1 standing in for a service, stopped afterwards."""
    from crawler.demo.server import serve

    with serve() as site:
        yield Service(site)


# --- the child process -------------------------------------------------------------------------

COLLECTED: list[dict[str, Any]] = []


class Collect:
    """Item pipeline of the child: keep every item, as JSON-able dicts."""

    def process_item(self, item: Any) -> Any:
        from spiders.items import Document

        record = asdict(item)
        record["type"] = "document" if isinstance(item, Document) else "problem"
        if isinstance(item, Document):
            body = record.pop("body")
            record["body_sha256"] = hashlib.sha256(body).hexdigest()
            record["body_len"] = len(body)
            record["body_start"] = body[:200].decode("utf-8", "replace")
            for key in ("text", "matches", "judgement", "change", "evidence"):
                record.pop(key, None)
            if isinstance(record["published"], datetime):
                record["published"] = record["published"].isoformat()
        COLLECTED.append(record)
        return item


def _main() -> None:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.misc import load_object

    from crawler.config import config_from_dict
    from crawler.crawl_settings import scrapy_settings
    from crawler.matching import Matcher
    from support.scanning import SCHOOL

    job = json.load(sys.stdin)
    config = config_from_dict({"school": SCHOOL, "sources": job["sources"],
                               "crawl": {"contact": "https://example.org/schoolwatch-tests", "autothrottle": False,
                                         "timeout": 5, **job["crawl"]}})
    settings = scrapy_settings(config)
    settings.update({"ITEM_PIPELINES": {"__main__.Collect": 100}, "EXTENSIONS": {}, "LOG_LEVEL": "INFO"})
    matcher = Matcher(config.school.names, config.school.exclude)
    process = CrawlerProcess(settings, install_root_handler=True)
    for options in config.sources:
        known = {url: (None, None, []) for url in job["known"].get(options.name, [])}
        process.crawl(load_object(type(options).spider), options=options, known=known,
                      wants=matcher.might_mention, max_pages=config.crawl.max_pages)
    process.start()
    Path(job["result"]).write_text(json.dumps(COLLECTED, default=str), "utf-8")


if __name__ == "__main__":
    _main()
