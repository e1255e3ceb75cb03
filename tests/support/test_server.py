"""The local test server must behave like a careful real server, and the hostile one as badly as promised.

Every request uses http.client directly, with short timeouts, so nothing here follows a
redirect or decompresses a body by accident.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
import yaml
from protego import Protego

from crawler.demo.server import LocalSite, Request, Response, serve
from support import DEMO_DIR, DEMO_SITE, hostile

pytestmark = pytest.mark.timeout(30)


def fetch(site: LocalSite, path: str, headers: dict[str, str] | None = None, method: str = "GET",
          timeout: float = 5.0, limit: int | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", site.port, timeout=timeout)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read(limit) if limit is not None else response.read()
        return response.status, response.headers, body
    finally:
        connection.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[LocalSite]:
    root = tmp_path / "site"
    (root / "news").mkdir(parents=True)
    (root / "index.html").write_text("<a href='{{BASE}}/news/'>news</a>", encoding="utf-8")
    (root / "news" / "index.html").write_text("<p>news index</p>", encoding="utf-8")
    (root / "news" / "feed.xml").write_text("<?xml version='1.0'?><rss><link>{{BASE}}/x</link></rss>",
                                            encoding="utf-8")
    (root / "news" / "atom.xml").write_text("<?xml version='1.0'?><feed></feed>", encoding="utf-8")
    (root / "robots.txt").write_text("Sitemap: {{BASE}}/sitemap.xml\n", encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG{{BASE}}")
    (tmp_path / "secret.txt").write_text("outside the site", encoding="utf-8")
    with serve(root) as site:
        yield site


def test_binds_loopback_on_a_random_port(tiny: LocalSite) -> None:
    assert tiny.base_url == f"http://127.0.0.1:{tiny.port}"
    assert tiny.port != 0


def test_folders_serve_index_html_and_redirect_without_slash(tiny: LocalSite) -> None:
    assert fetch(tiny, "/news/")[2] == b"<p>news index</p>"
    status, headers, _ = fetch(tiny, "/news")
    assert (status, headers["Location"]) == (301, "/news/")


@pytest.mark.parametrize(("path", "expected"), [
    ("/", "text/html; charset=utf-8"),
    ("/news/feed.xml", "application/rss+xml; charset=utf-8"),
    ("/news/atom.xml", "application/atom+xml; charset=utf-8"),
    ("/robots.txt", "text/plain; charset=utf-8"),
    ("/logo.png", "image/png"),
])
def test_content_types(tiny: LocalSite, path: str, expected: str) -> None:
    status, headers, _ = fetch(tiny, path)
    assert (status, headers["Content-Type"]) == (200, expected)


def test_base_placeholder_becomes_this_servers_address_in_text_only(tiny: LocalSite) -> None:
    assert fetch(tiny, "/news/feed.xml")[2] == f"<?xml version='1.0'?><rss><link>{tiny.base_url}/x</link></rss>".encode()
    assert fetch(tiny, "/robots.txt")[2] == f"Sitemap: {tiny.base_url}/sitemap.xml\n".encode()
    assert fetch(tiny, "/logo.png")[2] == b"\x89PNG{{BASE}}"


def test_etag_and_if_none_match(tiny: LocalSite) -> None:
    status, headers, body = fetch(tiny, "/news/feed.xml")
    etag = headers["ETag"]
    assert status == 200 and etag.startswith('"') and headers["Content-Length"] == str(len(body))
    status, headers, body = fetch(tiny, "/news/feed.xml", {"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)
    assert fetch(tiny, "/news/feed.xml", {"If-None-Match": f'"other", W/{etag}'})[0] == 304
    assert fetch(tiny, "/news/feed.xml", {"If-None-Match": '"stale"'})[0] == 200


def test_etag_changes_with_the_served_bytes(tiny: LocalSite) -> None:
    before = fetch(tiny, "/news/index.html")[1]["ETag"]
    assert tiny.directory is not None
    (tiny.directory / "news" / "index.html").write_text("<p>changed</p>", encoding="utf-8")
    status, headers, _ = fetch(tiny, "/news/index.html", {"If-None-Match": before})
    assert status == 200 and headers["ETag"] != before


def test_last_modified_and_if_modified_since(tiny: LocalSite) -> None:
    assert tiny.directory is not None
    os.utime(tiny.directory / "robots.txt", (1_700_000_000, 1_700_000_000))
    headers = fetch(tiny, "/robots.txt")[1]
    assert headers["Last-Modified"] == formatdate(1_700_000_000, usegmt=True)
    assert fetch(tiny, "/robots.txt", {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(tiny, "/robots.txt", {"If-Modified-Since": formatdate(1_600_000_000, usegmt=True)})[0] == 200
    assert fetch(tiny, "/robots.txt", {"If-Modified-Since": "not a date"})[0] == 200
    # If-None-Match decides when both are sent.
    assert fetch(tiny, "/robots.txt", {"If-None-Match": '"stale"',
                                       "If-Modified-Since": headers["Last-Modified"]})[0] == 200


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/../../../../etc/passwd", "/%2e%2e/secret.txt", "/news/%2E%2E/%2e%2e/secret.txt",
    "/..%2fsecret.txt", "/news/..\\..\\secret.txt", "/%00index.html", "/missing.html",
])
def test_nothing_outside_the_folder_and_missing_files_are_404(tiny: LocalSite, path: str) -> None:
    status, _, body = fetch(tiny, path)
    assert status == 404 and b"outside the site" not in body


def test_symlinks_out_of_the_folder_are_not_followed(tiny: LocalSite) -> None:
    assert tiny.directory is not None
    (tiny.directory / "escape.txt").symlink_to(tiny.directory.parent / "secret.txt")
    assert fetch(tiny, "/escape.txt")[0] == 404


def test_demo_traversal_to_the_repository_is_blocked(demo_site: LocalSite) -> None:
    for path in ("/../pyproject.toml", "/../../../pyproject.toml", "/%2e%2e/server.py"):
        assert fetch(demo_site, path)[0] == 404


def test_head_sends_headers_only(tiny: LocalSite) -> None:
    status, headers, body = fetch(tiny, "/news/feed.xml", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_request_log_keeps_method_path_and_headers(tiny: LocalSite) -> None:
    fetch(tiny, "/news/feed.xml?x=1", {"User-Agent": "schoolwatch-test/1", "If-None-Match": '"a"'})
    method, path, headers = tiny.requests[-1]
    assert (method, path) == ("GET", "/news/feed.xml?x=1")
    assert headers["user-agent"] == "schoolwatch-test/1" and headers["If-None-Match"] == '"a"'
    assert tiny.requests[-1].route == "/news/feed.xml" and tiny.requests[-1].query == {"x": ["1"]}


def test_routes_take_precedence_and_may_return_tuples(tiny: LocalSite) -> None:
    tiny.route("/news/", lambda request: (201, {"X-Seen": request.headers["X-Ask"]}, b"dynamic"))
    status, headers, body = fetch(tiny, "/news/?q=1", {"X-Ask": "yes"})
    assert (status, headers["X-Seen"], body) == (201, "yes", b"dynamic")


def test_a_failing_route_answers_500_and_is_recorded(tiny: LocalSite) -> None:
    def broken(_: Request) -> Response:
        raise RuntimeError("boom")

    tiny.route("/broken", broken)
    assert fetch(tiny, "/broken")[0] == 500
    assert [str(e) for e in tiny.errors] == ["boom"]


def test_server_is_quiet(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with serve(tmp_path) as site:
        fetch(site, "/nothing")
    assert capfd.readouterr().err == ""


def test_stop_cuts_hanging_dripping_and_idle_connections_short() -> None:
    site = serve()
    hostile.add_hostile_routes(site)
    outcomes: dict[str, str] = {}

    def client(path: str) -> None:
        try:
            fetch(site, path, timeout=20)
            outcomes[path] = "answered"
        except (OSError, http.client.HTTPException):
            outcomes[path] = "cut"

    clients = [threading.Thread(target=client, args=(p,)) for p in ("/hang", "/slow-drip")]
    for thread in clients:
        thread.start()
    idle = socket.create_connection(("127.0.0.1", site.port), timeout=5)  # never sends a request
    time.sleep(0.3)
    started = time.monotonic()
    site.stop()
    for thread in clients:
        thread.join(timeout=5)
    assert idle.recv(1) == b""
    idle.close()
    assert time.monotonic() - started < 3
    assert outcomes == {"/hang": "cut", "/slow-drip": "cut"}
    site.stop()  # twice is harmless


# --- the hostile routes -----------------------------------------------------------------

def test_hang_sends_nothing(hostile_site: LocalSite) -> None:
    with socket.create_connection(("127.0.0.1", hostile_site.port), timeout=0.5) as connection:
        connection.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(TimeoutError):
            connection.recv(1)


def test_slow_drip_sends_headers_then_a_byte_at_a_time(hostile_site: LocalSite) -> None:
    with socket.create_connection(("127.0.0.1", hostile_site.port), timeout=2) as connection:
        connection.sendall(b"GET /slow-drip HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += connection.recv(1)
        assert received.startswith(b"HTTP/1.0 200") and b"Content-Length: " in received
        assert len(connection.recv(10)) == 1
        connection.settimeout(0.3)
        with pytest.raises(TimeoutError):
            connection.recv(10)


@pytest.mark.parametrize("status", [500, 404])
def test_error_statuses(hostile_site: LocalSite, status: int) -> None:
    assert fetch(hostile_site, f"/{status}")[0] == status


@pytest.mark.parametrize("target", ["file:///etc/passwd", "http://10.0.0.1/admin", "http://127.0.0.1:1/x",
                                    "gopher://example.invalid/"])
def test_redirect_to_any_address(hostile_site: LocalSite, target: str) -> None:
    status, headers, _ = fetch(hostile_site, "/redirect-to?url=" + quote(target, safe=""))
    assert (status, headers["Location"]) == (302, target)
    assert fetch(hostile_site, "/redirect-to")[0] == 400


def test_redirect_loop(hostile_site: LocalSite) -> None:
    status, headers, _ = fetch(hostile_site, "/redirect-loop")
    assert (status, headers["Location"]) == (302, "/redirect-loop")


def test_huge_is_50_mb_streamed(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/huge", limit=1024 * 1024)
    assert status == 200 and int(headers["Content-Length"]) == hostile.HUGE_BYTES
    assert len(body) == 1024 * 1024 and body.startswith(b"<p>")


def test_garbage_is_binary_served_as_html(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/garbage")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body == fetch(hostile_site, "/garbage")[2] and len(body) == 64 * 1024
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_wrong_charsets(hostile_site: LocalSite) -> None:
    _, headers, body = fetch(hostile_site, "/wrong-charset")
    assert "iso-8859-1" in headers["Content-Type"]
    assert "\u201cBentilee Nursery School\u201d" in body.decode("utf-8")
    _, headers, body = fetch(hostile_site, "/wrong-charset-cp1252")
    assert "utf-8" in headers["Content-Type"]
    assert "\u201cBentilee Nursery School\u201d" in body.decode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")


def test_malformed_rss_is_broken_and_carries_entity_attacks(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/malformed.rss")
    assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
    assert b'SYSTEM "file:///etc/passwd"' in body and b"&lol9;" in body
    with pytest.raises(ET.ParseError):
        ET.fromstring(body)


def test_empty(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/empty")
    assert (status, headers["Content-Length"], body) == (200, "0", b"")


def test_lying_length(hostile_site: LocalSite) -> None:
    with pytest.raises(http.client.IncompleteRead) as caught:
        fetch(hostile_site, "/lying-length")
    assert caught.value.partial == hostile.LYING_BODY
    assert caught.value.expected == hostile.LYING_LENGTH - len(hostile.LYING_BODY)


def test_not_a_feed(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/not-a-feed.rss")
    assert headers["Content-Type"].startswith("application/rss+xml") and body.startswith(b"<!DOCTYPE html>")


def test_gzip_bomb_is_small_on_the_wire_and_inflates_to_a_gibibyte(hostile_site: LocalSite) -> None:
    status, headers, body = fetch(hostile_site, "/gzip-bomb")
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert len(body) < 2 * 1024 * 1024
    inflater = zlib.decompressobj(31)
    assert inflater.decompress(body, 10 * 1024 * 1024) == bytes(10 * 1024 * 1024)
    assert int.from_bytes(body[-4:], "little") == hostile.GZIP_BOMB_INFLATED % 2**32


def test_gzip_bomb_is_a_valid_stream() -> None:
    """Inflating a 1/64 slice proves the repeated segments decode (the whole takes seconds)."""
    bomb = hostile.gzip_bomb()
    segment_count = hostile.GZIP_BOMB_INFLATED // (1024 * 1024)
    segment = (len(bomb) - 10 - 2 - 8) // segment_count
    inflater = zlib.decompressobj(-15)
    out = inflater.decompress(bomb[10:10 + segment * 16] + bomb[-10:-8])
    assert out == bytes(16 * 1024 * 1024) and inflater.eof


def test_hostile_entry_feed(hostile_site: LocalSite) -> None:
    _, headers, body = fetch(hostile_site, "/feed-with-hostile-entry.rss")
    assert headers["Content-Type"].startswith("application/rss+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo
    entry = parsed.entries[0]
    assert "Bentilee Nursery School" in entry.title and "{{ 7*7 }}" in entry.title
    assert "<!channel>" in body.decode() and "&lt;script&gt;alert(1)&lt;/script&gt;" in body.decode()
    assert entry.link == hostile_site.url("/hostile-entry.html")
    status, _, page = fetch(hostile_site, "/hostile-entry.html")
    assert status == 200 and b"&lt;script&gt;alert(1)" in page


# --- the bundled demo site agrees with expected.yaml --------------------------------------

def _expected() -> dict[str, Any]:
    return yaml.safe_load((DEMO_DIR / "expected.yaml").read_text(encoding="utf-8"))


def _paths(source: str | None = None) -> set[str]:
    expected = _expected()
    return {e["path"] for key in ("mentions", "no_mentions") for e in expected[key]
            if source is None or e["source"] == source}


def test_demo_site_is_small() -> None:
    assert sum(p.stat().st_size for p in DEMO_SITE.rglob("*") if p.is_file()) < 200 * 1024


def test_every_expected_page_is_served(demo_site: LocalSite) -> None:
    for path in _paths() | {e["path"] for e in _expected()["not_fetched"]}:
        status, headers, body = fetch(demo_site, path)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8", path
        assert b"{{BASE}}" not in body


@pytest.mark.parametrize(("feed", "source", "count"), [("/news/feed.xml", "local-news", 8),
                                                        ("/news/atom.xml", "local-news-atom", 3)])
def test_demo_feeds_link_to_exactly_the_expected_pages(demo_site: LocalSite, feed: str, source: str,
                                                       count: int) -> None:
    parsed = feedparser.parse(fetch(demo_site, feed)[2])
    assert not parsed.bozo and len(parsed.entries) == count
    links = {entry.link for entry in parsed.entries}
    assert links == {demo_site.url(path) for path in _paths(source)}


def test_demo_robots_and_sitemap_agree_with_expectations(demo_site: LocalSite) -> None:
    robots = Protego.parse(fetch(demo_site, "/robots.txt")[2].decode())
    assert list(robots.sitemaps) == [demo_site.url("/sitemap.xml")]
    for entry in _expected()["not_fetched"]:
        assert not robots.can_fetch(demo_site.url(entry["path"]), "schoolwatch")
    forum = _paths("parents-forum")
    assert all(robots.can_fetch(demo_site.url(path), "schoolwatch") for path in _paths())
    sitemap = ET.fromstring(fetch(demo_site, "/sitemap.xml")[2])
    locs = {loc.text for loc in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert locs == {demo_site.url(path) for path in forum}


def test_demo_config_names_the_expected_sources() -> None:
    config = yaml.safe_load((DEMO_DIR / "demo.yaml").read_text(encoding="utf-8"))
    assert {s["name"] for s in config["sources"]} == {e["source"] for e in _expected()["mentions"]}
    assert all(s["url"].startswith("{{BASE}}/") and s["allow_private"] for s in config["sources"])
    assert config["school"]["name"] == _expected()["school"]
