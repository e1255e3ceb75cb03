"""What an alert says, before any channel formats it: plain data, fetched text left unescaped.

Each channel escapes for its own medium (HTML autoescape, Slack mrkdwn, email headers),
so escaping happens exactly once, at the edge, and never twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SEVERITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
MAX_ITEMS = 40  # mentions in one rolled-up alert: Slack allows 50 blocks per message


@dataclass(frozen=True)
class Item:
    """One mention inside an alert, with its case and what the policy says to do."""

    record: dict[str, Any]  # crawler.records.mention_record: url, title, snippet, tone, concerns, why, ...
    case_id: int | None = None
    due: datetime | None = None
    guidance: tuple[tuple[str, str], ...] = ()  # (concern, what to do)

    @property
    def severity(self) -> str:
        return self.record.get("severity") or "low"


@dataclass(frozen=True)
class Alert:
    key: str  # the idempotency key: the email's Message-ID, the mailbox file's name
    kind: str  # mention.new | mention.updated | rollup | case.reminder | case.overdue | source.* | delivery.failed
    severity: str
    headline: str  # short plain text; may hold fetched words (a title), so channels escape it
    school: str
    timezone: str
    items: tuple[Item, ...] = ()
    facts: tuple[str, ...] = ()  # plain sentences: a source's error, what to do next
    attachments: tuple[tuple[Path, str], ...] = ()  # (file, name to show)
    created: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific data for its templates (the digest)
    template: str = "alert"  # alerts/templates/<template>.txt.j2 and .html.j2
    images: tuple[tuple[str, bytes], ...] = ()  # (file name, PNG): inline in the email, uploaded to Slack
