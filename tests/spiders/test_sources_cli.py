"""`schoolwatch sources` and `schoolwatch init`: where an administrator starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from crawler.cli import main
from crawler.config import load_config
from crawler.starter import search_phrases, starter_config, suggest_aliases
from spiders.options import kinds, options_for

SERVICE_KINDS = {"google_alerts", "google_news", "bing_news", "reddit", "bluesky", "mastodon", "youtube"}


def test_sources_lists_every_kind_on_one_line_with_an_example_block(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources"]) == 0
    out = capsys.readouterr().out
    for kind in kinds():
        assert re.search(rf"^  {kind} +\S", out, re.M), f"no line for {kind}"
        block = out.split(f"\n# {kind}: ", 1)[1].split("\n\n", 1)[0]
        [raw] = yaml.safe_load(block.split("\n", 1)[1])
        assert options_for(raw).kind == kind
    assert SERVICE_KINDS <= set(kinds())


def test_sources_for_one_kind_and_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "bluesky"]) == 0
    out = capsys.readouterr().out
    assert "kind: bluesky" in out and "kind: reddit" not in out
    assert main(["sources", "--json"]) == 0
    listed = {k["kind"]: k for k in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(kinds())
    assert {"name", "kind", "query", "endpoint", "pages", "every"} <= set(listed["bluesky"]["keys"])
    assert "url" not in listed["bluesky"]["keys"] and "url" in listed["google_alerts"]["keys"]
    assert main(["sources", "twitter"]) == 1
    assert "no kind of source called 'twitter'" in capsys.readouterr().err


def test_init_writes_a_commented_starter_config_that_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "schoolwatch.yaml"
    assert main(["init", "--name", "Bentilee Nursery School", "--website", "https://www.bentilee.stoke.sch.uk/",
                 "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert str(path) in out and "schoolwatch scan" in out
    text = path.read_text("utf-8")
    assert text.startswith("# schoolwatch config for Bentilee Nursery School")
    assert sum(line.lstrip().startswith("#") for line in text.splitlines()) >= 20  # explained, not bare
    config = load_config(path)
    assert config.school.name == "Bentilee Nursery School" and config.school.aliases == ["Bentilee Nursery"]
    assert config.crawl.contact == "https://www.bentilee.stoke.sch.uk/"
    sources = {s.name: s for s in config.sources}
    assert [s.kind for s in config.sources] == ["google_news", "bing_news", "reddit", "bluesky"]
    assert sources["google-news"].query == '"Bentilee Nursery"'  # covers "Bentilee Nursery School" too
    assert config.storage.database.endswith(str(tmp_path / "data" / "schoolwatch.db"))
    # The sources that need the school's own set-up are there, commented, with what to do.
    assert "#   kind: google_alerts" in text and "Deliver to: RSS feed" in text
    assert "#   kind: mastodon" in text and "#   kind: youtube" in text
    assert "X (Twitter)" in text and "paid APIs" in text
    # Uncommented, each commented block is a valid source too.
    for kind in ("google_alerts", "mastodon", "youtube"):
        block = re.search(rf"  # - name: [^\n]+\n  #   kind: {kind}\n(  #   [^\n]+\n)+", text).group(0)
        [raw] = yaml.safe_load(re.sub(r"^  # ?", "", block, flags=re.M).replace("YOUR-NUMBER", "1")
                               .replace("YOUR-ALERT-NUMBER", "2").replace("UCxxxxxxxxxxxxxxxxxxxxxx", "UC" + "x" * 22))
        assert options_for(raw).kind == kind


def test_init_never_overwrites_without_force_and_speaks_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "schoolwatch.yaml"
    path.write_text("mine", "utf-8")
    args = ["init", "--name", "Bentilee Nursery School", "--website", "bentilee.stoke.sch.uk", "--config", str(path)]
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err and path.read_text("utf-8") == "mine"
    assert main([*args, "--force", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {"path": str(path), "school": "Bentilee Nursery School", "aliases": ["Bentilee Nursery"],
                      "sources": ["google-news", "bing-news", "reddit", "bluesky"]}
    assert load_config(path).crawl.contact == "https://bentilee.stoke.sch.uk"


def test_init_refuses_a_website_that_is_not_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "schoolwatch.yaml"
    assert main(["init", "--name", "Bentilee Nursery School", "--website", "ftp://x", "--config", str(path)]) == 1
    assert "is not a web address" in capsys.readouterr().err and not path.exists()


@pytest.mark.parametrize("name, aliases", [
    ("Bentilee Nursery School", ["Bentilee Nursery"]),
    ("St Mary's C of E Primary School", ["St Mary's C of E Primary", "Saint Mary's C of E Primary School"]),
    ("Ormiston Academy", []),  # "Ormiston" alone would match far too much
    ("Abbey Hill School & Performing Arts College", ["Abbey Hill School and Performing Arts College"]),
])
def test_aliases_are_suggested_from_the_name(name: str, aliases: list[str]) -> None:
    suggested = suggest_aliases(name)
    assert suggested[:len(aliases)] == aliases
    assert name not in suggested and all(len(a.split()) >= 2 for a in suggested)


def test_search_phrases_are_the_fewest_that_cover_every_name() -> None:
    assert search_phrases(["Bentilee Nursery School", "Bentilee Nursery",
                           "Bentilee Nursery School and Children's Centre"]) == ["Bentilee Nursery"]
    assert search_phrases(["St Mary's CofE Primary", "Saint Mary's Primary"]) == ["Saint Mary's Primary",
                                                                                  "St Mary's CofE Primary"]


def test_any_school_name_makes_a_config_that_loads(tmp_path: Path) -> None:
    for index, name in enumerate(["St Mary's C of E Primary School", "O'Brien's \"Little Stars\" Nursery: #1",
                                  "École Jeannine Manuel"]):
        path = tmp_path / f"{index}.yaml"
        path.write_text(starter_config(name, "https://school.example/"), "utf-8")
        config = load_config(path)
        assert config.school.name == name
        assert all(s.kind != "bluesky" or s.query.startswith('"') for s in config.sources)
