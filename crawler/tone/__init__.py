"""Tone and concern classification. Pure: no I/O beyond reading the shipped model once.

INTERFACE (stub; the implementation is being written, keep these names and signatures):

    @dataclass(frozen=True)
    class Judgement:
        tone: str                  # "positive" | "neutral" | "negative"
        scores: dict[str, float]   # e.g. {"positive": .1, "neutral": .2, "negative": .7, "offensive": .8, ...}
        concerns: list[str]        # subset of CONCERNS, in CONCERNS order
        severity: str              # "urgent" | "high" | "normal" | "low"
        why: list[str]             # one readable reason per label: trigger words and score
        def as_dict(self) -> dict  # the JSON object of `schoolwatch classify --json`

    CONCERNS: tuple[str, ...]      # offensive, hate, threat, safeguarding, extremism,
                                   # allegation, complaint, press, personal_data (+ any extras)

    def classify(text: str, focus: Sequence[tuple[int, int]] = (), rules: SeverityRules | None = None) -> Judgement
        # focus: character spans of the school's mentions in text; long texts are judged
        # on the sentences around them and on the whole.
    def classify_many(texts: Iterable[str], rules: SeverityRules | None = None) -> Iterator[Judgement]

    SeverityRules: a Protocol with list attributes urgent, high, normal and str negative_is
    (crawler.config.Classify satisfies it; None means the defaults).
"""
