"""A real SMTP server (aiosmtpd) on 127.0.0.1 that tests can stop, restart and make refuse."""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalSMTP:
    """Messages accepted are kept in ``messages``; set the knobs to make the server misbehave."""

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.credentials = (username, password) if username else None
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], float]] = []  # from, to, time accepted
        self.refuse_recipients: str | None = None  # e.g. "550 5.1.1 no such user"
        self.defer_data: str | None = None  # e.g. "451 4.3.0 try later"
        self.arrived = threading.Condition()
        self.controller: Controller | None = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse_recipients:
            return self.refuse_recipients
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.defer_data:
            return self.defer_data
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), time.perf_counter()))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.credentials is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.credentials)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def start(self) -> "LocalSMTP":
        kwargs: dict[str, Any] = {}
        if self.credentials:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The ``alerts.email`` block for a config that sends here."""
        return {"host": "127.0.0.1", "port": self.port, "starttls": False, "sender": "schoolwatch@bentilee.example",
                "to": ["head@bentilee.example", "dsl@bentilee.example"], "timeout": 5, **extra}
