"""Fixtures every test folder shares: real HTTP servers on 127.0.0.1, never the network.

``demo_site`` serves the bundled demo (``DEMO_SITE``) for the whole session, so
its request log accumulates; a test asserting on requests clears it first
(``demo_site.requests.clear()``) or starts its own with ``crawler.demo.server.serve``.
``hostile_site`` is new for each test, with the routes of ``tests/support/hostile.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.demo.server import LocalSite, serve
from support import DEMO_SITE
from support.hostile import add_hostile_routes


@pytest.fixture(scope="session")
def demo_site() -> Iterator[LocalSite]:
    with serve(DEMO_SITE) as site:
        yield site


@pytest.fixture
def hostile_site() -> Iterator[LocalSite]:
    with serve() as site:
        add_hostile_routes(site)
        yield site
