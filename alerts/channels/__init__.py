"""The registry of alert channels. A new channel is one module here with one class.

A channel subclasses :class:`Channel` with ``kind="name"`` and implements
:meth:`Channel.from_config` (``None`` when the school has not set it up) and
:meth:`Channel.send`. It reports trouble with :class:`TemporaryFailure` (try again later:
the relay backs off) or :class:`PermanentFailure` (the settings are wrong: the relay marks
the alert failed, with the reason, and says so on the other channels).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any, ClassVar

from alerts.message import Alert
from crawler.config import Config


class TemporaryFailure(Exception):
    """The server is down, slow or busy: the same alert may well go through later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after  # seconds the service asked us to wait (Slack 429)


class PermanentFailure(Exception):
    """Retrying will not help until someone changes something (a bad token, a refused address)."""

    def __init__(self, reason: str, whole_channel: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.whole_channel = whole_channel  # False: only this message is at fault (too big, say)


class Channel:
    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type["Channel"]]] = {}

    def __init_subclass__(cls, kind: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            cls.kind = kind
            Channel.registry[kind] = cls

    @classmethod
    def from_config(cls, config: Config) -> "Channel | None":
        raise NotImplementedError

    def send(self, alert: Alert) -> dict[str, Any]:
        """Deliver one alert; return a receipt (message id, timestamp) kept on the delivery."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections held across sends."""


@cache
def _load_all() -> tuple[str, ...]:
    import alerts.channels as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"alerts.channels.{module.name}")
    return tuple(sorted(Channel.registry))


def build_channels(config: Config) -> dict[str, Channel]:
    """Every channel the school has set up, by name (the mailbox always exists)."""
    _load_all()
    built = {}
    for kind, cls in Channel.registry.items():
        channel = cls.from_config(config)
        if channel is not None:
            built[kind] = channel
    return built
