"""Fixtures every test folder shares: real HTTP servers on 127.0.0.1, never the network.

``demo_site`` serves the bundled demo (``DEMO_SITE``) for the whole session, so
its request log accumulates; a test asserting on requests clears it first
(``demo_site.requests.clear()``) or starts its own with ``crawler.demo.server.serve``.
``hostile_site`` is new for each test, with the routes of ``tests/support/hostile.py``.
``screenshotted_demo`` is one scan of the demo with screenshots on (Chromium), for the session;
tests copy it (``support.evidence.copy_scan``) before changing anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demo.server import LocalSite, serve
from support import DEMO_SITE
from support.hostile import add_hostile_routes
from support.smtp_server import LocalSMTP


@pytest.fixture(scope="session")
def demo_site() -> Iterator[LocalSite]:
    with serve(DEMO_SITE) as site:
        yield site


@pytest.fixture
def smtp() -> Iterator[LocalSMTP]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, new for each test; see support/smtp_server.py."""
    server = LocalSMTP().start()
    yield server
    server.stop()


@pytest.fixture
def hostile_site() -> Iterator[LocalSite]:
    with serve() as site:
        add_hostile_routes(site)
        yield site


@pytest.fixture(scope="session")
def screenshotted_demo(tmp_path_factory: pytest.TempPathFactory, demo_site: LocalSite) -> Path:
    """A folder holding one scan of the demo sources with screenshots on; ``scan.json`` is its summary."""
    from crawler.scan import run_scan
    from support.evidence import CHROMIUM
    from support.scanning import demo_sources, make_config

    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine: `make system-deps` installs Debian's chromium package")
    folder = tmp_path_factory.mktemp("screenshotted-demo")
    config = make_config(folder, demo_sources(demo_site.base_url), settings={"evidence": {"screenshots": True}})
    summary = run_scan(config)
    assert summary.status == "finished", summary.errors
    (folder / "scan.json").write_text(json.dumps(summary.as_json()), encoding="utf-8")
    return folder
