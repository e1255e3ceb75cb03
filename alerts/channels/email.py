"""Alerts by email through the school's SMTP server (smtplib), with STARTTLS and login.

SMTP's own reply codes decide what happens next: 5xx means the server will keep refusing
(a wrong password, an address it rejects), so the alert is marked failed with the reason;
4xx and connection trouble mean "later", so the relay backs off and tries again.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from typing import Any

from alerts.channels import Channel, PermanentFailure, TemporaryFailure
from alerts.message import Alert
from alerts.render import email_message
from crawler.config import Config, EmailSettings


def _secret(variable: str | None, what: str) -> str | None:
    if not variable:
        return None
    value = os.environ.get(variable)
    if not value:
        raise PermanentFailure(f"the environment variable {variable} (the SMTP {what}) is not set")
    return value


def _code_text(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())[:200]}"


class EmailChannel(Channel, kind="email"):
    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    @classmethod
    def from_config(cls, config: Config) -> "EmailChannel | None":
        return cls(config.alerts.email) if config.alerts.email else None

    def send(self, alert: Alert) -> dict[str, Any]:
        s = self.settings
        username = _secret(s.username_env, "username")
        password = _secret(s.password_env, "password")
        message = email_message(alert, s.sender, list(s.to))
        where = f"{s.host}:{s.port}"
        try:
            client = (smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
                      if s.ssl else smtplib.SMTP(s.host, s.port, timeout=s.timeout))
            with client:
                if s.starttls and not s.ssl:
                    client.starttls(context=ssl.create_default_context())
                if username:
                    client.login(username, password or "")
                refused = client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentFailure(f"the SMTP server {where} refused the username or password "
                                   f"({_code_text(exc.smtp_code, exc.smtp_error)})") from None
        except smtplib.SMTPNotSupportedError:
            raise PermanentFailure(f"the SMTP server {where} does not offer STARTTLS or login; "
                                   f"check alerts.email.port, starttls and ssl") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{addr}: {_code_text(c, t)}" for addr, (c, t) in exc.recipients.items())
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"the SMTP server {where} refused every recipient ({detail})") from None
            raise TemporaryFailure(f"the SMTP server {where} deferred the recipients ({detail})") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            text = _code_text(exc.smtp_code, exc.smtp_error)
            if exc.smtp_code >= 500:
                whose = "the sender address" if isinstance(exc, smtplib.SMTPSenderRefused) else "this message"
                raise PermanentFailure(f"the SMTP server {where} refused {whose} ({text})",
                                       whole_channel=isinstance(exc, smtplib.SMTPSenderRefused)) from None
            raise TemporaryFailure(f"the SMTP server {where} said try later ({text})") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
            raise TemporaryFailure(f"cannot reach the SMTP server {where} ({reason})") from None
        result: dict[str, Any] = {"message_id": message["Message-ID"]}
        if refused:
            result["refused"] = sorted(refused)
        return result
