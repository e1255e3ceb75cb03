"""A real headless Chromium for evidence: a screenshot of a public page, and an incident record as PDF.

The social media policy asks for "screenshots taken and printed where possible", so this
module drives Debian's ``chromium`` through Playwright (the Python package bundles its
driver; the browser is the system one, never a download). It has two jobs:

``screenshot(url, out, chromium=...)``
    A full-page PNG of a page that is hostile by assumption. Its scripts and subresources may
    reach the page's own origin (scheme, host and port) and nothing else; the call has a hard
    time limit, a cap on bytes downloaded, a cap on the image's height and on the PNG's size.
``html_to_pdf(html, out, chromium=...)``
    An A4 PDF of HTML we generated ourselves (the Online Incident Record), with JavaScript off
    and no network at all: images come as ``data:`` URIs or as files under one folder we name.

Why the browser runs in a worker process (``python -m crawler.browser``, fed a JSON job):

* a hard time limit that a hung page, a busy-looping script or a stuck driver cannot defeat:
  when the time is up the worker's process group is killed, then every process left from the
  run (Chromium and its helpers put themselves in other process groups) is found by its
  run folder and killed too, so hundreds of calls leave nothing behind;
* Playwright's sync API refuses to run inside a running asyncio loop or Twisted reactor; the
  worker has neither, so the caller may be anything;
* the caller never imports Playwright, and a hostile page's memory use stays out of it.

What the screenshot's page may reach, in layers (see docs/evidence.md):

1. before starting, the target host is resolved and refused if it is private or loopback
   (``spiders.safety.blocked_reason``, the crawl's own rule) unless ``allow_private``;
2. Chromium's resolver is pinned: the page's host maps to the address just checked, every
   other name and address fails to resolve (no DNS rebinding, no prefetch to elsewhere,
   and redirects to another host go nowhere);
3. every request (scripts, images, fetch/XHR, workers, frames, popups) passes a route that
   lets only the page's origin through and records the rest in ``blocked``; WebSockets are
   refused; service workers are blocked; WebRTC may not use UDP at all.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import SchoolwatchError
from crawler.evidence import file_sha256

# --- errors -----------------------------------------------------------------------------------


class BrowserError(SchoolwatchError):
    """Base class for this module's errors; the message is written for the administrator."""


class BrowserUnavailable(BrowserError):
    """No usable Chromium (or Playwright): screenshots and PDFs cannot be made on this machine."""


class CaptureRefused(BrowserError):
    """The address may not be captured (not http(s), or a private/local address without allow_private)."""


class CaptureFailed(BrowserError):
    """The browser ran but produced nothing usable: no answer in time, a crash, a cap exceeded."""


