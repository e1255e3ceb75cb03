"""A stored mention as one JSON object: the shape of ``mentions --json`` and of outbox payloads.

Keep these keys: they are a contract others test against (id, source, url, title, snippet,
matched, published, first_seen, last_seen, tone, concerns, severity, evidence); ``evidence``
gains ``screenshot`` and ``screenshot_sha256`` once a screenshot was taken, and ``author`` is
who posted it when the source shows that (else None).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.storage import Mention


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def mention_record(mention: Mention, archive: Path) -> dict[str, Any]:
    latest = mention.revisions[-1] if mention.revisions else None
    evidence = None
    if latest is not None:
        evidence = {
            "raw": str(archive / latest.raw_path),
            "text": str(archive / latest.text_path),
            "warc": str(archive / latest.warc_path),
            "sha256": latest.raw_sha256,
        }
        if latest.screenshot_path:  # taken after the scan; the alert attaches it
            evidence["screenshot"] = str(archive / latest.screenshot_path)
            evidence["screenshot_sha256"] = latest.screenshot_sha256
    return {
        "id": mention.id,
        "source": mention.source.name,
        "url": mention.url,
        "title": mention.title,
        "snippet": mention.snippet,
        "matched": list(mention.matched),
        "published": iso(mention.published),
        "author": mention.author,
        "first_seen": iso(mention.first_seen),
        "last_seen": iso(mention.last_seen),
        "tone": mention.tone,
        "scores": dict(mention.scores),
        "concerns": list(mention.concerns),
        "severity": mention.severity,
        "why": list(mention.why),
        "revisions": len(mention.revisions),
        "evidence": evidence,
    }
