"""Alerts as email: Jinja2 templates with autoescape, headers that fetched text cannot break.

Fetched text is only ever a *value* passed to a template, never template source, so a post
saying ``{{7*7}}`` shows those seven characters. The HTML template autoescapes; the subject
and other headers pass through :func:`crawler.display.clean`, which drops CR, LF and every
other control character, so a title cannot add a ``Bcc:`` header.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from alerts.message import Alert
from crawler.display import clean

COLOURS = {"urgent": "#b00020", "high": "#d35400", "normal": "#1f5fa8", "low": "#666666"}
MAX_ATTACHMENT = 5 * 1024 * 1024
DETAILED_UP_TO = 1  # items shown in full; a roll-up lists them briefly


def highlight(snippet: str, phrases: list[str]) -> Markup:
    """The snippet, escaped, with each matched name wrapped in <mark>."""
    words = sorted({p for p in phrases or [] if p}, key=len, reverse=True)
    if not words:
        return escape(snippet)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(snippet):
        out += [escape(snippet[last:match.start()]), Markup("<mark>"), escape(match.group()), Markup("</mark>")]
        last = match.end()
    out.append(escape(snippet[last:]))
    return Markup("").join(out)


def safe_url(url: str) -> str:
    """Only http(s) addresses become links; anything else (javascript:, data:) links nowhere."""
    return url if urlsplit(url or "").scheme in ("http", "https") else "#"


def when(value: datetime | str | None, zone: str) -> str:
    """'Mon 30 Nov 2026, 17:00 GMT (17:00 UTC)' in the school's time zone."""
    if value is None:
        return "unknown"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(zone))
    utc = moment.astimezone(ZoneInfo("UTC"))
    return f"{local:%a %d %b %Y, %H:%M} {local.tzname()} ({utc:%H:%M} UTC)"


@cache
def _environment(zone: str) -> Environment:
    env = Environment(loader=PackageLoader("alerts", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(highlight=highlight, safe_url=safe_url, when=lambda v: when(v, zone),
                       clean=lambda v, width=None: clean(str(v) if v is not None else "", width))
    return env


def render(alert: Alert, template: str, image_src: dict[str, str] | None = None) -> str:
    """Render one of the alert's templates. ``image_src`` maps each of its images to the address
    the HTML uses for it: a ``cid:`` in an email (the default), a ``data:`` URI in a saved file."""
    context: dict[str, Any] = {
        "headline": alert.headline, "school": alert.school, "timezone": alert.timezone,
        "facts": alert.facts, "items": alert.items, "detailed": len(alert.items) <= DETAILED_UP_TO,
        "colour": COLOURS.get(alert.severity, COLOURS["low"]), "colours": COLOURS, "extra": alert.extra,
        "images": image_src if image_src is not None else {name: f"cid:{content_id(alert, name)}"
                                                          for name, _ in alert.images},
    }
    return _environment(alert.timezone).get_template(template).render(context)


def content_id(alert: Alert, name: str) -> str:
    """The Content-ID of an inline image (without the angle brackets), the same at every retry."""
    digest = hashlib.sha256(f"{alert.key}:{name}".encode("utf-8")).hexdigest()[:24]
    return f"{digest}@schoolwatch"


def subject(alert: Alert) -> str:
    if alert.kind.startswith("digest"):
        label = "DIGEST"
    else:
        label = alert.severity.upper() if alert.kind.startswith(("mention", "rollup", "case")) else "NOTICE"
    return clean(f"[schoolwatch] {label}: {alert.headline}", 160)


def message_id(key: str, sender: str) -> str:
    """The same alert always carries the same Message-ID, so a repeat can be spotted as one."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{sender.rpartition('@')[2] or 'schoolwatch.invalid'}>"


def email_message(alert: Alert, sender: str, to: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(alert)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(alert.created or datetime.now().astimezone())
    message["Message-ID"] = message_id(alert.key, sender)
    message["X-Schoolwatch-Severity"] = alert.severity
    case_ids = [str(i.case_id) for i in alert.items if i.case_id]
    if case_ids:
        message["X-Schoolwatch-Case"] = ", ".join(case_ids)
    message.set_content(render(alert, f"{alert.template}.txt.j2"))
    message.add_alternative(render(alert, f"{alert.template}.html.j2"), subtype="html")
    if alert.images:  # shown in the HTML itself (multipart/related), not as attachments
        html = message.get_payload()[1]
        for name, data in alert.images:
            html.add_related(data, maintype="image", subtype="png", cid=f"<{content_id(alert, name)}>",
                             filename=name, disposition="inline")
    for path, name in alert.attachments:
        _attach(message, path, name)
    return message


def read_attachment(path: Path) -> bytes | None:
    """The evidence file's bytes, or None when it is missing or too big to send."""
    try:
        if path.stat().st_size > MAX_ATTACHMENT:
            return None
        return path.read_bytes()
    except OSError:
        return None  # the evidence file is gone: `schoolwatch verify` reports that, the alert still goes


def _attach(message: EmailMessage, path: Path, name: str) -> None:
    data = read_attachment(path)
    if data is None:
        return
    # Base64 bytes, never re-encoded text: the attachment hashes to what the archive recorded.
    maintype, subtype = ("image", "png") if name.endswith(".png") else ("text", "plain")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