# --- finding Chromium --------------------------------------------------------------------------

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_WELL_KNOWN = (
    "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium",
    "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable", "/opt/google/chrome/chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)
_INSTALL_HINT = "install Debian's `chromium` package or set evidence.chromium to its path"


def find_chromium(setting: str | Path = "auto") -> Path | None:
    """The Chromium to drive, from the ``evidence.chromium`` setting.

    ``"auto"`` (or empty) looks on PATH for chromium, chromium-browser, google-chrome and
    chrome, then in well-known install folders, and returns None when there is none: the scan
    then keeps its evidence without screenshots rather than failing. ``"off"`` returns None
    on purpose. Anything else is a path (or a command name on PATH) that the administrator
    chose, so a wrong one is an error, not a silent fallback to no screenshots.
    """
    text = str(setting).strip()
    if text.lower() in ("", "auto"):
        for name in _NAMES:
            found = shutil.which(name)
            if found:
                return Path(found)
        for candidate in _WELL_KNOWN:
            if _is_executable_file(Path(candidate)):
                return Path(candidate)
        return None
    if text.lower() == "off":
        return None
    path = Path(text).expanduser()
    if len(path.parts) == 1 and not path.exists():
        found = shutil.which(text)
        if found:
            return Path(found)
    if not path.exists():
        raise BrowserUnavailable(f"no Chromium found at {text} (evidence.chromium): the file does not exist; "
                                 f"{_INSTALL_HINT}")
    if not _is_executable_file(path):
        raise BrowserUnavailable(f"no Chromium found at {text} (evidence.chromium): it is not an executable "
                                 f"file; {_INSTALL_HINT}")
    return path


def _is_executable_file(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenshotResult:
    """What a screenshot produced, and everything a person needs to judge it as evidence."""

    path: Path
    sha256: str  # of the PNG file's bytes, for the evidence record
    width: int  # of the PNG, read back from its header
    height: int
    blocked: list[str] = field(default_factory=list)  # refused requests (first 100), other origins
    truncated: bool = False  # the image shows less than the whole page (height cap, byte cap)
    finished_loading: bool = True  # False: the load did not finish in time; the image shows what had arrived
    status: int | None = None  # HTTP status of the page (a 404 is evidence that a post was removed)
    page_height: int = 0  # the page's full height in CSS pixels, before any clipping
    bytes_downloaded: int = 0  # received by all requests together, counted after decompression
    notes: list[str] = field(default_factory=list)  # plain-words remarks for the incident record


# --- the public calls ---------------------------------------------------------------------------

_MIN_TIMEOUT = 5.0  # below this, starting Chromium alone may eat the whole budget
_CLOSE_MARGIN = 2.0  # the worker aims to finish this long before the time limit, to close cleanly
_KILL_MARGIN = 0.5  # the worker is killed this long before the limit, leaving time to sweep up
_RUN_PREFIX = "schoolwatch-browser-"
_RESULT_PREFIX = "SCHOOLWATCH-BROWSER-RESULT "
_MARK_VARIABLE = "SCHOOLWATCH_BROWSER_RUN"


def screenshot(url: str, out: Path, *, chromium: Path, timeout: float = 30, max_height: int = 20000,
               width: int = 1280, max_bytes: int = 10_000_000, max_png_bytes: int = 25_000_000,
               allow_private: bool = False, user_agent: str | None = None) -> ScreenshotResult:
    """Take a full-page PNG of ``url`` into ``out``; the page may reach only its own origin.

    ``timeout`` bounds the whole call, Chromium's start and exit included: the call returns
    or raises by then, and no process of the run is left. A page still loading when its time
    is up is stopped and photographed as it stands (``finished_loading`` False); a page that
    sent nothing at all raises :class:`CaptureFailed`. ``max_bytes`` caps what the page may
    download in all: past it loading stops and the image shows what had arrived. Pages taller
    than ``max_height`` CSS pixels are cut at that height, and a PNG over ``max_png_bytes``
    is retaken at half the height, so a hostile page cannot produce a gigantic image.
    ``allow_private`` is the source's own setting: without it, private and loopback targets
    are refused, as the crawl refuses them.

    Give the address the crawl ended at (after redirects): a redirect to another origin is
    refused, since that origin's subresources would all be blocked anyway.
    """
    if timeout < _MIN_TIMEOUT:
        raise ValueError(f"timeout must be at least {_MIN_TIMEOUT:g} seconds")
    if max_height < 1 or width < 1 or max_bytes < 1 or max_png_bytes < 1:
        raise ValueError("max_height, width, max_bytes and max_png_bytes must be positive")
    target = _check_target(url, allow_private)
    out = Path(out)
    job = {"kind": "screenshot", "url": url, "out": str(out), "chromium": str(chromium), "timeout": timeout,
           "max_height": max_height, "width": width, "max_bytes": max_bytes, "max_png_bytes": max_png_bytes,
           "origin": target.origin, "host": target.host, "address": target.address, "user_agent": user_agent}
    answer = _run_worker(job, timeout, what=f"the screenshot of {url[:200]}", out=out)
    png_width, png_height = png_size(out)
    return ScreenshotResult(
        path=out, sha256=file_sha256(out), width=png_width, height=png_height,
        blocked=list(answer["blocked"]), truncated=bool(answer["truncated"]),
        finished_loading=bool(answer["finished_loading"]), status=answer["status"],
        page_height=int(answer["page_height"]), bytes_downloaded=int(answer["bytes_downloaded"]),
        notes=list(answer["notes"]))


def html_to_pdf(html: str, out: Path, *, chromium: Path, timeout: float = 60,
                files_from: Path | None = None) -> Path:
    """Print ``html`` (our own template's output) to an A4 PDF at ``out`` and return ``out``.

    JavaScript is off and nothing is fetched from any network. Images must be ``data:`` URIs,
    or ``file:`` URLs of files inside ``files_from`` (say, the evidence archive); any other
    file is refused, so even a template bug cannot print /etc/passwd into a record. Page
    margins are 15 mm unless the HTML's ``@page`` rule says otherwise.
    """
    if timeout < _MIN_TIMEOUT:
        raise ValueError(f"timeout must be at least {_MIN_TIMEOUT:g} seconds")
    out = Path(out)
    job = {"kind": "pdf", "html": html, "out": str(out), "chromium": str(chromium), "timeout": timeout,
           "files_from": str(Path(files_from).resolve()) if files_from is not None else None}
    _run_worker(job, timeout, what="the PDF", out=out)
    return out


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; raises CaptureFailed if it is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise CaptureFailed(f"{path} is not a PNG image")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


# --- the target check (in the caller's process) ------------------------------------------------


@dataclass(frozen=True)
class _Target:
    origin: tuple[str, str, int]  # scheme, host (lower case, IDNA), port
    host: str
    address: str  # what the host resolved to, checked; Chromium is pinned to it


def _check_target(url: str, allow_private: bool) -> _Target:
    """Refuse what the crawl would refuse, and choose the one address Chromium may connect to."""
    # Imported here, not at the top: the worker process imports this module too and has
    # no use for spiders.safety, which brings in Scrapy (a third of a second per call).
    from spiders.safety import blocked_reason

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    reason = blocked_reason(url, [], True)  # the scheme rule alone
    if reason:
        raise CaptureRefused(reason)
    if not parts.hostname:
        raise CaptureRefused(f"refused {url[:200]!r}: it has no host name")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise CaptureRefused(f"refused {url[:200]!r}: its port is not a number from 0 to 65535") from None
    host = parts.hostname.lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise CaptureRefused(f"refused {url[:200]!r}: its host name is not valid") from None
    addresses = _resolve(host, port)
    if not addresses:
        raise CaptureFailed(f"cannot screenshot {url[:200]}: the host name {host} does not resolve")
    reason = blocked_reason(url, addresses, allow_private)
    if reason:
        raise CaptureRefused(reason)
    ipv4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
    return _Target(origin=(scheme, host, port), host=host, address=(ipv4 or addresses)[0])


def _resolve(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


# --- running the worker ------------------------------------------------------------------------


def _run_worker(job: dict[str, Any], timeout: float, what: str, out: Path) -> dict[str, Any]:
    """Run one job in a worker process with a hard limit; always leave no process behind.

    The worker writes ``out`` under a temporary name and renames it when complete, so ``out``
    is never half written; a killed run's temporary file is removed here.
    """
    try:
        return _run_worker_once(job, timeout, what)
    finally:
        out.with_name(out.name + ".part").unlink(missing_ok=True)


def _run_worker_once(job: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{_RUN_PREFIX}{os.getpid()}-"))
    job = {**job, "run_dir": str(run_dir)}
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ,
           # Chromium writes crash reports and caches under HOME/XDG folders; keep them in the run.
           "HOME": str(run_dir), "XDG_CONFIG_HOME": str(run_dir / "config"), "XDG_CACHE_HOME": str(run_dir / "cache"),
           _MARK_VARIABLE: str(run_dir),
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
    for name in ("PLAYWRIGHT_BROWSERS_PATH", "DEBUG"):  # nothing may send Playwright to a download
        env.pop(name, None)
    started = time.monotonic()
    try:
        worker = subprocess.Popen([sys.executable, "-m", "crawler.browser"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  start_new_session=True)
        try:
            stdout, stderr = worker.communicate(json.dumps(job).encode("utf-8"), timeout=timeout - _KILL_MARGIN)
        except subprocess.TimeoutExpired:
            _kill_group(worker.pid)
            worker.communicate()
            raise CaptureFailed(f"{what} did not finish within {timeout:g} s; the browser was stopped") from None
        finally:
            if worker.poll() is None:  # interrupted (Ctrl-C, a test's timeout): still end it
                _kill_group(worker.pid)
                worker.wait()
    finally:
        _kill_run(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
    answer = _parse_answer(stdout)
    if answer is None:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise CaptureFailed(f"{what} failed: the browser worker stopped after {time.monotonic() - started:.1f} s "
                            f"with exit code {worker.returncode}" + (f": {' | '.join(tail)[:500]}" if tail else ""))
    if not answer.get("ok"):
        error = {"unavailable": BrowserUnavailable, "refused": CaptureRefused}.get(answer.get("error"), CaptureFailed)
        raise error(str(answer.get("message")))
    return answer


def _parse_answer(stdout: bytes) -> dict[str, Any] | None:
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith(_RESULT_PREFIX):
            try:
                answer = json.loads(line[len(_RESULT_PREFIX):])
            except ValueError:
                return None
            return answer if isinstance(answer, dict) else None
    return None


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_processes(run_dir: Path | str) -> list[int]:
    """Live processes that belong to one run: the driver, Chromium and every helper of it.

    Chromium's helpers (zygote, renderers, GPU, crash handler) move to process groups and
    sessions of their own, so a group kill misses them; but each names the run's folder in its
    command line (the profile) or carries it in its environment, which is how they are found.
    Zombies are skipped: they are dead and only wait for their parent to collect them.
    """
    marker = str(run_dir).encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                continue
            if marker in (entry / "cmdline").read_bytes() or marker in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


def _kill_run(run_dir: Path) -> None:
    """Kill every process left from the run, by process id, until none is left (2 s at most)."""
    give_up = time.monotonic() + 2.0
    while True:
        pids = run_processes(run_dir)
        if not pids or time.monotonic() > give_up:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


# --- the worker (runs in its own process: python -m crawler.browser) -------------------------

_CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-breakpad", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    # WebRTC does not go through routes: without a proxy this leaves it no way out at all.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # A script that hoards memory fails on its own instead of taking the machine with it.
    "--js-flags=--max-old-space-size=512",
]
_MAX_BLOCKED_LISTED = 100
_SETTLE_SECONDS = 3.0  # after "load", wait this long at most for scripts' own fetches to end


class _JobError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _worker_main() -> int:
    job = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    try:
        answer = _worker_job(job)
        answer["ok"] = True
    except _JobError as error:
        answer = {"ok": False, "error": error.kind, "message": str(error)}
    except Exception as error:  # reported to the caller in its words; the traceback goes to stderr
        import traceback
        traceback.print_exc()
        what = f"the screenshot of {job['url'][:200]}" if job.get("kind") == "screenshot" else "the PDF"
        reason = _plain_error(error)
        if "crashed" in reason.lower():
            reason = "the page crashed its browser tab (it may have used too much memory): " + reason
        answer = {"ok": False, "error": "failed", "message": f"{what} failed in the browser: {reason}"}
    sys.stdout.write(_RESULT_PREFIX + json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


def _plain_error(error: BaseException) -> str:
    """Playwright's messages carry a call log after the first line; the first line says it."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return first[:500]


def _worker_job(job: dict[str, Any]) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise _JobError("unavailable", "the Python package playwright is not installed: run "
                        "`pip install -e .` in schoolwatch's virtual environment") from None
    deadline = time.monotonic() + float(job["timeout"]) - _CLOSE_MARGIN
    run_dir = Path(job["run_dir"])
    profile = run_dir / "profile"
    # "Never predict network actions": otherwise <link rel=preconnect> opens connections that
    # no route sees (the resolver pin keeps them on the page's host, but not on its port).
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps({"net": {"network_prediction_options": 2}}))
    with sync_playwright() as playwright:
        if job["kind"] == "screenshot":
            rules = f"MAP {_bracketed(job['host'])} {_bracketed(job['address'])}, MAP * ~NOTFOUND"
        else:
            rules = "MAP * ~NOTFOUND"
        try:
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=job["chromium"], chromium_sandbox=False,
                headless=True, args=[*_CHROMIUM_ARGS, f"--host-resolver-rules={rules}"],
                timeout=_ms(deadline), service_workers="block", accept_downloads=False,
                java_script_enabled=job["kind"] == "screenshot",
                viewport={"width": int(job.get("width", 1280)), "height": 800}, device_scale_factor=1,
                user_agent=job.get("user_agent") or None)
        except Exception as error:
            raise _JobError("unavailable", f"Chromium at {job['chromium']} did not start: {_plain_error(error)}; "
                            f"{_INSTALL_HINT}") from None
        try:
            context.set_default_timeout(_ms(deadline))  # for every call not given its own limit
            if job["kind"] == "screenshot":
                return _take_screenshot(context, job, deadline)
            return _print_pdf(context, job, run_dir)
        finally:
            context.close()


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _ms(deadline: float) -> float:
    """Playwright's timeouts are in milliseconds, and 0 means 'no limit': never pass 0."""
    return max(1.0, (deadline - time.monotonic()) * 1000)


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(scheme, 0)
        return scheme, (parts.hostname or "").lower(), port
    except ValueError:
        return None


def _take_screenshot(context: Any, job: dict[str, Any], deadline: float) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    origin = tuple(job["origin"])
    url, max_bytes = job["url"], int(job["max_bytes"])
    blocked: list[str] = []
    notes: list[str] = []
    state = {"bytes": 0, "refused": 0, "over": False}

    def refuse(address: str) -> None:
        state["refused"] += 1
        if len(blocked) < _MAX_BLOCKED_LISTED:
            blocked.append(address[:500])

    def on_request(route: Any) -> None:
        address = route.request.url
        if address.startswith(("data:", "blob:")):
            route.continue_()  # local to the page: no network
        elif _origin(address) != origin:
            refuse(address)
            route.abort("blockedbyclient")
        elif state["over"]:
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def on_websocket(socket_route: Any) -> None:
        refuse(socket_route.url)
        socket_route.close(code=1008, reason="blocked by schoolwatch")

    def on_data(event: dict[str, Any]) -> None:
        # With requests routed, Chromium reports encodedDataLength as 0 here and the real
        # figure only at the end; dataLength (after decompression) arrives as the bytes do.
        state["bytes"] += max(int(event.get("dataLength") or 0), int(event.get("encodedDataLength") or 0))
        if state["bytes"] > max_bytes:
            state["over"] = True

    context.route("**/*", on_request)
    context.route_web_socket("**/*", on_websocket)
    page = context.pages[0] if context.pages else context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.on("Network.dataReceived", on_data)
    cdp.send("Network.enable")

    # Keep back a share of the time for the picture itself: a slow page still gets photographed.
    reserve = min(8.0, max(1.5, (deadline - time.monotonic()) * 0.25))
    load_deadline = deadline - reserve
    asked = time.monotonic()
    try:
        response = page.goto(url, wait_until="commit", timeout=_ms(load_deadline))
    except PlaywrightTimeout:
        raise _JobError("failed", f"the page {url[:200]} sent nothing in the {time.monotonic() - asked:.0f} s "
                        "it was given") from None
    except Exception as error:
        raise _JobError("failed", f"the page {url[:200]} could not be opened: {_plain_error(error)}") from None
    if _origin(page.url) != origin:
        raise _JobError("refused", f"the page {url[:200]} redirected to {page.url[:200]}, another address; "
                        "screenshot that address instead, if it is the same post")
    status = response.status if response is not None else None

    finished = False
    while not state["over"] and time.monotonic() < load_deadline:
        try:
            page.wait_for_load_state("load", timeout=min(100.0, _ms(load_deadline)))
            finished = True
            break
        except PlaywrightTimeout:
            continue
    if finished and not state["over"]:
        settle_until = min(load_deadline, time.monotonic() + _SETTLE_SECONDS)
        try:
            while not state["over"] and time.monotonic() < settle_until:
                try:
                    page.wait_for_load_state("networkidle", timeout=min(100.0, _ms(settle_until)))
                    break
                except PlaywrightTimeout:
                    continue
        except Exception:
            pass
    truncated = False
    if state["over"]:
        cdp.send("Page.stopLoading")
        finished, truncated = False, True
        notes.append(f"loading was stopped at the download cap of {max_bytes:,} bytes; the screenshot shows "
                     "what had arrived")
    elif not finished:
        cdp.send("Page.stopLoading")
        notes.append(f"the page had not finished loading after {time.monotonic() - asked:.0f} s; the screenshot "
                     "shows what had arrived")

    metrics = cdp.send("Page.getLayoutMetrics")
    size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
    page_height = max(1, math.ceil(float(size.get("height", 1))))
    height = min(page_height, int(job["max_height"]))
    if page_height > height:
        truncated = True
        notes.append(f"the page is {page_height:,} pixels tall; the screenshot shows its first {height:,}")
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    for _attempt in range(5):
        page.screenshot(path=str(part), type="png", full_page=True, animations="disabled", caret="hide", timeout=_ms(deadline),
                        clip={"x": 0, "y": 0, "width": int(job["width"]), "height": height})
        if part.stat().st_size <= int(job["max_png_bytes"]):
            break
        notes.append(f"a screenshot {height:,} pixels tall made a PNG over {int(job['max_png_bytes']):,} bytes; "
                     "retaken at half the height")
        height, truncated = max(1, height // 2), True
    else:
        part.unlink(missing_ok=True)
        raise _JobError("failed", f"the screenshot of {url[:200]} stays over {int(job['max_png_bytes']):,} bytes")
    os.replace(part, out)
    if state["refused"] > len(blocked):
        notes.append(f"{state['refused']:,} requests to other addresses were refused; the first "
                     f"{len(blocked)} are listed")
    return {"blocked": blocked, "truncated": truncated, "finished_loading": finished, "status": status,
            "page_height": page_height, "bytes_downloaded": state["bytes"], "notes": notes}


def _print_pdf(context: Any, job: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    record = run_dir / "record.html"
    record.write_text(job["html"], encoding="utf-8")
    record_url = record.as_uri()
    files_from = Path(job["files_from"]) if job.get("files_from") else None

    def allowed_file(address: str) -> bool:
        if files_from is None or not address.startswith("file:"):
            return False
        from urllib.parse import unquote
        path = Path(unquote(urlsplit(address).path)).resolve()
        return path.is_relative_to(files_from)

    def on_request(route: Any) -> None:
        address = route.request.url
        if address == record_url or address.startswith("data:") or allowed_file(address):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    context.route("**/*", on_request)
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(record_url, wait_until="load")
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    page.pdf(path=str(part), format="A4", print_background=True,
             margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"})
    os.replace(part, out)
    return {}


if __name__ == "__main__":
    sys.exit(_worker_main())
