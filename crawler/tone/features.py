"""Text to features, shared by training and inference so the shipped model sees exactly
the features it was trained on (sklearn only counts what ``analyze`` returns).

Changing anything here changes the features: bump FEATURES_VERSION and retrain, or the
model refuses to load (a silent mismatch would degrade every score without an error).
"""

from __future__ import annotations

import re

FEATURES_VERSION = "tone-features-1"

# Training tweets are mostly American; school posts here are mostly British. Folding the
# common spellings lets British words reuse weights learnt from American ones.
BRITISH_TO_AMERICAN = {
    "colour": "color", "colours": "colors", "favourite": "favorite", "favourites": "favorites",
    "behaviour": "behavior", "behaviours": "behaviors", "honour": "honor", "humour": "humor",
    "neighbour": "neighbor", "neighbours": "neighbors", "rumour": "rumor", "rumours": "rumors",
    "labour": "labor", "centre": "center", "theatre": "theater", "programme": "program",
    "realise": "realize", "realised": "realized", "apologise": "apologize",
    "apologised": "apologized", "organise": "organize", "organised": "organized",
    "recognise": "recognize", "recognised": "recognized", "criticise": "criticize",
    "criticised": "criticized", "disorganised": "disorganized", "travelled": "traveled",
    "cancelled": "canceled", "defence": "defense", "offence": "offense", "licence": "license",
    "judgement": "judgment", "mum": "mom", "mums": "moms", "mummy": "mommy",
    "rubbish": "garbage", "brilliant": "awesome", "gutted": "devastated", "knackered": "exhausted",
    "shambles": "mess", "whilst": "while", "arse": "ass", "arsehole": "asshole",
}

NEGATORS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "cannot", "without",
    "hardly", "barely",
})
NEGATION_SCOPE = 3  # words after a negator that it flips ("not happy at all", "not very good")

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_APOSTROPHE = re.compile(r"[\u2018\u2019\u02bc`´]")
_REPEATS = re.compile(r"(.)\1{2,}")  # "soooo" -> "soo": keeps emphasis, shares weights
_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")
_WORD = re.compile(r"\w")
_CLAUSE_END = frozenset(".,!?;:")
_SPELLING = re.compile(r"\b(" + "|".join(sorted(BRITISH_TO_AMERICAN, key=len, reverse=True)) + r")\b")


def normalise(text: str) -> str:
    """Lowercase and fold tweet noise (links, @handles, stretched letters, spelling)."""
    text = _APOSTROPHE.sub("'", text.lower())
    text = _URL.sub(" http ", text)
    text = _MENTION.sub("@user", text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPELLING.sub(lambda m: BRITISH_TO_AMERICAN[m.group(1)], text)


def tokens(normalised: str) -> list[str]:
    """Words, with single punctuation marks and emoji as their own tokens."""
    return _TOKEN.findall(normalised)


def _is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def negated(toks: list[str]) -> list[bool]:
    """Which tokens sit inside a negation's scope, so "not good" is not read as "good"."""
    flags = [False] * len(toks)
    left = 0
    for i, tok in enumerate(toks):
        if tok in _CLAUSE_END:
            left = 0
        elif _is_negator(tok):
            left = NEGATION_SCOPE
        elif left:
            flags[i] = True
            left -= 1
    return flags


def analyze(text: str) -> list[str]:
    """All features of one text: word 1-2grams, negated words, char 2-5grams inside words.

    Word features start with a tab-prefixed tag and char n-grams never contain a tab, so
    the two families cannot collide in one vocabulary.
    """
    norm = normalise(text)
    toks = tokens(norm)
    feats = ["w\t" + t for t in toks]
    feats += ["b\t" + a + " " + b for a, b in zip(toks, toks[1:])]
    feats += ["n\t" + t for t, neg in zip(toks, negated(toks)) if neg and _WORD.match(t)]
    for word in norm.split():
        feats += char_ngrams(word)
    return feats


def char_ngrams(word: str) -> list[str]:
    """2-5 character n-grams of one space-padded word (sklearn's ``char_wb`` scheme)."""
    padded = " " + word + " "
    size = len(padded)
    return [padded[i:i + n] for n in range(2, 6) for i in range(size - n + 1)] if size > 2 else []


def readable(feature: str) -> str:
    """How a feature is shown to a person in ``why`` (negated words as "not <word>")."""
    kind, _, body = feature.partition("\t")
    if kind == "n":
        return "not " + body
    return body if _ else feature.strip()
