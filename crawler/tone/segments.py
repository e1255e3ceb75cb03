"""Which parts of a post get judged: the whole (capped), the sentences around each mention
of the school, and for long posts without mentions, sentence-sized chunks.

A long blog post can be warm overall and still carry one abusive or worrying sentence;
scoring that sentence on its own keeps it from being averaged away.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_CHARS = 20_000  # work per text is capped here, centred on the first mention
AROUND = 0  # sentences either side of a mention judged with it (0: the mention's own)
LONG = 500  # texts longer than this without focus are also judged chunk by chunk
CHUNK = 300

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def cap(text: str, focus: Sequence[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """At most MAX_CHARS of ``text`` around the first mention, with ``focus`` re-based."""
    if len(text) <= MAX_CHARS:
        return text, [(a, b) for a, b in focus if 0 <= a < b <= len(text)]
    centre = focus[0][0] if focus else 0
    start = max(0, min(centre - MAX_CHARS // 2, len(text) - MAX_CHARS))
    end = start + MAX_CHARS
    return text[start:end], [(a - start, b - start) for a, b in focus if start <= a < b <= end]


def sentences(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def around(text: str, focus: Sequence[tuple[int, int]]) -> list[str]:
    """The sentences holding each mention, plus AROUND either side (touching windows merged)."""
    spans = sentences(text)
    ranges: list[list[int]] = []
    for a, b in sorted(focus):
        hit = [i for i, (s, e) in enumerate(spans) if s < b and a < e]
        if not hit:
            continue
        lo, hi = max(0, hit[0] - AROUND), min(len(spans) - 1, hit[-1] + AROUND)
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
    return [text[spans[lo][0]:spans[hi][1]] for lo, hi in ranges]


def chunks(text: str) -> list[str]:
    """Consecutive sentences packed up to about CHUNK characters (long texts only)."""
    if len(text) <= LONG:
        return []
    out: list[str] = []
    start = end = None
    for s, e in sentences(text):
        if start is not None and e - start > CHUNK:
            out.append(text[start:end])
            start = None
        if start is None:
            start = s
        end = e
    if start is not None:
        out.append(text[start:end])
    return out
