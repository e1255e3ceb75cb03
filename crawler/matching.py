"""Finding the school's name in text. Pure functions: no I/O, no Scrapy, no database.

People (and people hiding from a monitor) write a name in many ways: different case, curly
apostrophes, soft hyphens or zero-width characters inside words, Cyrillic or Greek letters that
look Latin, fullwidth letters, ``0`` for ``o`` and ``1``/``l`` for ``i``. Both the text and the
configured phrases are *folded* one character at a time into a canonical form, and every folded
position keeps a link to the original character, so matches report offsets into the text given.

``might_mention`` runs on every fetched page, so it never folds anything: it searches the raw
markup with one precompiled pattern built from the same folding table, read backwards (every
raw character, entity or tag run that can fold into each letter of one distinctive word).
That makes it at least as tolerant as ``find`` by construction, at the cost of a one-off
scan of the Unicode tables (about a second) the first time a Matcher is built.
"""

from __future__ import annotations

import bisect
import functools
import html.entities
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crawler.text import DROPPED

__all__ = ["Match", "Matcher"]


@dataclass(frozen=True)
class Match:
    phrase: str  # the configured name or alias that matched, as written in config
    found: str  # the words as they appear in the text given (original characters)
    start: int  # offsets into the text given to Matcher.find
    end: int
    snippet: str  # the sentence (or sentences) around the match, whitespace tidied


# --- Folding: one original character -> zero or more canonical characters -------------------

# Letters that look Latin but are not decomposed by NFKD. Keys are case-sensitive because the
# look-alike of an upper-case Greek or Cyrillic letter is not always its lower-case partner's
# (Υ looks like Y, υ like u). Quotes and dashes fold to their ASCII forms here too.
_LOOKALIKE: dict[str, str] = {
    **dict.fromkeys("‘’‚‛′‵ʹʻʼʽˈ`´＇", "'"),
    **dict.fromkeys("“”„‟″«»＂", '"'),
    **dict.fromkeys("‐‑‒–—―−⁃﹘﹣－", "-"),
    # Cyrillic
    **dict(zip("АВЕКМНОРСТУХЅІЈԚԜҺӀ", "abekmhopctyxsijqwhl")),
    **dict(zip("аеорсухѕіјһԁԛԝӏк", "aeopcyxsijhdqwlk")),
    # Greek
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧϹ", "abezhikmnoptyxc")),
    **dict(zip("αοικνρυχϲϳ", "aoikvpuxcj")),
    # Latin letters NFKD leaves alone
    **dict(zip("ıȷɑɡ", "ijag")),
}
_INVISIBLE_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc"})  # marks, format and control chars


def _swap_lookalikes(text: str) -> str:
    return "".join(_LOOKALIKE.get(c, c) for c in text)


