"""A local stub of the Slack Web API that slack-sdk talks to through ``base_url``.

It answers the methods schoolwatch uses (chat.postMessage, files.getUploadURLExternal, the
upload itself, files.completeUploadExternal, auth.test) the way Slack does: JSON with
``ok``, ``invalid_auth`` for a wrong token, ``channel_not_found`` for an unknown channel,
and 429 with ``Retry-After`` when told to rate-limit.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

GOOD_TOKEN = "xoxb-test-token"
CHANNELS = {"#slt-alerts": "C0SLT0001", "slt-alerts": "C0SLT0001", "C0SLT0001": "C0SLT0001"}


class SlackStub:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.messages: list[dict[str, Any]] = []  # chat.postMessage bodies, with "received" time
        self.uploads: list[dict[str, Any]] = []  # {"filename", "data", "thread_ts", "channel_id"}
        self.calls: list[str] = []
        self.rate_limit_next = 0  # answer this many calls with 429
        self.retry_after = 1
        self.fail_next_with: str | None = None  # e.g. "internal_error" for one call
        self.arrived = threading.Condition()
        self._pending_files: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def start(self) -> "SlackStub":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = urlsplit(self.path).path
                if path.startswith("/upload/"):
                    stub._take_upload(path.rsplit("/", 1)[1], body)
                    self._reply(200, "OK", content_type="text/plain")
                    return
                method = path.removeprefix("/api/")
                params = stub._params(self.headers.get("Content-Type", ""), body, self.path)
                status, answer, headers = stub.answer(method, self.headers.get("Authorization", ""), params)
                self._reply(status, json.dumps(answer), headers=headers)

            def _reply(self, status: int, text: str, content_type: str = "application/json",
                       headers: dict[str, str] | None = None) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @staticmethod
    def _params(content_type: str, body: bytes, raw_path: str) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(urlsplit(raw_path).query).items()}
        if "json" in content_type and body:
            params.update(json.loads(body))
        elif body:
            params.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
        return params

    def answer(self, method: str, authorization: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        self.calls.append(method)
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self.retry_after)}
        if self.fail_next_with:
            error, self.fail_next_with = self.fail_next_with, None
            return 200, {"ok": False, "error": error}, {}
        if authorization != f"Bearer {GOOD_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        if method == "auth.test":
            return 200, {"ok": True, "user_id": "U0BOT"}, {}
        if method == "chat.postMessage":
            channel = CHANNELS.get(params.get("channel", ""))
            if channel is None:
                return 200, {"ok": False, "error": "channel_not_found"}, {}
            ts = f"{time.time():.6f}"
            with self.arrived:
                self.messages.append({**params, "ts": ts, "received": time.perf_counter()})
                self.arrived.notify_all()
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": {"text": params.get("text")}}, {}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            self._pending_files[file_id] = {"filename": params.get("filename"), "length": params.get("length")}
            return 200, {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}, {}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            for entry in files:
                pending = self._pending_files.pop(entry["id"], None)
                if pending is not None:
                    self.uploads.append({**pending, "thread_ts": params.get("thread_ts"),
                                         "channel_id": params.get("channel_id"), "title": entry.get("title")})
            return 200, {"ok": True, "files": [{"id": f["id"]} for f in files]}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _take_upload(self, file_id: str, data: bytes) -> None:
        if file_id in self._pending_files:
            self._pending_files[file_id]["data"] = data

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The ``alerts.slack`` block for a config that posts here."""
        return {"token_env": "SCHOOLWATCH_SLACK_TOKEN", "channel": "#slt-alerts", "base_url": self.base_url,
                "timeout": 5, **extra}
