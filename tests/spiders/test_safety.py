"""The address guard: a link or redirect must never reach the school's own network."""

from __future__ import annotations

import pytest

from spiders.safety import blocked_reason


@pytest.mark.parametrize("url, addresses", [
    ("http://127.0.0.1/", ["127.0.0.1"]),
    ("http://localhost:8080/admin", ["127.0.0.1", "::1"]),
    ("http://router.home/", ["192.168.1.1"]),
    ("http://10.0.0.5/", ["10.0.0.5"]),
    ("http://172.16.4.4/", ["172.16.4.4"]),
    ("http://169.254.169.254/latest/meta-data/", ["169.254.169.254"]),  # cloud metadata
    ("http://[::1]/", ["::1"]),
    ("http://[::ffff:127.0.0.1]/", ["::ffff:127.0.0.1"]),  # v4-mapped loopback
    ("http://0.0.0.0/", ["0.0.0.0"]),
    ("http://mixed.example/", ["93.184.216.34", "10.1.1.1"]),  # one private answer is enough
])
def test_private_and_local_addresses_are_refused(url: str, addresses: list[str]) -> None:
    reason = blocked_reason(url, addresses, allow_private=False)
    assert reason is not None and "private or local" in reason and "allow_private" in reason


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/",
                                 "data:text/html,hi", "javascript:alert(1)"])
def test_only_http_and_https_are_fetched_even_for_local_sources(url: str) -> None:
    for allow_private in (False, True):
        reason = blocked_reason(url, [], allow_private=allow_private)
        assert reason is not None and "only http and https" in reason


def test_public_addresses_and_local_sources_are_allowed() -> None:
    assert blocked_reason("https://news.example/", ["93.184.216.34", "2606:2800:220:1::1"], False) is None
    assert blocked_reason("http://127.0.0.1:8000/", ["127.0.0.1"], allow_private=True) is None


def guard_for(allow_private: bool):
    from types import SimpleNamespace

    from spiders.safety import AddressGuard

    return AddressGuard(SimpleNamespace(spider=SimpleNamespace(options=SimpleNamespace(allow_private=allow_private))))


@pytest.mark.parametrize("url", ["http://10.0.0.1/router", "http://localhost:8080/", "http://[::1]/",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_the_middleware_refuses_every_request_to_a_private_address(url: str) -> None:
    """Links and redirect hops are new requests: each passes the guard, whatever made it."""
    import asyncio

    from scrapy.http import Request

    from spiders.safety import BlockedRequest

    with pytest.raises(BlockedRequest, match="private or local"):
        asyncio.run(guard_for(False).process_request(Request(url)))
    assert asyncio.run(guard_for(True).process_request(Request(url))) is None