def _fold_char(ch: str) -> str:
    """Fold one character: NFKD, look-alikes, casefold, drop marks and invisibles, NFKC.

    Combining marks are dropped so that accents and strike-through/underline tricks
    (``B̶e̶n̶t̶i̶l̶e̶e̶``) do not hide a name; NFKC at the end recomposes what survives.
    """
    if ch in _LOOKALIKE:
        return _LOOKALIKE[ch]
    folded = unicodedata.normalize("NFKD", _swap_lookalikes(unicodedata.normalize("NFKD", ch)).casefold())
    kept = "".join(
        _LOOKALIKE.get(c, c)
        for c in folded
        if c.isspace() or unicodedata.category(c) not in _INVISIBLE_CATEGORIES
    )
    return "".join(" " if c.isspace() else c for c in unicodedata.normalize("NFKC", kept))


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table filled on demand, so folding runs in C after the first sight of a char."""

    def __missing__(self, codepoint: int) -> str:
        folded = self[codepoint] = _fold_char(chr(codepoint))
        return folded


_FOLD = _FoldTable()


class _Folded:
    """Folded text plus the way back: pieces of folded text and where each began in the original."""

    def __init__(self, text: str) -> None:
        self.text = _fold(text)
        self._norm_starts: list[int] = []
        self._orig_starts: list[int] = []
        self._one_to_one: list[bool] = []
        norm = orig = 0
        irregular = [c for c in set(text) if len(_FOLD[ord(c)]) != 1]
        for m in re.finditer(_char_class(irregular), text) if irregular else ():
            i = m.start()
            if i > orig:
                self._add_piece(norm, orig, one_to_one=True)
                norm += i - orig
            width = len(_FOLD[ord(text[i])])
            if width:
                self._add_piece(norm, i, one_to_one=False)
                norm += width
            orig = i + 1
        self._add_piece(norm, orig, one_to_one=True)

    def _add_piece(self, norm: int, orig: int, *, one_to_one: bool) -> None:
        self._norm_starts.append(norm)
        self._orig_starts.append(orig)
        self._one_to_one.append(one_to_one)

    def _original_index(self, norm: int) -> int:
        k = bisect.bisect_right(self._norm_starts, norm) - 1
        offset = norm - self._norm_starts[k] if self._one_to_one[k] else 0
        return self._orig_starts[k] + offset

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self._original_index(start), self._original_index(end - 1) + 1


def _fold(text: str) -> str:
    return text.translate(_FOLD)


# --- Phrases: folded words of atoms, each atom a set of acceptable folded characters ----------

# Digits and letters that stand in for each other in obfuscated names. The text is not folded
# this way (it would garble numbers); the phrase patterns accept either.
_STAND_INS = {"o": "o0", "0": "o0", "i": "il1", "l": "il1", "1": "il1"}
_AND = frozenset({"and", "&"})
_WORD_SEPARATOR = r"(?:\s*-+\s*|\s+)"


@dataclass(frozen=True)
class _Atom:
    chars: frozenset[str]
    optional: bool  # apostrophes: "Childrens Centre" is how many people write it


def _words(phrase: str) -> list[str]:
    return [w for w in re.split(r"[\s-]+", _fold(phrase)) if w]


def _atoms(word: str) -> list[_Atom]:
    return [_Atom(frozenset(_STAND_INS.get(c, c)), optional=c == "'") for c in word]


def _phrase_pattern(phrase: str) -> re.Pattern[str] | None:
    words = _words(phrase)
    if not words:
        return None
    parts = [
        "(?:and|&)" if word in _AND
        else "".join(_char_class(a.chars) + ("?" if a.optional else "") for a in _atoms(word))
        for word in words
    ]
    return re.compile(r"(?<!\w)" + _WORD_SEPARATOR.join(parts) + r"(?!\w)")


# Words every school name shares; a rarer word makes a better first-pass key.
_GENERIC = frozenset(
    """school schools primary secondary academy nursery infant infants junior juniors college high
    grammar community church england catholic saint st ce rc the of upper lower middle first free
    prep preparatory sixth form international independent special learning centre center
    children's childrens trust federation village park road street girls boys county""".split()
)


def _key_word(phrase: str) -> str | None:
    candidates = [w for w in _words(phrase) if w not in _AND and re.search(r"\w", w)]
    if not candidates:
        return None
    return max(candidates, key=lambda w: (w not in _GENERIC, len(w)))


# --- Reading the folding table backwards, for the raw first pass ------------------------------

# Planes and blocks whose characters cannot fold to anything but themselves or other characters
# from the same script (ideographs, Hangul syllables, private use, unassigned planes).
# tests/crawler/test_matching.py checks that every assigned character in them folds to itself.
_SKIPPED_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA000, 0xA4CF), (0xAC00, 0xD7A3),
                   (0xD800, 0xF8FF), (0x20000, 0x2F7FF), (0x2FA20, 0xDFFFF), (0xF0000, 0x10FFFF))


def _scanned_codepoints() -> Iterable[int]:
    start = 0
    for low, high in _SKIPPED_RANGES:
        yield from range(start, low)
        start = high + 1


