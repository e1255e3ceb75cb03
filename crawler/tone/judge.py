"""One post to one Judgement: model scores over the judged parts, reviewed patterns, rules."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crawler.tone import lexicon, segments
from crawler.tone.explain import quoted, triggers
from crawler.tone.model import Vector
from crawler.tone.scorer import Scorer, shipped
from crawler.tone.severity import SeverityRules, severity

CONCERNS: tuple[str, ...] = ("offensive", "hate", "threat", "safeguarding", "extremism", "allegation",
                             "complaint", "press", "personal_data")
TONES = ("negative", "neutral", "positive")
# A complaint is negative by definition; the complaint model (tweets to companies) alone
# fires on warm school posts full of unfamiliar words, so it needs a negative post to agree.
NEEDS_NEGATIVE = frozenset({"complaint"})
HITS_SHOWN = 3  # pattern matches quoted in `why` per group
NEAR_WEIGHT = 0.75  # share of the tone taken from the sentences that mention the school
# tone.yaml groups that turn the model's reading round: group -> (read as, actually means)
FLIPS = {"sarcasm": ("positive", "negative"), "praise": ("negative", "positive")}


@dataclass(frozen=True)
class Judgement:
    """What the classifier says about one post, and why, in the ``classify --json`` shape."""

    tone: str
    scores: dict[str, float]
    concerns: list[str]
    severity: str
    why: list[str]

    def as_dict(self) -> dict:
        return {"tone": self.tone, "scores": dict(self.scores), "concerns": list(self.concerns),
                "severity": self.severity, "why": list(self.why)}


@dataclass
class _Part:
    """One judged piece of text with its features and model probabilities."""

    text: str
    vector: Vector
    probs: dict[str, float]


def judge(text: str, focus: Sequence[tuple[int, int]] = (), rules: SeverityRules | None = None,
          model: Scorer | None = None) -> Judgement:
    """Classify one post; ``focus`` are character spans of the school's mentions in ``text``."""
    model = model or shipped()
    if not isinstance(text, str) or not text.strip():
        return _empty(rules, model)
    text, focus = segments.cap(text, focus)
    naming = segments.around(text, focus)  # the sentences that mention the school
    texts = [text, *(naming or segments.chunks(text))]  # all of a post's parts in one read
    pieces = [_Part(t, vector, probs) for t, (vector, probs) in zip(texts, model.read(texts))]
    whole, near = pieces[0], pieces[1:1 + len(naming)]
    prepared = lexicon.prepare(text)

    tone, scores, why = _tone(model, whole, near, prepared)
    raised = _model_concerns(model, pieces, prepared, tone, scores, why)
    shown: Counter[str] = Counter()
    for hit in lexicon.find(prepared):
        raised.update(c for c in hit.concerns if c in CONCERNS)
        line = f"{'/'.join(hit.concerns)}: '{hit.phrase}' (pattern {hit.catches})"
        if line not in why and shown[hit.catches] < HITS_SHOWN:  # a long rant repeats itself
            shown[hit.catches] += 1
            why.append(line)

    concerns = [c for c in CONCERNS if c in raised]
    level, reason = severity(concerns, tone == "negative", rules)
    return Judgement(tone, scores, concerns, level, [*why, f"severity {reason}"])


def _tone(model: Scorer, whole: _Part, near: list[_Part], prepared: str) -> tuple[str, dict, list[str]]:
    """Tone, its scores and reasons: the model's reading, turned round by an idiom marker."""
    sided = [p for p in near if max(TONES, key=p.probs.__getitem__) != "neutral"]
    probs = {t: _tone_mix(whole.probs[t], [p.probs[t] for p in sided]) for t in TONES}
    why = []
    evidence = None  # the label whose wording the model read, when an idiom turns it round
    markers = lexicon.find(prepared, "tone")
    for idiom, (read_as, means) in FLIPS.items():
        hits = [h.phrase for h in markers if idiom in h.concerns]
        if hits and probs[read_as] > probs[means]:
            probs[read_as], probs[means] = probs[means], probs[read_as]
            evidence = read_as
            why.append(f"{idiom}: {quoted(hits)} ({read_as} wording read as {means})")
            break
    tone = max(TONES, key=lambda t: probs[t])
    if tone == "neutral":
        why.insert(0, f"neutral {probs['neutral']:.2f}")
    else:
        evidence = evidence or tone
        strongest = max([whole, *near], key=lambda p: p.probs[evidence])
        words = triggers(strongest.text, model.contributions(strongest.vector, evidence))
        why.insert(0, f"{tone} {probs[tone]:.2f}" + (f": {quoted(words)}" if words else ""))
    return tone, {t: round(probs[t], 3) for t in TONES}, why


def _model_concerns(model: Scorer, pieces: list[_Part], prepared: str, tone: str, scores: dict,
                    why: list[str]) -> set[str]:
    """Concerns the yes/no heads raise on their most alarming part (adds scores and reasons)."""
    raised = set()
    vetoes = {c: h for h in lexicon.find(prepared, "vetoes") for c in h.concerns}
    for head in (h for h in model.heads.values() if h.threshold is not None):
        best = max(pieces, key=lambda p: p.probs[head.name])
        score = best.probs[head.name]
        scores[head.name] = round(score, 3)
        if score < head.alert or (head.name in NEEDS_NEGATIVE and tone != "negative"):
            continue
        if head.name in vetoes:
            why.append(f"{head.name} {score:.2f} not raised: '{vetoes[head.name].phrase}' (veto)")
            continue
        raised.add(head.name)
        words = triggers(best.text, model.contributions(best.vector, head.name))
        why.append(f"{head.name} {score:.2f}" + (f": {quoted(words)}" if words else ""))
    return raised


def _tone_mix(whole: float, sided: list[float]) -> float:
    """Tone about the school: when the sentences naming it take a side, mostly theirs; when
    they are neutral (headlines, addresses, "posted in ..."), the post's own tone."""
    return whole if not sided else NEAR_WEIGHT * float(np.mean(sided)) + (1 - NEAR_WEIGHT) * whole


def _empty(rules: SeverityRules | None, model: Scorer) -> Judgement:
    level, reason = severity([], False, rules)
    scores = {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
    scores.update((h.name, 0.0) for h in model.heads.values() if h.threshold is not None)
    return Judgement("neutral", scores, [], level, ["neutral: empty text", f"severity {reason}"])
