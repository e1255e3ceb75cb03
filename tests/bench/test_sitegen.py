"""The benchmark site must be reproducible, fully reachable, and hold exactly the mentions it claims."""

from __future__ import annotations

import re
from collections import deque
from pathlib import Path

import pytest

from bench.sitegen import SCHOOL, generate_site, mention_paths

PAGES = 150
HREF = re.compile(r'href="([^"]+)"')


def _file(root: Path, path: str) -> Path:
    return root / ("index.html" if path == "/" else path.lstrip("/"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("site")
    return root, generate_site(root, pages=PAGES, page_kb=6, mention_every=7, seed=3)


def test_same_seed_same_bytes_other_seed_other_bytes(site: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, paths = site
    again = generate_site(tmp_path / "again", pages=PAGES, page_kb=6, mention_every=7, seed=3)
    assert again == paths
    for path in [*paths, "/sitemap.xml"]:
        assert _file(tmp_path / "again", path).read_bytes() == _file(root, path).read_bytes()
    other = generate_site(tmp_path / "other", pages=PAGES, page_kb=6, mention_every=7, seed=4)
    assert _file(tmp_path / "other", other[5]).read_bytes() != _file(root, paths[5]).read_bytes()


def test_pages_exist_at_about_the_asked_size(site: tuple[Path, list[str]]) -> None:
    root, paths = site
    assert len(paths) == len(set(paths)) == PAGES and paths[0] == "/"
    sizes = [_file(root, path).stat().st_size for path in paths]
    assert all(6 * 1024 <= size <= 7 * 1024 for size in sizes)


def test_breadth_first_crawl_from_the_root_reaches_every_page_by_depth_four(site: tuple[Path, list[str]]) -> None:
    root, paths = site
    depth = {"/": 0}
    queue = deque(["/"])
    while queue:
        path = queue.popleft()
        links = HREF.findall(_file(root, path).read_text(encoding="utf-8"))
        assert len(set(links) - {path}) >= 10
        for link in links:
            assert link in depth or _file(root, link).is_file(), link
            if link not in depth:
                depth[link] = depth[path] + 1
                queue.append(link)
    assert set(depth) == set(paths) and max(depth.values()) <= 4


def test_exactly_the_promised_pages_mention_the_school_once(site: tuple[Path, list[str]]) -> None:
    root, paths = site
    expected = mention_paths(paths, 7)
    assert len(expected) == PAGES // 7
    for path in paths:
        count = _file(root, path).read_text(encoding="utf-8").count(SCHOOL)
        assert count == (1 if path in expected else 0), path


def test_sitemap_lists_every_page(site: tuple[Path, list[str]]) -> None:
    root, paths = site
    locs = re.findall(r"<loc>\{\{BASE\}\}([^<]+)</loc>", (root / "sitemap.xml").read_text(encoding="utf-8"))
    assert locs == paths


def test_a_tiny_site_still_links_sensibly(tmp_path: Path) -> None:
    paths = generate_site(tmp_path, pages=3, page_kb=1, mention_every=1)
    assert mention_paths(paths, 1) == paths
    with pytest.raises(ValueError):
        generate_site(tmp_path, pages=0)
