"""A crash mid-scan leaves no half rows, and the next scan picks up where it left off."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bench.sitegen import generate_site, mention_paths
from crawler.demo.server import serve
from crawler.queries import verify_archive
from crawler.scan import run_scan
from support.scanning import children_of, make_config, stored_counts


def test_killing_the_crawl_mid_scan_loses_nothing_that_was_stored(tmp_path: Path) -> None:
    paths = generate_site(tmp_path / "site", pages=1200, page_kb=4, mention_every=20, seed=1)
    expected = len(mention_paths(paths, 20))
    with serve(tmp_path / "site") as site:
        config = make_config(tmp_path / "data", [{"name": "big-site", "kind": "site", "url": site.url("/"),
                                                  "depth": 8, "allow_private": True}])
        killed: list[int] = []

        def kill_after_first_mention(event: dict) -> None:
            if event.get("event") == "mention" and not killed:
                for pid in children_of(os.getpid()):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

        crashed = run_scan(config, on_event=kill_after_first_mention)
        assert killed, "the scan finished before it could be interrupted"
        assert crashed.status == "failed"
        assert any("stopped unexpectedly" in e["reason"] for e in crashed.errors)

        partial = stored_counts(config)
        assert 1 <= partial["mentions"] < expected
        assert partial["mentions_without_revision"] == 0 and partial["revisions_without_outbox"] == 0
        assert verify_archive(config)[1] == []

        again = run_scan(config)
    assert again.status == "finished" and again.errors == []
    final = stored_counts(config)
    assert final["mentions"] == expected
    assert again.mentions_new == expected - partial["mentions"]
    assert final["mentions_without_revision"] == 0 and final["revisions_without_outbox"] == 0
