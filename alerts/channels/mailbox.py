"""Alerts as ``.eml`` files in a folder: the embedded default, and the demo's inbox.

Any mail program opens them. The file name comes from the alert's idempotency key, so
sending the same alert twice rewrites one file instead of adding a second.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from alerts.channels import Channel, PermanentFailure
from alerts.message import Alert
from alerts.render import email_message
from crawler.config import Config


class MailboxChannel(Channel, kind="mailbox"):
    def __init__(self, folder: Path, sender: str, to: list[str]) -> None:
        self.folder, self.sender, self.to = folder, sender, to

    @classmethod
    def from_config(cls, config: Config) -> "MailboxChannel":
        email = config.alerts.email
        return cls(config.storage.mailbox, email.sender if email else "schoolwatch@localhost",
                   list(email.to) if email else ["slt@localhost"])

    def send(self, alert: Alert) -> dict[str, Any]:
        message = email_message(alert, self.sender, self.to)
        stamp = (alert.created.strftime("%Y%m%d-%H%M%S") if alert.created else "undated")
        name = f"{stamp}-{alert.kind.replace('.', '-')}-{hashlib.sha256(alert.key.encode()).hexdigest()[:12]}.eml"
        target = self.folder / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(".tmp")
            temporary.write_bytes(message.as_bytes())
            os.replace(temporary, target)
        except OSError as exc:
            raise PermanentFailure(f"cannot write to the mailbox folder {self.folder}: {exc.strerror or exc}") from None
        return {"file": str(target), "message_id": message["Message-ID"]}
