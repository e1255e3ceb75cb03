"""Curated regex lexicons (crawler/tone/lexicons/*.yaml): concerns no dataset covers.

Kept as data, not code, so a safeguarding lead can read and review what each group
catches without reading Python, and so the reason shown in ``why`` is the reviewed wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LEXICON_DIR = Path(__file__).parent / "lexicons"
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Group:
    """One reviewed pattern group: what it catches, which concerns it raises, its near misses."""

    concerns: tuple[str, ...]
    catches: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class Hit:
    concerns: tuple[str, ...]
    catches: str
    phrase: str


def prepare(text: str) -> str:
    """The form patterns are written against: straight quotes, single spaces."""
    return _SPACES.sub(" ", text.translate(_QUOTES))


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@lru_cache(maxsize=None)
def groups(name: str) -> tuple[Group, ...]:
    """Every group in lexicons/<name>.yaml, compiled once per process."""
    data = yaml.safe_load((LEXICON_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    out = []
    for concern, entries in data.items():
        for entry in entries:
            unless = entry.get("unless")
            out.append(Group((concern, *entry.get("also", ())), entry["catches"], _compile(entry["patterns"]),
                             _compile(unless) if unless else None))
    return tuple(out)


def find(prepared: str, name: str = "concerns") -> list[Hit]:
    """Matches of every group in ``prepared`` text (see ``prepare``), near misses removed."""
    hits = []
    for group in groups(name):
        misses = [m.span() for m in group.unless.finditer(prepared)] if group.unless else []
        for match in group.pattern.finditer(prepared):
            start, end = match.span()
            if not any(s < end and start < e for s, e in misses):
                hits.append(Hit(group.concerns, group.catches, match.group(0).strip()))
    return hits
