"""Scrapy settings built from the school's config: politeness, safety limits, pipeline order."""

from __future__ import annotations

from typing import Any

from crawler import __version__
from crawler.config import Config

# One pipeline step per module, in the order a document flows through them.
ITEM_PIPELINES = {
    "crawler.pipeline.extract.ExtractStep": 100,
    "crawler.pipeline.match.MatchStep": 200,
    "crawler.pipeline.classify.ClassifyStep": 300,
    "crawler.pipeline.dedupe.DedupeStep": 400,
    "crawler.pipeline.evidence.EvidenceStep": 500,
    "crawler.pipeline.store.StoreStep": 600,
}


def user_agent(config: Config) -> str:
    """Say who we are and where to complain, as a polite crawler does."""
    return f"schoolwatch/{__version__} (+{config.crawl.contact})"


def scrapy_settings(config: Config) -> dict[str, Any]:
    crawl = config.crawl
    return {
        "BOT_NAME": "schoolwatch",
        "USER_AGENT": user_agent(config),
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrency,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_bytes,
        "DOWNLOAD_WARNSIZE": crawl.max_bytes // 2,
        "RETRY_TIMES": 1,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,  # no control ports: fetched content is hostile
        "REMOTE_CONTROL_ENABLED": False,
        # Breadth-first: depth means distance from the start page (see spiders/site.py).
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.safety.AddressGuard": 10,  # before robots.txt, so its fetch is checked too
            "spiders.conditional.ConditionalGet": 560,
        },
        "ITEM_PIPELINES": ITEM_PIPELINES,
        "EXTENSIONS": {"crawler.progress.Progress": 500},
        "LOG_LEVEL": "INFO",
    }
