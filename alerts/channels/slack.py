"""Alerts to a Slack channel: a Block Kit message, with the evidence uploaded to its thread.

Fetched text goes through :func:`mrkdwn`, so a post cannot ping ``<!channel>``, fake a link
with ``<https://evil|BBC News>`` or break the message's formatting. Slack's answers decide
what happens next: 429 waits for its ``Retry-After``; a bad token or a missing channel is
permanent until someone fixes the settings.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.error import URLError
from urllib.parse import quote, urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from alerts.channels import Channel, PermanentFailure, TemporaryFailure
from alerts.message import Alert, Item
from alerts.render import read_attachment, when
from crawler.config import Config, SlackSettings
from crawler.display import clean

EMOJI = {"urgent": ":red_circle:", "high": ":large_orange_circle:", "normal": ":large_blue_circle:", "low": ":white_circle:"}
PERMANENT = {  # Slack error codes that retrying cannot fix; the value says what to do
    "invalid_auth": "the token is not valid", "not_authed": "no token was sent",
    "account_inactive": "the token's app or user was deactivated", "token_revoked": "the token was revoked",
    "token_expired": "the token expired", "no_permission": "the token lacks permission",
    "missing_scope": "the app lacks the chat:write or files:write scope",
    "channel_not_found": "the channel does not exist or the app cannot see it",
    "not_in_channel": "the app has not been added to the channel", "is_archived": "the channel is archived",
    "restricted_action": "the workspace does not allow the app to post there",
}
ONE_MESSAGE = {"msg_too_long", "invalid_blocks", "invalid_blocks_format", "too_many_attachments"}
SECTION_LIMIT = 2900


def mrkdwn(text: str | None) -> str:
    """Fetched text as harmless mrkdwn: no <!channel>, no fake links, no @here."""
    text = (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"@(?=(?:channel|here|everyone)\b)", "@\u2060", text, flags=re.IGNORECASE)


def plain(text: str, width: int) -> str:
    """For plain_text fields, which Slack never parses, angle brackets are still made unmistakably inert."""
    return clean(text, width).replace("<", "\u2039").replace(">", "\u203a")


def link(url: str, label: str) -> str:
    """A real link only to an http(s) address, with the characters that end Slack's syntax encoded."""
    if urlsplit(url or "").scheme not in ("http", "https"):
        return mrkdwn(label or url)
    return f"<{quote(url, safe=':/?#[]@!$&()*+,;=%~.-_')}|{mrkdwn(clean(label or url, 150))}>"


def _cut(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _item_lines(item: Item, zone: str, detailed: bool) -> str:
    r = item.record
    head = f"{EMOJI.get(item.severity, '')} *{item.severity.upper()}*"
    if r.get("concerns"):
        head += " · " + mrkdwn(", ".join(r["concerns"]))
    head += f" · {mrkdwn(r.get('source'))}" + (f" · case {item.case_id}" if item.case_id else "")
    lines = [head, link(r.get("url", ""), r.get("title") or r.get("url", ""))]
    if detailed:
        lines.append("> " + mrkdwn(clean(r.get("snippet"), 600)))
        lines.append(f"*Tone:* {mrkdwn(r.get('tone') or 'not judged')}")
        if r.get("why"):
            lines.append("*Why:* " + mrkdwn("; ".join(r["why"])))
        lines.append(f"*First seen:* {when(r.get('first_seen'), zone)}")
    if item.due:
        lines.append(f"*Respond by:* {when(item.due, zone)}")
    return "\n".join(lines)


def _digest_mention(m: dict[str, Any], zone: str) -> str:
    severity = m.get("severity") or "low"
    head = f"{EMOJI.get(severity, '')} *{severity.upper()}*"
    if m.get("concerns"):
        head += " · " + mrkdwn(", ".join(m["concerns"]))
    head += f" · {mrkdwn(m.get('tone') or 'not judged')} · {mrkdwn(m.get('source'))}"
    if m.get("case"):
        head += f" · case {m['case']} ({'*overdue*' if m.get('overdue') else mrkdwn(m.get('case_status'))})"
    lines = [head, link(m.get("url", ""), m.get("title") or m.get("url", "")),
             "> " + mrkdwn(clean(m.get("snippet"), 300)), f"First seen {when(m.get('first_seen'), zone)}"]
    if m.get("evidence"):
        lines.append(f"Evidence SHA-256 `{mrkdwn(m['evidence'].get('sha256'))}`")
    return "\n".join(lines)


def digest_blocks(alert: Alert) -> tuple[list[dict[str, Any]], str]:
    """The weekly digest in Block Kit; its chart goes to the thread as a file."""
    d, zone = alert.extra["digest"], alert.timezone

    def counts(rows: list[dict[str, Any]]) -> str:
        return " · ".join(f"{mrkdwn(r['name'])} *{r['count']}* ({r['change']})" for r in rows)

    def section(text: str) -> dict[str, Any]:
        return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text)}}

    total, cases = d["total"], d["cases"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": plain(alert.headline, 140), "emoji": False}},
        section(f"*{total['count']}* mention(s) first seen this week; the week before: {total['previous']} "
                f"({total['change']}).\n*{cases['open']}* case(s) open, *{cases['overdue']}* overdue.\n"
                f"*By tone:* {counts(d['by_tone'])}\n*By severity:* {counts(d['by_severity'])}"),
        section("*By source*\n" + "\n".join(f"• {mrkdwn(r['name'])}: *{r['count']}* ({r['change']})"
                                             for r in d["by_source"])),
    ]
    if cases["overdue_list"]:
        blocks.append(section("*Overdue cases*\n" + "\n".join(
            f"• case {c['id']}, {mrkdwn(c['severity'])}, was due {when(c['due'], zone)}: "
            f"{link(c.get('url', ''), c.get('title') or c.get('url', ''))}" for c in cases["overdue_list"])))
    blocks.append(section("*The most serious mentions of the week*" if d["top"]
                          else "No mentions of the school were first seen this week."))
    blocks += [section(_digest_mention(m, zone)) for m in d["top"][:20]]  # within Slack's 50 blocks
    if d["failed_sources"]:
        blocks.append(section("*Sources that failed*\n" + "\n".join(
            f"• {mrkdwn(s['name'])}: {'still failing' if s.get('still_failing') else 'working again'}; "
            f"{s['failed_scans']} failed scan(s). {mrkdwn(clean(s.get('reason'), 300))}" for s in d["failed_sources"])))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(
        f"schoolwatch · {alert.school} · {d['scans']['runs']} scans this week ({d['scans']['failed']} failed)"
        + (" · the chart is in the thread" if alert.images else ""))}]})
    return blocks, mrkdwn(clean(alert.headline, 140))


