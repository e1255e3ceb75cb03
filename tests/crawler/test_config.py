"""The config an administrator writes: accepted when right, explained when wrong."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.config import load_config
from crawler.errors import ConfigError

CONTRACT_EXAMPLE = """
school:
  name: Bentilee Nursery School
  aliases: [Bentilee Nursery, Bentilee Nursery School and Children's Centre]
  exclude: [Bentilee Neighbourhood Centre]   # look-alike phrases that are NOT the school
  timezone: Europe/London
storage:
  database: sqlite:///data/schoolwatch.db    # any SQLAlchemy URL
  archive: data/archive
sources:
  - name: local-news                          # unique
    kind: feed                                # feed | site | page  (more kinds come later)
    url: https://example.org/news.rss
    every: 30m                                # used by the scheduler
  - name: parents-forum
    kind: site                                # crawl from url, same host, up to depth
    url: https://example.org/forum/
    depth: 2
    allow_private: false                      # true only for local/test sources
"""


def write(tmp_path: Path, text: str, name: str = "schoolwatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value.problems


def test_the_issue_example_loads_with_every_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT_EXAMPLE))
    assert config.school.names[0] == "Bentilee Nursery School and Children's Centre"  # longest first
    assert config.school.exclude == ["Bentilee Neighbourhood Centre"]
    news, forum = config.sources
    assert (news.kind, news.every) == ("feed", timedelta(minutes=30))
    assert (forum.kind, forum.depth, forum.allow_private) == ("site", 2, False)


def test_relative_storage_paths_are_beside_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, CONTRACT_EXAMPLE))
    assert config.storage.archive == (tmp_path / "data" / "archive").resolve()
    assert config.storage.database == f"sqlite:///{(tmp_path / 'data' / 'schoolwatch.db').resolve()}"


def test_config_comes_from_the_environment_when_no_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, CONTRACT_EXAMPLE, "elsewhere.yaml")
    monkeypatch.setenv("SCHOOLWATCH_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    assert load_config().path == path


def test_a_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHOOLWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert "schoolwatch.yaml" in str(caught.value) and "--config" in str(caught.value)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "school:\n  name: [unclosed\nsources: []\n")
    assert "line" in problems[0] and "not valid YAML" in problems[0]


def test_every_problem_is_named_with_its_key(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, """
        school:
          name: Bentilee Nursery School
          timezone: Europe/Londres
        sources:
          - name: local-news
            kind: feed
            url: ftp://example.org/news.rss
            every: soon
          - name: parents-forum
            kind: site
            url: https://example.org/forum/
            depht: 2
          - name: odd
            kind: carrier-pigeon
            url: https://example.org/
    """)
    text = "\n".join(problems)
    assert "school.timezone: 'Europe/Londres' is not a time zone name" in text
    assert "sources[0] (local-news).url:" in text and "http" in text
    assert "sources[0] (local-news).every:" in text and "30m" in text
    assert "sources[1] (parents-forum).depht: is not a known key" in text
    assert "sources[2] (odd).kind:" in text and "feed" in text and "site" in text and "page" in text


def test_repeated_source_names_are_refused(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, """
        school: {name: Bentilee Nursery School}
        sources:
          - {name: news, kind: feed, url: https://example.org/a.rss}
          - {name: news, kind: page, url: https://example.org/b.html}
    """)
    assert any("unique" in p and "news" in p for p in problems)


def test_missing_school_name_is_reported(tmp_path: Path) -> None:
    assert any(p.startswith("school.name: is required") for p in problems_of(tmp_path, "school: {}\nsources: []\n"))


def test_cli_exits_2_and_names_the_file_for_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "school: {name: X School}\nsources: [{name: a, kind: page, url: https://x.org/, depth: 3}]\n")
    for command in (["scan"], ["mentions"], ["verify"]):
        assert main([*command, "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and "sources[0] (a).depth: is not a known key" in err


def test_unknown_source_flag_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, CONTRACT_EXAMPLE)
    assert main(["scan", "--config", str(path), "--source", "nope", "--json"]) == 2
    assert "no source has that name" in capsys.readouterr().err


def test_every_shipped_example_config_loads() -> None:
    examples = sorted((Path(__file__).parents[2] / "config").glob("*.yaml"))
    assert examples, "config/ should hold at least the school's example"
    for example in examples:
        assert load_config(example).sources
