"""crawler.browser against a real headless Chromium and real local servers, no mocks.

Each test serves pages on 127.0.0.1 (``crawler.demo.server``) and a second server on another
port stands for "somewhere else": the tests prove it is never reached. Every test also checks
that no process of this test run's browser is left behind.

Without Chromium these tests are skipped, except in CI (``CI`` set), where ``make test``
installs it first and a missing browser is a failure, not a quiet skip.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.browser import (BrowserUnavailable, CaptureFailed, CaptureRefused, find_chromium, html_to_pdf,
                             png_size, run_processes, screenshot)
from crawler.demo.server import LocalSite, Response, serve

pytestmark = pytest.mark.timeout(120)

CHROMIUM = find_chromium("auto")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing in CI: `make test` should have installed it (make system-deps)")
    pytestmark = [pytestmark, pytest.mark.skip(reason="no Chromium on this machine: `make system-deps` installs "
                                                      "Debian's chromium package")]
POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdfimages") is not None
needs_poppler = pytest.mark.skipif(not POPPLER and not os.environ.get("CI"),
                                   reason="poppler-utils (pdftotext, pdfimages) missing: `make system-deps`")

# This process's runs only: other test runs on the same machine have other process ids.
OUR_RUNS = os.path.join(tempfile.gettempdir(), f"schoolwatch-browser-{os.getpid()}-")
PAGE_TEXT = "Bentilee Nursery School open day"


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour, built by hand so the tests need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def top_rows(path: Path, count: int) -> list[bytes]:
    """The first ``count`` rows of an 8-bit RGB or RGBA PNG as raw pixels (PNG filters undone)."""
    data = path.read_bytes()
    width, _ = png_size(path)
    colour = data[25]
    channels = {2: 3, 6: 4}[colour]
    assert data[24] == 8 and data[28] == 0, "8-bit, not interlaced"
    idat, offset = b"", 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            idat += data[offset + 8:offset + 8 + length]
        offset += 12 + length
    stride = width * channels
    raw = zlib.decompressobj().decompress(idat, count * (stride + 1))
    rows: list[bytes] = []
    previous = bytearray(stride)
    for r in range(count):
        kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return [bytes(row[i] for i in range(len(row)) if i % channels < 3) for row in rows]  # RGB only


def leftover_processes() -> list[int]:
    """Live processes of any browser run this test process started (give killed ones a moment)."""
    for _ in range(50):
        left = run_processes(OUR_RUNS)
        if not left:
            return []
        time.sleep(0.1)
    return left


@pytest.fixture
def elsewhere() -> Iterator[LocalSite]:
    """Another origin (same address, other port): nothing may ever reach it."""
    with serve() as site:
        site.route("/pixel.png", lambda _: (200, {"Content-Type": "image/png"}, png_bytes(4, 4, (255, 0, 0))))
        yield site


class Listener:
    """A bare TCP port that records every connection made to it, even one that sends nothing."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                connection, _ = self._server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(0.5)
                try:
                    self.accepted.append(connection.recv(100))
                except OSError:
                    self.accepted.append(b"")

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)
        self._server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.stop()


@pytest.fixture
def site(elsewhere: LocalSite, listener: Listener) -> Iterator[LocalSite]:
    """The page under test: text, a tall body, its own image, and scripts that try to leave."""
    with serve() as local:
        other = elsewhere.base_url
        page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Post</title>
