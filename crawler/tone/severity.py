"""Concerns and tone to a severity level, by rules the school can change in its config.

crawler.config.Classify satisfies ``SeverityRules``; it is not imported here because
crawler.tone must not depend on crawler.config (which pulls in the spiders).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

LEVELS = ("urgent", "high", "normal", "low")


class SeverityRules(Protocol):
    @property
    def urgent(self) -> Sequence[str]: ...
    @property
    def high(self) -> Sequence[str]: ...
    @property
    def normal(self) -> Sequence[str]: ...
    @property
    def negative_is(self) -> str: ...


@dataclass(frozen=True)
class DefaultRules:
    """The same defaults as crawler.config.Classify (kept in step by a test)."""

    urgent: Sequence[str] = field(default=("threat", "safeguarding", "extremism"))
    high: Sequence[str] = field(default=("offensive", "hate", "allegation", "personal_data"))
    normal: Sequence[str] = field(default=("press",))
    negative_is: str = "normal"


DEFAULT_RULES = DefaultRules()


def severity(concerns: Sequence[str], negative: bool, rules: SeverityRules | None = None) -> tuple[str, str]:
    """(level, reason). First level whose list names a raised concern wins; otherwise a
    negative mention (or a complaint, which is one whatever its wording) gets ``negative_is``."""
    rules = rules or DEFAULT_RULES
    for level in ("urgent", "high", "normal"):
        named = [c for c in concerns if c in getattr(rules, level)]
        if named:
            return level, f"{level}: {', '.join(named)}"
    if negative or "complaint" in concerns:
        return rules.negative_is, f"{rules.negative_is}: negative mention"
    return "low", "low: no concern"
