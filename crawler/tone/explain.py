"""Turn a linear model's per-feature pushes into the few words a person can check.

Char n-grams are unreadable on their own, so each is credited to the words it came from;
word pairs and negated words ("not happy") are shown as phrases.
"""

from __future__ import annotations

import string
from collections import defaultdict
from itertools import repeat

from crawler.tone.features import BRITISH_TO_AMERICAN, char_ngrams, readable, words

TOP = 3
_AMERICAN_TO_BRITISH = {us: uk for uk, us in BRITISH_TO_AMERICAN.items()}
_STRIP = string.punctuation + "\u201c\u201d"


def triggers(text: str, pushes: dict[str, float], top: int = TOP) -> list[str]:
    """The words or phrases of ``text`` that pushed a label hardest, strongest first."""
    credit: dict[str, float] = defaultdict(float)
    for tok in {t for t, neg in words(text) if not neg}:
        # an n-gram shared by two words counts for both: ranking only needs the rough share
        credit[tok] += sum(map(pushes.get, char_ngrams(tok), repeat(0.0)))
    for feature, push in pushes.items():
        if "\t" in feature:
            credit[readable(feature)] += push
    ranked = sorted((p, k) for k, p in credit.items() if p > 0 and k.strip(_STRIP + " "))
    ranked.reverse()
    if not ranked:
        return []
    floor = ranked[0][0] * 0.25
    chosen: list[str] = []
    for push, key in ranked:
        if push < floor or len(chosen) == top:
            break
        if not any(_overlaps(key, c) for c in chosen):  # not both 'happy' and 'not happy'
            chosen.append(key)
    return [_as_written(k, text) for k in chosen]


def _overlaps(a: str, b: str) -> bool:
    wa, wb = f" {a} ", f" {b} "
    return wa in wb or wb in wa


def _as_written(phrase: str, text: str) -> str:
    """Undo the spelling fold for display, so a British post is quoted in British."""
    lowered = text.lower()
    return " ".join(_british(word, lowered) for word in phrase.split(" "))


def _british(word: str, lowered_text: str) -> str:
    uk = _AMERICAN_TO_BRITISH.get(word)
    return uk if uk and uk in lowered_text else word


def quoted(phrases: list[str]) -> str:
    return ", ".join(f"'{p}'" for p in phrases)
