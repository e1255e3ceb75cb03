"""Rate limits, as the services write them: ``429`` with ``Retry-After``, and "remaining: 0" headers.

Scrapy's RetryMiddleware retries a 429 at once and ignores ``Retry-After``, which only
annoys a service that has asked us to wait. Spiders of service kinds (news searches, social
networks) therefore take 429 answers themselves: when the service asks for a short wait
(up to :attr:`RespectsRateLimits.max_wait` seconds) they wait without blocking the other
sources, then ask again; when it asks for longer, the source reports, in plain words, that
it was rate limited and will be read again next scan.

The header formats differ by service, so :func:`wait_seconds` reads all of them:

- ``Retry-After: 120`` or ``Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`` (RFC 9110);
- ``x-ratelimit-remaining: 0.0`` with ``x-ratelimit-reset: 412`` (Reddit: seconds);
- ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset: 2026-11-24T10:05:00.000Z`` (Mastodon);
- ``ratelimit-remaining: 0`` with ``ratelimit-reset: 1795000000`` (Bluesky: epoch seconds).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy.http import Request, Response
from scrapy.settings.default_settings import RETRY_HTTP_CODES

from spiders.items import SourceProblem

try:  # Scrapy 2.18+: asyncio.sleep or Twisted's deferLater, whichever reactor runs
    from scrapy.utils.asyncio import sleep
except ImportError:  # pragma: no cover - older Scrapy always runs the asyncio reactor here
    from asyncio import sleep

RATE_LIMITED = 429
_PER_DOWNLOAD = frozenset({"download_latency"})  # set by Scrapy for one download, not to be copied
_EPOCH_THRESHOLD = 1_000_000_000  # a "reset" this large is a Unix time, not a number of seconds


def _header(headers: Any, *names: str) -> str | None:
    for name in names:
        value = headers.get(name)
        if value:
            return value.decode("latin-1").strip() if isinstance(value, bytes) else str(value).strip()
    return None


def _seconds_until(value: str, now: float) -> float | None:
    """A reset or Retry-After value as seconds from ``now``: a number, an epoch, or a date."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if number != number or number in (float("inf"), float("-inf")):
            return None
        return max(0.0, number - now if number > _EPOCH_THRESHOLD else number)
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """How long a 429 (or 503) answer asks us to wait, in seconds; None when it does not say."""
    now = time.time() if now is None else now
    value = _header(headers, "Retry-After")
    if value is not None:
        return _seconds_until(value, now)
    return exhausted_for(headers, now, assume_exhausted=True)


def exhausted_for(headers: Any, now: float | None = None, assume_exhausted: bool = False) -> float | None:
    """Seconds until the quota resets when the answer says none is left; None while some is."""
    now = time.time() if now is None else now
    remaining = _header(headers, "X-RateLimit-Remaining", "RateLimit-Remaining")
    if not assume_exhausted:
        try:
            if remaining is None or float(remaining) >= 1:
                return None
        except ValueError:
            return None
    reset = _header(headers, "X-RateLimit-Reset", "RateLimit-Reset")
    return _seconds_until(reset, now) if reset is not None else None


def host_of(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def describe_wait(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


class RespectsRateLimits:
    """Mixin for a :class:`spiders.base.SourceSpider` that reads a service's feed or API.

    Requests to the service itself are made with :meth:`service_request`: a 429 reaches the
    callback, which hands it to :meth:`after_rate_limit` (a wait and the same request again,
    or a :class:`SourceProblem`). Article pages linked from the service are ordinary fetches.

    The service's own endpoint is read as a feed reader or an API client reads it, so its
    robots.txt is not consulted for that one address (Reddit's, for one, disallows every
    path to every crawler); every page it links to is fetched under robots.txt as usual.
    """

    # Scrapy must not retry 429 at once behind our back; other retryable codes stay.
    custom_settings: ClassVar[dict[str, Any]] = {
        "RETRY_HTTP_CODES": [code for code in RETRY_HTTP_CODES if code != RATE_LIMITED],
    }
    max_wait: float = 60.0  # seconds one Retry-After may hold this source up, within a scan
    max_waits: int = 3  # waits per source per scan, after which it is left for the next scan

    options: Any
    logger: Any
    fetch: Any

    def service_request(self, url: str, callback: Any, start: bool = False, **cb_kwargs: Any) -> Request:
        request: Request = self.fetch(url, callback, start=start, **cb_kwargs)
        request.meta["handle_httpstatus_list"] = [304, RATE_LIMITED]
        request.meta["dont_obey_robotstxt"] = True
        return request

    async def start(self) -> AsyncIterator[Any]:
        try:
            request = self.service_request(self.options.url, self.parse_start, start=True)  # type: ignore[attr-defined]
        except ValueError as exc:
            yield SourceProblem(self.options.name, self.options.url, f"the address cannot be used: {exc}")
            return
        yield request

    async def after_rate_limit(self, response: Response) -> Request | SourceProblem:
        """Wait as asked and try again, or say plainly that the service wants us to come back later."""
        delay = retry_after(response.headers)
        waited = getattr(self, "_rate_waits", 0)
        request = response.request
        assert request is not None
        if delay is not None and delay <= self.max_wait and waited < self.max_waits:
            self._rate_waits = waited + 1
            self.logger.info("%s asked us to wait %.1f s (Retry-After); waiting", host_of(response.url), delay)
            await sleep(delay)
            meta = {k: v for k, v in request.meta.items() if k not in _PER_DOWNLOAD}
            return request.replace(dont_filter=True, meta=meta)
        return self.rate_limit_problem(response, delay)

    def rate_limit_problem(self, response: Response, delay: float | None, fatal: bool | None = None) -> SourceProblem:
        """Fatal when nothing was read (the first request), else a partial read kept as it is."""
        asked = f" (it asked us to wait {describe_wait(delay)})" if delay else ""
        fatal = bool(response.meta.get("start")) if fatal is None else fatal
        rest = "will try again next scan" if fatal else "what was read so far is kept; the rest is read next scan"
        return SourceProblem(self.options.name, response.url,
                             f"rate limited by {host_of(response.url)}{asked}; {rest}", fatal=fatal)