def blocks_for(alert: Alert) -> tuple[list[dict[str, Any]], str]:
    """Block Kit blocks and the plain fallback text (shown in notifications)."""
    if alert.template == "digest":
        return digest_blocks(alert)
    zone = alert.timezone
    headline = plain(alert.headline, 140)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": headline, "emoji": False}}]
    for fact in alert.facts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(mrkdwn(fact))}})
    detailed = len(alert.items) == 1
    for item in alert.items:  # at most alerts.message.MAX_ITEMS, so within Slack's 50 blocks
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(_item_lines(item, zone, detailed))}})
        if detailed:
            advice = "\n".join(f"• *{mrkdwn(c.replace('_', ' '))}:* {mrkdwn(a)}" for c, a in item.guidance)
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut("*What the policy says to do*\n" + advice)}})
            if item.case_id:
                blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                               f"Seen it? `schoolwatch ack {item.case_id} --by \"Your name\"`"}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(f"schoolwatch · {alert.school}")}]})
    return blocks, mrkdwn(clean(alert.headline, 140))


def _retry_after(error: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(1.0, float(value))
    except (TypeError, ValueError):
        return 30.0


def _failure(error: SlackApiError, what: str) -> Exception:
    if error.response.status_code == 429:
        wait = _retry_after(error)
        return TemporaryFailure(f"Slack is rate limiting {what}; it asked to wait {wait:g} s", retry_after=wait)
    code = str(error.response.get("error") or f"HTTP {error.response.status_code}")
    if code in PERMANENT:
        return PermanentFailure(f"Slack refused {what}: {code} ({PERMANENT[code]})")
    if code in ONE_MESSAGE:
        return PermanentFailure(f"Slack refused this message: {code}", whole_channel=False)
    return TemporaryFailure(f"Slack could not take {what} now: {code}")


class SlackChannel(Channel, kind="slack"):
    def __init__(self, settings: SlackSettings) -> None:
        self.settings = settings
        self._client: WebClient | None = None

    @classmethod
    def from_config(cls, config: Config) -> "SlackChannel | None":
        return cls(config.alerts.slack) if config.alerts.slack else None

    def client(self) -> WebClient:
        if self._client is None:
            token = os.environ.get(self.settings.token_env)
            if not token:
                raise PermanentFailure(f"the environment variable {self.settings.token_env} (the Slack bot token) is not set")
            self._client = WebClient(token=token, base_url=self.settings.base_url or WebClient.BASE_URL,
                                     timeout=int(self.settings.timeout), retry_handlers=[])
        return self._client

    def send(self, alert: Alert) -> dict[str, Any]:
        blocks, text = blocks_for(alert)
        try:
            posted = self.client().chat_postMessage(channel=self.settings.channel, text=text, blocks=blocks,
                                                    unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            raise _failure(exc, f"the message to {self.settings.channel}") from None
        except (SlackClientError, URLError, OSError) as exc:
            raise TemporaryFailure(f"cannot reach Slack at {self.settings.base_url or 'slack.com'} ({exc})") from None
        receipt: dict[str, Any] = {"channel": posted.get("channel"), "ts": posted.get("ts")}
        problems = []
        files = [*alert.images, *((name, read_attachment(path)) for path, name in alert.attachments)]
        for name, data in files:  # the message is what matters: an upload failure is noted, not retried
            if data is None:
                continue
            try:
                self.client().files_upload_v2(channel=posted.get("channel"), thread_ts=posted.get("ts"),
                                              content=data, filename=name, title=name)
            except SlackApiError as exc:
                problems.append(f"{name}: {_failure(exc, 'the evidence upload')}")
            except (SlackClientError, URLError, OSError) as exc:
                problems.append(f"{name}: {exc}")
        if problems:
            receipt["upload_problems"] = problems
        return receipt
