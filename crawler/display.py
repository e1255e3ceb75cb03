"""Showing fetched text on a terminal safely: it is attacker-controlled.

A post can carry terminal escape sequences (to rewrite what the administrator sees), bidi
overrides (to reverse a URL's letters) or a million characters. Everything fetched passes
through :func:`clean` before it is printed.
"""

from __future__ import annotations

import re
import unicodedata

_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
         "\u200e", "\u200f", "\u061c"}


def clean(text: str | None, width: int | None = None) -> str:
    """One printable line: control and bidi characters dropped, whitespace folded, cut to width."""
    if not text:
        return ""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text if ch not in _BIDI and unicodedata.category(ch) != "Cf")
    line = re.sub(r"\s+", " ", kept).strip()
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line


def table(headers: list[str], rows: list[list[str]], widths: list[int]) -> str:
    """A plain-text table whose cells are already clean and cut to their widths."""
    def fmt(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()
    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt([clean(c, w) for c, w in zip(row, widths)]) for row in rows]
    return "\n".join(lines)