@functools.cache
def _preimages() -> dict[str, frozenset[str]]:
    """Folded string -> every character that folds to it ("" -> the invisible ones)."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for codepoint in _scanned_codepoints():
        ch = chr(codepoint)
        found[_fold_char(ch)].add(ch)
    return {folded: frozenset(chars) for folded, chars in found.items()}


@functools.cache
def _expansions() -> list[tuple[str, frozenset[str]]]:
    """Characters that fold to several (ligatures, ß, Roman numerals, circled numbers...)."""
    return [(folded, chars) for folded, chars in _preimages().items() if len(folded) > 1]


@functools.cache
def _entity_names() -> dict[str, list[str]]:
    """Character -> HTML5 entity names for it (with and without the legacy optional ';')."""
    names: defaultdict[str, list[str]] = defaultdict(list)
    for name, value in html.entities.html5.items():
        if len(value) == 1:
            names[value].append(name)
    return names


def _windows_1252_numbers(ch: str) -> list[int]:
    """HTML parsers read &#128;..&#159; as Windows-1252 (&#146; is a curly apostrophe)."""
    return [n for n in range(0x80, 0xA0) if bytes([n]).decode("cp1252", "ignore") == ch]


def _entity_numbers(chars: Iterable[str]) -> set[int]:
    numbers = set()
    for ch in chars:
        numbers.add(ord(ch))
        numbers.update(_windows_1252_numbers(ch))
    return numbers


def _entity_body(chars: Iterable[str]) -> str:
    """After the '&': any numeric or named reference to one of ``chars``, also double-escaped
    (``&amp;#66;``, as in feeds that carry escaped HTML)."""
    numbers = _entity_numbers(chars)
    names = [name for ch in chars for name in _entity_names().get(ch, [])]
    decimal = _trie_pattern(str(n) for n in numbers)
    hexadecimal = _trie_pattern(format(n, "x") for n in numbers)
    named = "|" + _trie_pattern(names) if names else ""
    return rf"(?:amp;)?(?:#(?:0*{decimal}(?![0-9])|[xX]0*(?i:{hexadecimal})(?![0-9a-fA-F]));?{named})"


