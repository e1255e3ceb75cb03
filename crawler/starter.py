"""Where an administrator starts: the kinds of source there are, and a first config for a school.

``schoolwatch sources`` lists every kind (each ``spiders/`` module registers one, with a line
that says what it watches and an example block); ``schoolwatch init`` writes a commented
starter config from the school's name and website: aliases suggested from the name, the
common sources filled in with search phrases built from the names, and the ones that need
the school's own set-up (a Google Alert, a town's hashtag, a YouTube channel) commented,
with what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import SchoolwatchError
from spiders.options import SourceOptions, kinds

# How people shorten a school's name: the type of school, said without "School".
_ENDINGS = [
    ("Primary School", "Primary"), ("Nursery School", "Nursery"), ("Infant School", "Infants"),
    ("Infants School", "Infants"), ("Junior School", "Juniors"), ("High School", "High"),
    ("Primary Academy", "Primary"), ("Academy", ""), ("School", ""),
]
# Words written more than one way; each pair is tried both ways.
_SWAPS = [
    (r"\bSaint\b", "St"), (r"\bSt\.?(?=\s)", "Saint"),
    (r"\bChurch of England\b", "CofE"), (r"\bC of E\b", "CofE"), (r"\bC\.E\.(?=\s)", "CofE"),
    (r"\bCofE\b", "Church of England"),
    (r"\bRoman Catholic\b", "RC"), (r"\bR\.?C\.?(?=\s)", "Catholic"),
    (r"\s&\s", " and "), (r"\sand\s", " & "),
]
MAX_ALIASES = 6
MAX_PHRASES = 3


@dataclass(frozen=True)
class Kind:
    kind: str
    summary: str
    example: str
    keys: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "example": self.example, "keys": self.keys}


def source_kinds(only: str | None = None) -> list[Kind]:
    """Every registered kind of source (or only one), with its line, example and the keys it takes."""
    if only is not None and only not in kinds():
        raise SchoolwatchError(f"there is no kind of source called {only!r}: use one of {', '.join(kinds())}")
    found = []
    for name in kinds():
        if only not in (None, name):
            continue
        cls = SourceOptions.registry[name]
        keys = [key for key, info in cls.model_fields.items() if not info.exclude]
        found.append(Kind(name, cls.summary or cls.__doc__ or "", cls.example, keys))
    return found


def sources_text(only: str | None = None) -> str:
    """What ``schoolwatch sources`` prints: one line per kind, then an example block for each."""
    listed = source_kinds(only)
    width = max(len(k.kind) for k in listed)
    lines = ["Kinds of source (each is one entry under sources: in schoolwatch.yaml):", ""]
    lines += [f"  {k.kind:<{width}}  {k.summary}" for k in listed]
    lines += ["", "Examples (copy one under sources:, give it a unique name, then check it with "
                  "`schoolwatch scan --source NAME`):"]
    for k in listed:
        lines += ["", f"# {k.kind}: {k.summary}", k.example.rstrip()]
    return "\n".join(lines) + "\n"


# --- init ------------------------------------------------------------------------------------

def suggest_aliases(name: str) -> list[str]:
    """Other ways people write the school's name, from the name alone (to be checked by a person)."""
    name = " ".join(name.split())
    shorter = []
    for ending, replacement in _ENDINGS:
        if name.lower().endswith(" " + ending.lower()):
            short = (name[: -len(ending)] + replacement).strip()
            if len(short.split()) >= 2:  # "Ormiston Academy" -> "Ormiston" would match far too much
                shorter.append(short)
            break
    candidates = [name, *shorter]
    for pattern, replacement in _SWAPS:
        candidates += [re.sub(pattern, replacement, c) for c in list(candidates)]
    seen = {name.casefold()}
    aliases = []
    for candidate in candidates:
        candidate = " ".join(candidate.split())
        if candidate.casefold() not in seen and len(candidate.split()) >= 2:
            seen.add(candidate.casefold())
            aliases.append(candidate)
    return aliases[:MAX_ALIASES]


def search_phrases(names: list[str]) -> list[str]:
    """The fewest phrases whose searches find every name: "Bentilee Nursery" covers "Bentilee Nursery School"."""
    chosen: list[str] = []
    for phrase in sorted(dict.fromkeys(names), key=lambda p: (len(p), p)):
        folded = f" {phrase.casefold()} "
        if not any(f" {c.casefold()} " in folded for c in chosen):
            chosen.append(phrase)
    return chosen[:MAX_PHRASES]


def boolean_query(phrases: list[str]) -> str:
    return " OR ".join(f'"{p}"' for p in phrases)