<link rel="preconnect" href="http://127.0.0.1:{listener.port}"><link rel="dns-prefetch" href="http://tracker.invalid">
<style>body {{ margin: 0; background: #fff; color: #000; font: 40px sans-serif; }}</style></head>
<body><h1 style="margin:0;padding:10px">{PAGE_TEXT}</h1>
<img src="/logo.png" width="50" height="50">
<img src="{other}/pixel.png"><img src="http://localhost:{elsewhere.port}/pixel.png">
<img src="/redirect-elsewhere">
<iframe src="{other}/frame.html"></iframe>
<div style="height: 30000px; background: linear-gradient(#fff, #ccf)"></div>
<script>
fetch("{other}/from-script").catch(() => {{}});
fetch("/same-origin-fetch").catch(() => {{}});
navigator.sendBeacon("{other}/beacon", "x");
try {{ new WebSocket("ws://127.0.0.1:{elsewhere.port}/socket"); }} catch (e) {{}}
new Worker(URL.createObjectURL(new Blob(["fetch('{other}/from-worker').catch(() => 0)"])));
</script></body></html>"""
        local.route("/", lambda _: (200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()))
        local.route("/logo.png", lambda _: (200, {"Content-Type": "image/png"}, png_bytes(50, 50, (0, 128, 0))))
        local.route("/same-origin-fetch", lambda _: (200, {"Content-Type": "text/plain"}, b"ok"))
        # A redirect is followed inside Chromium; the pinned resolver must still stop it.
        local.route("/redirect-elsewhere",
                    lambda _: (302, {"Location": f"http://localhost:{elsewhere.port}/pixel.png"}, b""))
        yield local


def test_find_chromium_auto_finds_the_system_browser() -> None:
    assert CHROMIUM is not None and os.access(CHROMIUM, os.X_OK)
    if Path("/usr/bin/chromium").exists():
        assert CHROMIUM == Path("/usr/bin/chromium")


def test_find_chromium_takes_an_explicit_path_or_says_plainly_why_not(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    assert find_chromium(str(CHROMIUM)) == CHROMIUM
    assert find_chromium("off") is None
    with pytest.raises(BrowserUnavailable) as missing:
        find_chromium(str(tmp_path / "no-such-chromium"))
    assert "does not exist" in str(missing.value)
    assert "install Debian's `chromium` package or set evidence.chromium to its path" in str(missing.value)
    not_executable = tmp_path / "chromium"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(BrowserUnavailable, match="not an executable file"):
        find_chromium(str(not_executable))


def test_screenshot_reaches_only_its_own_origin(site: LocalSite, elsewhere: LocalSite, listener: Listener,
                                                tmp_path: Path) -> None:
    out = tmp_path / "shots" / "post.png"
    result = screenshot(site.url("/"), out, chromium=CHROMIUM, timeout=30, max_height=3000, allow_private=True)

    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1280, 3000) == (result.width, result.height)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.path == out
    assert result.truncated and result.page_height > 30000 and result.status == 200
    assert any("3,000" in note for note in result.notes)
    assert not out.with_name("post.png.part").exists()

    # The page's own host served the page, its image and its script's fetch ...
    routes = [request.route for request in site.requests]
    assert routes[0] == "/" and "/logo.png" in routes and "/same-origin-fetch" in routes
    # ... and nothing, by any road, reached the other origin.
    assert elsewhere.requests == []
    assert listener.accepted == []  # not even a connection opened ahead of time (rel=preconnect)
    other = elsewhere.base_url
    for refused in (f"{other}/pixel.png", f"http://localhost:{elsewhere.port}/pixel.png", f"{other}/from-script",
                    f"{other}/beacon", f"ws://127.0.0.1:{elsewhere.port}/socket", f"{other}/frame.html",
                    f"{other}/from-worker"):
        assert refused in result.blocked, refused
    assert result.bytes_downloaded > 0
    assert leftover_processes() == []


def test_screenshot_shows_the_page(site: LocalSite, tmp_path: Path) -> None:
    """Dark text on a white page: the picture is rendered, not blank (fonts and drawing work)."""
    out = tmp_path / "post.png"
    screenshot(site.url("/"), out, chromium=CHROMIUM, max_height=400, allow_private=True)
    pixels = [row[i:i + 3] for row in top_rows(out, 60) for i in range(0, len(row), 3)]
    dark = sum(1 for p in pixels if max(p) < 80)
    white = sum(1 for p in pixels if min(p) > 240)
    assert dark > 500 and white > len(pixels) // 2


@pytest.mark.parametrize("address", ["http://127.0.0.1:{port}/", "http://localhost:{port}/",
                                     "http://[::1]:{port}/", "http://10.0.0.1/admin"])
def test_private_addresses_are_refused_without_allow_private(site: LocalSite, tmp_path: Path, address: str) -> None:
    with pytest.raises(CaptureRefused, match="private or local network address"):
        screenshot(address.format(port=site.port), tmp_path / "x.png", chromium=CHROMIUM)
    assert site.requests == [] and not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("address", ["file:///etc/passwd", "javascript:alert(1)", "ftp://127.0.0.1/"])
def test_only_http_and_https_are_captured(tmp_path: Path, address: str) -> None:
    with pytest.raises(CaptureRefused, match="only http and https"):
        screenshot(address, tmp_path / "x.png", chromium=CHROMIUM, allow_private=True)


def test_a_server_that_never_answers_costs_the_time_limit_and_no_process(tmp_path: Path) -> None:
    with serve() as hanging:
        hanging.route("/", lambda _: Response(delay=120))
        started = time.monotonic()
        with pytest.raises(CaptureFailed, match="sent nothing|did not finish"):
            screenshot(hanging.url("/"), tmp_path / "x.png", chromium=CHROMIUM, timeout=8, allow_private=True)
        elapsed = time.monotonic() - started
    assert elapsed < 8 + 1.5, elapsed
    assert leftover_processes() == [] and not (tmp_path / "x.png").exists()


def test_a_page_that_never_finishes_loading_is_photographed_as_it_stands(tmp_path: Path) -> None:
    with serve() as slow:
        slow.route("/", lambda _: (200, {"Content-Type": "text/html"},
                                   f"<h1>{PAGE_TEXT}</h1><img src='/hangs.png'>".encode()))
        slow.route("/hangs.png", lambda _: Response(delay=120))
        started = time.monotonic()
        result = screenshot(slow.url("/"), tmp_path / "x.png", chromium=CHROMIUM, timeout=10, allow_private=True)
        elapsed = time.monotonic() - started
    assert elapsed < 10 + 1.5, elapsed
    assert not result.finished_loading and result.height > 0
    assert any("had not finished loading" in note for note in result.notes)
    assert leftover_processes() == []


def test_a_script_that_never_yields_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    with serve() as busy:
        busy.route("/", lambda _: (200, {"Content-Type": "text/html"},
                                   b"<h1>spinning</h1><script>for (;;) {}</script>"))
        started = time.monotonic()
        with pytest.raises(CaptureFailed):
            screenshot(busy.url("/"), tmp_path / "x.png", chromium=CHROMIUM, timeout=8, allow_private=True)
        elapsed = time.monotonic() - started
    assert elapsed < 8 + 1.5, elapsed
    assert leftover_processes() == []


def test_downloads_stop_at_the_byte_cap(tmp_path: Path) -> None:
    chunk = b"x" * 256 * 1024
    with serve() as heavy:
        heavy.route("/", lambda _: (200, {"Content-Type": "text/html"},
                                    f"<h1>{PAGE_TEXT}</h1><iframe src='/big.txt'></iframe>".encode()))
        heavy.route("/big.txt", lambda _: Response(200, {"Content-Type": "text/plain"}, (chunk for _ in range(200)),
                                                   drip=0.02))  # 50 MiB over ~4 s
        result = screenshot(heavy.url("/"), tmp_path / "x.png", chromium=CHROMIUM, timeout=20,
                            max_bytes=1_000_000, allow_private=True)
    assert result.truncated and not result.finished_loading
    assert 1_000_000 < result.bytes_downloaded < 5_000_000
    assert any("download cap" in note for note in result.notes)
    assert leftover_processes() == []


def test_a_png_over_its_byte_cap_is_retaken_shorter(site: LocalSite, tmp_path: Path) -> None:
    result = screenshot(site.url("/"), tmp_path / "x.png", chromium=CHROMIUM, max_height=4000,
                        max_png_bytes=30_000, allow_private=True)
    assert result.path.stat().st_size <= 30_000 and result.height < 4000 and result.truncated
    assert any("half the height" in note for note in result.notes)


def test_repeated_calls_leave_no_browser_behind(site: LocalSite, tmp_path: Path) -> None:
    for n in range(5):
        screenshot(site.url("/"), tmp_path / f"{n}.png", chromium=CHROMIUM, max_height=800, allow_private=True)
        html_to_pdf(f"<p>record {n}</p>", tmp_path / f"{n}.pdf", chromium=CHROMIUM)
    assert leftover_processes() == []
    assert not list(Path(tempfile.gettempdir()).glob(f"schoolwatch-browser-{os.getpid()}-*"))


def test_a_wrong_browser_is_reported_as_unavailable(site: LocalSite, tmp_path: Path) -> None:
    with pytest.raises(BrowserUnavailable, match="did not start"):
        screenshot(site.url("/"), tmp_path / "x.png", chromium=Path("/bin/false"), allow_private=True)
    assert leftover_processes() == []


# --- the incident record as PDF ---------------------------------------------------------------

def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_images(path: Path) -> list[str]:
    listing = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    return [line for line in listing.splitlines()[2:] if line.split()[2] == "image"]  # not soft masks


@needs_poppler
def test_html_to_pdf_prints_text_and_embedded_images(tmp_path: Path, elsewhere: LocalSite) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "shot.png").write_bytes(png_bytes(40, 30, (0, 0, 255)))
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET OUTSIDE THE ARCHIVE")
    (tmp_path / "outside.png").write_bytes(png_bytes(44, 33, (255, 0, 0)))
    inline = base64.b64encode(png_bytes(60, 40, (0, 128, 0))).decode()
    html = f"""<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<h1>Online Incident Record</h1><p>Reported by the deputy head – café “quotes” é</p>
<img src="data:image/png;base64,{inline}">
<img src="{(evidence / 'shot.png').as_uri()}">
<img src="{(tmp_path / 'outside.png').as_uri()}">
<iframe src="{secret.as_uri()}"></iframe>
<img src="{elsewhere.url('/pixel.png')}">
<script>document.write("SCRIPT RAN")</script>
</body></html>"""
    out = tmp_path / "record.pdf"
    assert html_to_pdf(html, out, chromium=CHROMIUM, files_from=evidence) == out

    assert out.read_bytes()[:5] == b"%PDF-"
    text = pdftotext(out)
    assert "Online Incident Record" in text and "café “quotes” é" in text
    assert "SCRIPT RAN" not in text and "TOP SECRET" not in text
    # The data: image and the archive's file; refused images show only Chromium's small broken-image icon.
    sizes = sorted((int(line.split()[3]), int(line.split()[4])) for line in pdf_images(out))
    assert (60, 40) in sizes and (40, 30) in sizes and (44, 33) not in sizes
    assert elsewhere.requests == []
    assert leftover_processes() == []


@needs_poppler
def test_html_to_pdf_is_a4(tmp_path: Path) -> None:
    out = html_to_pdf("<p>one page</p>", tmp_path / "a4.pdf", chromium=CHROMIUM)
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size"))
    assert "595" in size and ("841" in size or "842" in size)  # A4 in points, however it is rounded


def test_a_page_that_hoards_memory_fails_alone(tmp_path: Path) -> None:
    with serve() as hog:
        hog.route("/", lambda _: (200, {"Content-Type": "text/html"},
                                  b"<h1>hog</h1><script>const a = []; for (;;) a.push(new Array(1e6).fill(1.5));</script>"))
        with pytest.raises(CaptureFailed, match="crashed|did not finish"):
            screenshot(hog.url("/"), tmp_path / "x.png", chromium=CHROMIUM, timeout=20, allow_private=True)
    assert leftover_processes() == []
