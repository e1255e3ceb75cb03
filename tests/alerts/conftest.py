"""Alert tests start from a real scan of the demo site, copied for each test (a scan takes seconds)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.config import Config
from crawler.demo.server import LocalSite
from crawler.scan import run_scan
from support.scanning import demo_sources, make_config
from support.slack_stub import GOOD_TOKEN, SlackStub


@pytest.fixture(scope="session")
def scanned_demo(tmp_path_factory: pytest.TempPathFactory, demo_site: LocalSite) -> Path:
    """A folder holding the database and archive of one scan of the demo sources."""
    folder = tmp_path_factory.mktemp("scanned-demo")
    config = make_config(folder, demo_sources(demo_site.base_url))
    assert run_scan(config).status == "finished"
    with sqlite3.connect(folder / "schoolwatch.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


@pytest.fixture
def alert_config(tmp_path: Path, scanned_demo: Path, demo_site: LocalSite) -> Callable[..., Config]:
    """``alert_config(alerts={...}, response={...})``: a config over a private copy of the scan."""
    shutil.copy(scanned_demo / "schoolwatch.db", tmp_path / "schoolwatch.db")
    shutil.copytree(scanned_demo / "archive", tmp_path / "archive")

    def build(**settings: Any) -> Config:
        return make_config(tmp_path, demo_sources(demo_site.base_url), settings=settings)
    return build


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackStub]:
    monkeypatch.setenv("SCHOOLWATCH_SLACK_TOKEN", GOOD_TOKEN)
    stub = SlackStub().start()
    yield stub
    stub.stop()