def website_address(website: str) -> str:
    value = website.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise SchoolwatchError(f"--website {website!r} is not a web address such as https://www.school.example/")
    return value


def _one_line(value: str, what: str) -> str:
    text = " ".join(value.split())
    if len(text) < 2 or any(ord(c) < 32 for c in value if c not in "\t\n\r"):
        raise SchoolwatchError(f"{what} must be the school's name as people write it (at least two characters)")
    return text


def _q(value: str) -> str:
    """A YAML single-quoted scalar: safe for any one-line text."""
    return "'" + value.replace("'", "''") + "'"


def starter_config(name: str, website: str, today: date | None = None) -> str:
    """The commented YAML ``schoolwatch init`` writes."""
    name = _one_line(name, "--name")
    site = website_address(website)
    host = (urlsplit(site).hostname or "").removeprefix("www.")
    aliases = suggest_aliases(name)
    phrases = search_phrases([name, *aliases])
    query = boolean_query(phrases)
    written = (today or date.today()).isoformat()
    lines = [
        f"# schoolwatch config for {name}, written by `schoolwatch init` on {written}.",
        "# Check the lines marked CHECK, then run `schoolwatch scan`. Every key is explained in README.md",
        "# (Config reference, Sources); `schoolwatch sources` lists every kind of source with an example.",
        "",
        "school:",
        f"  name: {_q(name)}",
        "  # Other names people use for the school, suggested from its name. CHECK them: remove any",
        "  # that also means something else nearby (a street, a church, another school).",
        "  aliases:" + ("" if aliases else " []"),
        *[f"    - {_q(alias)}" for alias in aliases],
        f"    # - {_q(host)}   # the website's address, to catch posts that quote it (CHECK)",
        "  # Look-alike phrases that are NOT the school, e.g. a neighbourhood centre with the same name.",
        "  exclude: []",
        "  timezone: Europe/London",
        "",
        "storage:",
        "  database: sqlite:///data/schoolwatch.db   # relative to this file's folder",
        "  archive: data/archive                     # evidence files",
        "",
        "crawl:",
        f"  contact: {_q(site)}   # in our User-Agent, so site owners know who is reading",
        "",
        "sources:",
        "  # News: searches of Google News and Bing News (UK) for the school's names.",
        "  - name: google-news",
        "    kind: google_news",
        f"    query: {_q(query)}",
        "    every: 1h",
        "  - name: bing-news",
        "    kind: bing_news",
        f"    query: {_q(query)}",
        "    every: 1h",
        "",
        "  # Social media: public posts only. Private groups, closed Facebook pages and X (Twitter)",
        "  # are out of reach without the platforms' paid APIs.",
        "  - name: reddit",
        "    kind: reddit",
        f"    query: {_q(query)}",
        "    every: 2h",
        "    # subreddits: [YourTown]   # optional: search only your town's subreddits",
    ]
    for index, phrase in enumerate(phrases):  # Bluesky's search takes one phrase, not OR
        lines += [
            f"  - name: bluesky{'' if index == 0 else f'-{index + 1}'}",
            "    kind: bluesky",
            f"    query: {_q(chr(34) + phrase + chr(34))}",
            "    every: 1h",
        ]
    lines += [
        "",
        "  # Google Alerts covers the rest of the web (blogs, forums, local sites). Create an alert for",
        f"  # {query} at https://www.google.com/alerts, choose 'Show options' and",
        "  # 'Deliver to: RSS feed', then paste the alert's feed address below and remove the # signs:",
        "  # - name: google-alert",
        "  #   kind: google_alerts",
        "  #   url: https://www.google.com/alerts/feeds/YOUR-NUMBER/YOUR-ALERT-NUMBER",
        "  #   every: 1h",
        "",
        "  # Mastodon: your town's hashtag (or a local paper's account) on a server you name:",
        "  # - name: mastodon-town",
        "  #   kind: mastodon",
        "  #   instance: https://mastodon.social",
        "  #   tag: YourTown",
        "",
        "  # YouTube: a local news channel's latest videos, by channel ID (starts with UC):",
        "  # - name: youtube-local",
        "  #   kind: youtube",
        "  #   channel: UCxxxxxxxxxxxxxxxxxxxxxx",
        "",
        "  # Your own website is not listed: every page on it mentions the school.",
    ]
    return "\n".join(lines) + "\n"


def write_starter(path: Path, name: str, website: str, force: bool = False) -> str:
    """Write the starter config to ``path`` (never over an existing file unless ``force``)."""
    text = starter_config(name, website)
    if path.exists() and not force:
        raise SchoolwatchError(f"{path} already exists; pass --force to replace it, or --config to write elsewhere")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text
