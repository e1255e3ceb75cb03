"""Refuse to fetch what a public-web monitor has no business fetching.

Fetched pages are attacker-controlled, and so are the links and redirects in them: a post
could point the crawler at the school's router, a cloud metadata endpoint or a file on disk.
Every request (start URLs, followed links, feed links, each redirect hop, robots.txt) passes
this downloader middleware, which allows only http(s) to public addresses, unless the source
is explicitly marked ``allow_private: true`` (the demo and tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request


class BlockedRequest(IgnoreRequest):
    """The request was refused for safety; the message says why, for the scan report."""


def blocked_reason(url: str, addresses: list[str], allow_private: bool) -> str | None:
    """Why ``url`` (resolving to ``addresses``) must not be fetched, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"refused {parts.scheme or 'schemeless'}: address {url[:200]!r}: only http and https are fetched"
    if allow_private:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            return (f"refused {url[:200]}: it points at a private or local network address ({ip}); "
                    f"mark the source allow_private: true only if it is meant to be local")
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (an IP literal resolves to itself)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []  # let the downloader report the DNS failure in its own words
    return sorted({info[4][0] for info in infos})


class AddressGuard:
    """Downloader middleware: runs before robots.txt, so even that fetch is checked.

    Each source is its own crawler, so "may this fetch private addresses?" is the spider's
    ``options.allow_private``, whatever made the request (a link, a redirect, robots.txt).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "AddressGuard":
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        options = getattr(self.crawler.spider, "options", None)
        allow_private = bool(getattr(options, "allow_private", False))
        addresses: list[str] = []
        if parts.scheme in ("http", "https") and not allow_private:
            if not parts.hostname:
                raise BlockedRequest(f"refused {request.url[:200]!r}: it has no host name")
            addresses = await resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        reason = blocked_reason(request.url, addresses, allow_private)
        if reason:
            raise BlockedRequest(reason)
        return None
