"""Why a fetch failed, in words a school business manager can act on."""

from __future__ import annotations

from typing import Any

from scrapy import exceptions as scrapy_errors
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as net
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from spiders.safety import BlockedRequest


def describe_failure(failure: Failure, settings: Any) -> str:
    """One sentence for the scan report; the technical class name stays in the log."""
    exc = failure.value
    url = getattr(getattr(failure, "request", None), "url", "")
    if isinstance(exc, BlockedRequest):
        return str(exc)
    if isinstance(exc, HttpError):
        status = exc.response.status
        hint = {403: " (forbidden: the site refuses us)", 404: " (not found: check the address)",
                410: " (gone)", 429: " (too many requests: the site asks us to slow down)"}
        if 300 <= status < 400:
            location = (exc.response.headers.get(b"Location") or b"").decode("latin-1")[:200]
            return (f"the server redirected to {location!r}, which was not followed "
                    "(only http and https are fetched)")
        if status >= 500:
            return f"the server answered {status}: it has a problem of its own; we will try again next scan"
        return f"the server answered {status}{hint.get(status, '')}"
    if isinstance(exc, IgnoreRequest):
        message = str(exc)
        if "DOWNLOAD_MAXSIZE" in message:  # a compressed body that inflates past the cap
            return _too_big(settings)
        if "max redirections" in message.lower():
            return f"the address redirects in a loop (more than {settings.getint('REDIRECT_MAX_TIMES')} redirects)"
        if "robots.txt" in message.lower():
            return "the site's robots.txt asks crawlers not to fetch this address, so we did not"
        return message or "the request was dropped"
    if isinstance(exc, (net.DNSLookupError, scrapy_errors.CannotResolveHostError)):
        return "the web address could not be found (DNS lookup failed): check the spelling of the host name"
    if isinstance(exc, (net.TimeoutError, net.TCPTimedOutError, scrapy_errors.DownloadTimeoutError)):
        return f"no answer within {settings.getfloat('DOWNLOAD_TIMEOUT'):g} seconds (the server is slow or down)"
    if isinstance(exc, (net.ConnectionRefusedError, scrapy_errors.DownloadConnectionRefusedError)):
        return "the server refused the connection (it is down, or the address is wrong)"
    if isinstance(exc, scrapy_errors.DownloadCancelledError):
        return _too_big(settings)
    if isinstance(exc, scrapy_errors.UnsupportedURLSchemeError):
        return f"refused {url[:200]!r}: only http and https are fetched"
    if isinstance(exc, (net.ConnectionLost, ResponseFailed, ResponseNeverReceived, net.ConnectionDone,
                        scrapy_errors.ResponseDataLossError, scrapy_errors.DownloadFailedError)):
        detail = " ".join(str(r.value) for r in getattr(exc, "reasons", []) if hasattr(r, "value"))
        if "maxsize" in detail.lower() or "larger than" in detail.lower() or "cancelled" in detail.lower():
            return _too_big(settings)
        return "the server closed the connection before sending the whole page"
    text = str(exc)
    if "maxsize" in text.lower() or "max size" in text.lower():
        return _too_big(settings)
    return f"could not fetch {url}: {type(exc).__name__}: {text}"[:500]


def _too_big(settings: Any) -> str:
    limit = settings.getint("DOWNLOAD_MAXSIZE")
    return f"the page is larger than the {limit // (1024 * 1024)} MB limit, so it was not read"