def _trie_pattern(words: Iterable[str]) -> str:
    """One compact alternation for many literal strings (sre tries branches in order)."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return build(trie)


_ASTRAL = "[\U00010000-\U0010ffff]"


def _char_class(chars: Iterable[str]) -> str:
    """A pattern for one of ``chars``. Characters beyond the BMP go in a guarded second class:
    sre tests those one range at a time, which would make every test of a big class slow."""
    codepoints = sorted({ord(c) for c in chars})
    basic = _ranges([cp for cp in codepoints if cp <= 0xFFFF])
    astral = _ranges([cp for cp in codepoints if cp > 0xFFFF])
    if not astral:
        return basic or "(?!)"
    return f"(?:{basic}|(?={_ASTRAL}){astral})" if basic else astral


def _ranges(codepoints: list[int]) -> str:
    if not codepoints:
        return ""
    runs: list[list[int]] = []
    for cp in codepoints:
        if runs and cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "[" + "".join(
        re.escape(chr(lo)) + ("" if lo == hi else "-" + re.escape(chr(hi))) for lo, hi in runs
    ) + "]"


# Markup that can sit between two letters of a word and vanish from html_to_text's output.
# Each run is capped at _NOISE_LIMIT characters: unbounded, a hostile page of many unclosed
# "be<!--" would cost quadratic time; a longer comment or script inside a word is not credible.
_NOISE_LIMIT = 1000
_TAG_NOISE = (
    rf"<!--(?:-?>|.{{0,{_NOISE_LIMIT}}}?--!?>)"  # comments may contain '>'
    r"|<!\[CDATA\[|\]\]>"
    + "".join(rf"|<(?i:{name})\b.{{0,{_NOISE_LIMIT}}}?</(?i:{name})\s*>" for name in DROPPED)
    + rf"""|<(?:[^<>"']++|"[^"]{{0,{_NOISE_LIMIT}}}+"|'[^']{{0,{_NOISE_LIMIT}}}+')*+>"""
    + rf"|&(?:amp;)?lt;[^<>]{{0,{_NOISE_LIMIT}}}?&(?:amp;)?gt;"  # escaped tags in feeds
)


def _gap_pattern(letters: set[str]) -> str:
    """What may sit between two letters of a word in raw markup yet vanish from the text.

    Possessive, so it never backtracks; for that to be safe it must not match anything a
    letter of the word can start with, hence "any numeric entity except one of ``letters``"
    (a superset of the invisible ones, which is fine for a first pass).
    """
    invisible = _preimages()[""]
    numbers = _entity_numbers(letters)
    named = _trie_pattern(name for ch in invisible for name in _entity_names().get(ch, []))
    letter_number = rf"(?:0*{_trie_pattern(map(str, numbers))}(?![0-9])|[xX]0*(?i:{_trie_pattern(format(n, 'x') for n in numbers)})(?![0-9a-fA-F]))"
    # The lookahead rejects an ordinary next letter with one class test instead of a dozen.
    return (
        f"(?:(?=[<&\\]]|{_char_class(invisible)})(?:{_char_class(invisible)}++|{_TAG_NOISE}"
        f"|&(?:amp;)?(?:#(?!{letter_number})(?:[0-9]++|[xX][0-9a-fA-F]++);?|{named})))*+"
    )


@functools.cache
def _key_pattern(word: str) -> tuple[frozenset[str], str]:
    """The raw-markup pattern for one folded word, for use after a first character class.

    Returns the characters a match can start with, and alternatives that each begin with a
    lookbehind checking which of them was consumed (sre only skips ahead fast, in C, when a
    pattern starts with a plain character class).
    """
    atoms = _atoms(word)
    preimages = _preimages()

    def units(i: int) -> list[tuple[frozenset[str], int]]:
        """(raw characters, index of the next atom) for what can stand for atoms[i:]."""
        single = atoms[i].chars.union(*(preimages.get(c, frozenset()) for c in atoms[i].chars))
        found = [(single, i + 1)]
        for folded, chars in _expansions():
            k = len(folded)
            if k <= len(atoms) - i and all(folded[j] in atoms[i + j].chars for j in range(k)):
                found.append((chars, i + k))
        return found

    all_units = {i: units(i) for i in range(len(atoms))}
    gap = _gap_pattern(set().union(*(chars for found in all_units.values() for chars, _ in found)))

    @functools.cache
    def rest(i: int) -> str:
        if i == len(atoms):
            return ""
        alternatives = [
            f"(?:{_char_class(chars)}|&{_entity_body(chars)}){gap if nxt < len(atoms) else ''}{rest(nxt)}"
            for chars, nxt in all_units[i]
        ]
        if atoms[i].optional:
            alternatives.append(rest(i + 1))
        return "(?:" + "|".join(alternatives) + ")"

    def starts(i: int) -> set[str]:
        """Raw characters that can begin a match of atoms[i:] (after the gap, if any)."""
        if i == len(atoms):
            return set()
        found = {"&"}.union(*(chars for chars, _ in all_units[i]))
        return found | starts(i + 1) if atoms[i].optional else found

    firsts = starts(0)
    dispatch = []
    for chars, nxt in all_units[0]:
        # One class test on the character after the first rejects most false starts cheaply.
        after = f"(?={_char_class(starts(nxt) | _preimages()[''] | set('<&]'))})" if nxt < len(atoms) else ""
        tail = (gap if nxt < len(atoms) else "") + rest(nxt)
        dispatch.append(f"(?:(?<={_char_class(chars)}){after}|(?<=&){_entity_body(chars)}){tail}")
    return frozenset(firsts), "|".join(dispatch)


# --- Snippets ---------------------------------------------------------------------------------

_SNIPPET_CAP = 300
_SENTENCE_LOOK = 1000  # how far to look for a sentence boundary before giving up and cutting
_SENTENCE_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s|$)|\n""")
_SENTENCE_START = re.compile(r"""[.!?]+["'”’)\]]*\s|\n""")


