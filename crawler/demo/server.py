"""A small real HTTP server on 127.0.0.1 for ``schoolwatch demo`` and for the test suite.

The demo and the tests need the spiders to meet a real socket, real headers and real
conditional GETs, never the public web, so this serves a folder the way a careful web
server would: correct ``Content-Type``, ``ETag`` and ``Last-Modified`` with ``304`` answers,
``index.html`` for folders, and no way out of the folder. Text files may say ``{{BASE}}``
where an absolute address is needed (RSS links, sitemaps); it becomes this server's
``http://127.0.0.1:PORT``, because the port is only known once the server is listening.

Tests add dynamic routes (:meth:`LocalSite.route`) for servers that misbehave. A route's
:class:`Response` may be delayed or dripped; :meth:`LocalSite.stop` cuts every wait and
every open connection short, so a hanging route never holds up the end of a test.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

BASE_PLACEHOLDER = b"{{BASE}}"
_SUBSTITUTED = {".html", ".htm", ".xml", ".txt", ".rss", ".atom", ".css", ".json"}
_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".css": "text/css",
    ".rss": "application/rss+xml", ".atom": "application/atom+xml", ".json": "application/json",
}
_TEXTUAL = ("text/", "application/xml", "application/rss+xml", "application/atom+xml",
            "application/json")


class Request(NamedTuple):
    """One request as the server saw it; unpacks as ``(method, path, headers)``.

    ``headers`` is the parsed header block, so look-ups ignore case
    (``request.headers["user-agent"]``).
    """

    method: str
    path: str  # as sent, query string included
    headers: Message

    @property
    def route(self) -> str:
        """The path without its query string, as routes are registered."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)


@dataclass(frozen=True)
class Response:
    """What a route answers. ``body`` may be a lazy iterable so huge bodies cost no memory.

    ``delay`` holds the connection open, silent, before anything is sent (a hung server);
    ``drip`` pauses between body chunks (a slow one). Both end early when the site stops,
    and then the connection is closed without finishing the response.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    delay: float = 0.0
    drip: float = 0.0


Handler = Callable[[Request], Response | tuple[int, Mapping[str, str], bytes | Iterable[bytes]]]


class LocalSite:
    """A running server: ``base_url``, the request log, extra routes, and ``stop()``.

    Usable as a context manager; :func:`serve` starts one.
    """

    def __init__(self, directory: Path | None, port: int = 0) -> None:
        self.directory = directory.resolve() if directory is not None else None
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []  # raised by routes or by this server, for tests
        self.stopping = threading.Event()
        self._routes: dict[str, Handler] = {}
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _RequestHandler)
        self._server.site = self
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"local-site-{self.port}", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def route(self, path: str, handler: Handler) -> None:
        """Answer ``path`` (without query string) with ``handler`` instead of a file."""
        self._routes[path] = handler

    def stop(self) -> None:
        """Stop listening, wake every delayed or dripping route, and drop open connections."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._server.shutdown()
        with self._lock:
            for connection in self._open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalSite:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _track(self, connection: socket.socket, is_open: bool) -> None:
        with self._lock:
            (self._open.add if is_open else self._open.discard)(connection)

    def _file(self, route: str) -> Path | None:
        """The file a URL path names, or None when it is missing or outside the folder."""
        if self.directory is None:
            return None
        decoded = unquote(route)
        if "\x00" in decoded or "\\" in decoded:
            return None
        relative = posixpath.normpath("/" + decoded).lstrip("/")
        candidate = (self.directory / relative).resolve()
        if not candidate.is_relative_to(self.directory):
            return None
        return candidate if candidate.exists() else None

    def _served_bytes(self, path: Path) -> bytes:
        data = path.read_bytes()
        if path.suffix.lower() in _SUBSTITUTED:
            data = data.replace(BASE_PLACEHOLDER, self.base_url.encode("ascii"))
        return data


def serve(directory: Path | None = None, port: int = 0) -> LocalSite:
    """Serve ``directory`` (or only routes, when None) on 127.0.0.1; port 0 picks a free one."""
    return LocalSite(directory, port)


def content_type(path: Path, data: bytes) -> str:
    """The Content-Type a well-configured server would send, charset included for text.

    ``.xml`` files are told apart by their root element, so a feed is served as a feed.
    """
    suffix = path.suffix.lower()
    if suffix == ".xml":
        head = data[:500]
        kind = ("application/rss+xml" if b"<rss" in head else
                "application/atom+xml" if b"<feed" in head else "application/xml")
    else:
        kind = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXTUAL) else kind


def _etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def _not_modified(headers: Message, etag: str, mtime: float) -> bool:
    """RFC 9110: If-None-Match decides when present; If-Modified-Since only otherwise."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError):
            return False
        return int(mtime) <= since
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    site: LocalSite

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: clients that hang up mid-response are the point of the hostile tests.

        Anything else is a bug in this server, kept in :attr:`LocalSite.errors` for tests.
        """
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.site.errors.append(error)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "schoolwatch-local-site"
    sys_version = ""
    timeout = 10  # a client that stops reading cannot pin a thread for long

    def setup(self) -> None:
        super().setup()
        self.server.site._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.site._track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the request log is :attr:`LocalSite.requests`, not stderr."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        site = self.server.site
        request = Request(self.command, self.path, self.headers)
        site.requests.append(request)
        handler = site._routes.get(request.route)
        if handler is not None:
            self._send(self._call(handler, request), send_body)
            return
        path = site._file(request.route)
        if path is not None and path.is_dir():
            if not request.route.endswith("/"):
                self._send(Response(HTTPStatus.MOVED_PERMANENTLY, {"Location": request.route + "/"}), send_body)
                return
            path = path / "index.html"
        if path is None or not path.is_file():
            self._send(_plain(HTTPStatus.NOT_FOUND, "Not found"), send_body)
            return
        self._send(self._static(path), send_body)

    def _call(self, handler: Handler, request: Request) -> Response:
        try:
            answer = handler(request)
        except Exception as exc:  # a broken test route must show up, not kill the thread
            self.server.site.errors.append(exc)
            return _plain(HTTPStatus.INTERNAL_SERVER_ERROR, f"route failed: {exc!r}")
        return answer if isinstance(answer, Response) else Response(*answer)

    def _static(self, path: Path) -> Response:
        data = self.server.site._served_bytes(path)
        mtime = path.stat().st_mtime
        etag = _etag(data)
        validators = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True)}
        if _not_modified(self.headers, etag, mtime):
            return Response(HTTPStatus.NOT_MODIFIED, validators)
        return Response(200, {"Content-Type": content_type(path, data), "Content-Length": str(len(data)),
                              **validators}, data)

    def _send(self, response: Response, send_body: bool) -> None:
        """One response per connection: streamed bodies need no length, so framing is the close."""
        self.close_connection = True
        stopping = self.server.site.stopping
        if response.delay and stopping.wait(response.delay):
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        sized = any(name.lower() == "content-length" for name in response.headers)
        if isinstance(response.body, bytes) and not sized and response.status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if not send_body or response.status == HTTPStatus.NOT_MODIFIED:
            return
        chunks = [response.body] if isinstance(response.body, bytes) else response.body
        for chunk in chunks:
            if stopping.is_set():
                break
            self.wfile.write(chunk)
            self.wfile.flush()
            if response.drip and stopping.wait(response.drip):
                break


def _plain(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode("utf-8"))
