"""Text to features, shared by training and inference so the shipped model sees exactly
the features it was trained on (sklearn only counts what ``analyze`` returns).

Changing anything here changes the features: bump FEATURES_VERSION and retrain, or the
model refuses to load (a silent mismatch would degrade every score without an error).
"""

from __future__ import annotations

import re
import string

FEATURES_VERSION = "tone-features-3"

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

# Words naming the institution itself. In training tweets they are mostly students dreading
# school ("exam tomorrow ugh"), so the model would read every post about a school as
# negative. They carry no tone here: dropped from every feature, in training and inference.
INSTITUTION_WORDS = frozenset({
    "school", "schools", "nursery", "nurseries", "academy", "college", "teacher", "teachers",
    "headteacher", "headteachers", "pupil", "pupils", "student", "students", "class", "classes",
    "classroom", "lesson", "lessons", "homework", "exam", "exams", "ofsted", "staff", "term",
    "semester", "uni", "university",
})

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


def _institutional(word: str) -> bool:
    word = word.strip(string.punctuation)
    return (word[:-2] if word.endswith("'s") else word) in INSTITUTION_WORDS


def words(text: str) -> list[tuple[str, bool]]:
    """The tokens that can carry tone, each with whether a negation covers it."""
    toks = [t for t in tokens(normalise(text)) if not _institutional(t)]
    return list(zip(toks, negated(toks)))


def analyze(text: str) -> list[str]:
    """All features of one text: words (negated ones as their own features), word pairs,
    and char 2-5grams of each word not under negation (so "not good" shares nothing with "good").

    Word features start with a tab-prefixed tag and char n-grams never contain a tab, so
    the two families cannot collide in one vocabulary.
    """
    return features_of(words(text))


def features_of(toks: list[tuple[str, bool]]) -> list[str]:
    """``analyze`` from already-split ``words`` (inference splits once for both feature kinds)."""
    feats = [("n\t" if neg else "w\t") + t for t, neg in toks]
    feats += ["b\t" + a + " " + b for (a, _), (b, _) in zip(toks, toks[1:])]
    for tok, neg in toks:
        if not neg:
            feats += char_ngrams(tok)
    return feats


def char_ngrams(word: str) -> list[str]:
    """2-5 character n-grams of one space-padded word (as sklearn's ``char_wb`` pads)."""
    padded = " " + word + " "
    size = len(padded)
    return [padded[i:i + n] for n in range(2, 6) for i in range(size - n + 1)] if size > 2 else []


def readable(feature: str) -> str:
    """How a word feature is shown to a person in ``why`` (negated words as "not <word>")."""
    kind, _, body = feature.partition("\t")
    return "not " + body if kind == "n" else body
