"""The `schoolwatch` command as people and other programs use it: the contracts of issue 2 and 3."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crawler.cli import COMMANDS, main
from crawler.demo.server import LocalSite
from support.scanning import demo_sources, make_config

README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
MENTION_KEYS = {"id", "source", "url", "title", "snippet", "matched", "published", "first_seen", "last_seen",
                "tone", "concerns", "severity", "evidence"}


@pytest.fixture
def demo_config(tmp_path: Path, demo_site: LocalSite) -> Path:
    make_config(tmp_path, demo_sources(demo_site.base_url))
    return tmp_path / "schoolwatch.yaml"


def test_scan_json_prints_one_object_and_nothing_else(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--config", str(demo_config), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert {"sources", "documents", "mentions_new", "mentions_updated", "errors"} <= result.keys()
    assert result["sources"] == 4 and result["mentions_new"] == 14 and result["errors"] == []
    assert err == ""  # quiet with --json

    assert main(["scan", "--config", str(demo_config), "--json", "--source", "reviews"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["sources"], again["mentions_new"]) == (1, 0)


def test_scan_without_json_shows_progress_per_source_and_a_summary(demo_config: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--config", str(demo_config)]) == 0
    out, err = capsys.readouterr()
    for source in ("local-news", "local-news-atom", "parents-forum", "reviews"):
        assert f"▶ {source}: scanning" in err and f"✔ {source}: done" in err
    assert "+ new mention on parents-forum" in err
    assert re.search(r"Scan \d+ finished: 4 sources, \d+ documents, 14 new mentions", out)


def test_mentions_json_has_the_contract_fields_and_since_filters(demo_config: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", "--config", str(demo_config), "--json"])
    capsys.readouterr()
    assert main(["mentions", "--config", str(demo_config), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 14
    for line in lines:
        record = json.loads(line)
        assert MENTION_KEYS <= record.keys()
        assert set(record["evidence"]) == {"raw", "text", "warc", "sha256"}
        assert record["tone"] in ("positive", "neutral", "negative")
    assert main(["mentions", "--config", str(demo_config), "--json", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["mentions", "--config", str(demo_config), "--since", "yesterday"]) == 2
    assert "not an ISO date" in capsys.readouterr().err


def test_mentions_table_shows_severity_tone_source_and_evidence(demo_config: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", "--config", str(demo_config), "--json"])
    capsys.readouterr()
    main(["mentions", "--config", str(demo_config)])
    out = capsys.readouterr().out
    assert "severity" in out and "urgent" in out and "parents-forum" in out
    assert "evidence:" in out and ".warc.gz" in out


def test_verify_names_an_altered_evidence_file_and_exits_1(demo_config: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", "--config", str(demo_config), "--json"])
    capsys.readouterr()
    assert main(["verify", "--config", str(demo_config)]) == 0
    assert "match the SHA-256 recorded at capture" in capsys.readouterr().out
    archive = Path(yaml.safe_load(demo_config.read_text())["storage"]["archive"])
    victim = sorted(archive.rglob("*.txt"))[0]
    victim.write_text("nothing to see here", encoding="utf-8")
    assert main(["verify", "--config", str(demo_config)]) == 1
    out = capsys.readouterr().out
    assert str(victim) in out and "changed" in out


def test_classify_takes_ten_thousand_lines_in_order() -> None:
    texts = ["Bentilee Nursery School is wonderful, the staff are lovely",
             "I will hurt the teacher at Bentilee Nursery tomorrow",
             "",
             "The nursery's safeguarding policy is excellent"] * 2500
    done = subprocess.run([sys.executable, "-m", "crawler", "classify", "--json"], input="\n".join(texts) + "\n",
                          capture_output=True, text=True, timeout=240, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == 10_000
    for result in results:
        assert {"tone", "scores", "concerns", "severity", "why"} <= result.keys()
    assert results[0]["tone"] == "positive" and results[0]["severity"] == "low"
    assert "threat" in results[1]["concerns"] and results[1]["severity"] == "urgent"
    assert results[2]["tone"] == "neutral" and results[2]["concerns"] == []
    assert "safeguarding" not in results[3]["concerns"]
    assert results[4] == results[0] and results[9_999] == results[3]


def test_every_command_is_documented_in_the_readme() -> None:
    for command in COMMANDS:
        assert f"schoolwatch {command}" in README, f"README does not document `schoolwatch {command}`"