def _tidy(text: str) -> str:
    """Whitespace folded and format characters (soft hyphens, zero-width) dropped: a snippet is read."""
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return re.sub(r"\s+", " ", visible)


def _snippet(text: str, start: int, end: int) -> str:
    """The sentence(s) holding text[start:end], at most ~300 characters, centred on the match."""
    low = max(0, start - _SENTENCE_LOOK)
    high = min(len(text), end + _SENTENCE_LOOK)
    boundaries = list(_SENTENCE_START.finditer(text, low, start))
    first = boundaries[-1].end() if boundaries else low
    after_end = _SENTENCE_END.search(text, end, high)
    last = high if after_end is None else (after_end.start() if after_end.group() == "\n" else after_end.end())

    before = _tidy(text[first:start]).lstrip()
    middle = _tidy(text[start:end])
    after = _tidy(text[end:last]).rstrip()
    room = max(0, _SNIPPET_CAP - len(middle))
    left = min(len(before), max(room // 2, room - len(after)))
    right = min(len(after), room - left)
    cut_left = first > 0 and not boundaries or left < len(before)
    cut_right = last < len(text) and after_end is None or right < len(after)
    if left < len(before):
        before = before[len(before) - left:]
        before = before.split(" ", 1)[1] if " " in before else before  # no half words
    if right < len(after):
        after = after[:right]
        after = after.rsplit(" ", 1)[0] if " " in after else after
    return ("…" if cut_left else "") + before + middle + after + ("…" if cut_right else "")


# --- The matcher ------------------------------------------------------------------------------


class Matcher:
    """Finds the school's name and aliases; ``exclude`` lists look-alike names that are not it."""

    def __init__(self, names: Sequence[str], exclude: Sequence[str] = ()) -> None:
        self._phrases = [(p, pattern) for p in names if (pattern := _phrase_pattern(p)) is not None]
        self._exclude = [pattern for p in exclude if (pattern := _phrase_pattern(p)) is not None]
        firsts: set[str] = set()
        alternatives: list[str] = []
        for key in dict.fromkeys(k for p, _ in self._phrases if (k := _key_word(p)) is not None):
            key_firsts, key_alternatives = _key_pattern(key)
            firsts |= key_firsts
            alternatives.append(key_alternatives)
        # Starting with a plain character class lets sre skip ahead in C to plausible positions;
        # all of the astral plane stands in for its few candidates (the lookbehinds check them).
        basic_firsts = _ranges(sorted(ord(c) for c in firsts if c <= "\uffff"))
        self._first_pass = (
            re.compile(f"[{basic_firsts[1:-1]}{_ASTRAL[1:-1]}](?:{'|'.join(alternatives)})", re.S)
            if alternatives else None
        )

    def might_mention(self, raw: str) -> bool:
        """Cheap test on raw HTML/XML/text: False means ``find`` cannot match its text
        (short of a comment, script or tag over a thousand characters long inside a word)."""
        return self._first_pass is not None and self._first_pass.search(raw) is not None

    def find(self, text: str) -> list[Match]:
        if not self._phrases or not text:
            return []
        folded = _Folded(text)
        excluded = [m.span() for pattern in self._exclude for m in pattern.finditer(folded.text)]
        candidates = [
            (m.start(), m.end(), phrase)
            for phrase, pattern in self._phrases
            for m in pattern.finditer(folded.text)
            if not any(m.start() < x_end and x_start < m.end() for x_start, x_end in excluded)
        ]
        # Longest first, then earliest: where phrases overlap, the longest one wins.
        chosen: list[tuple[int, int, str]] = []
        for start, end, phrase in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if all(end <= s or e <= start for s, e, _ in chosen):
                chosen.append((start, end, phrase))
        matches = []
        for norm_start, norm_end, phrase in sorted(chosen):
            start, end = folded.original_span(norm_start, norm_end)
            matches.append(Match(phrase, text[start:end], start, end, _snippet(text, start, end)))
        return matches
