"""Finding the school's name in text. Pure functions: no I/O, no Scrapy, no database.

INTERFACE (stub; the implementation is being written, keep these names and signatures):

    @dataclass(frozen=True)
    class Match:
        phrase: str    # the configured name or alias that matched, as written in config
        found: str     # the words as they appear in the text given (original characters)
        start: int     # offsets into the text given to Matcher.find
        end: int
        snippet: str   # the sentence (or sentences) around the match, whitespace tidied

    class Matcher:
        def __init__(self, names: Sequence[str], exclude: Sequence[str] = ()) -> None
        def might_mention(self, raw: str) -> bool
            # cheap first pass over raw HTML/XML/text; MUST be True whenever
            # find(html_to_text(raw)) would find a match (tolerant of tags, entities,
            # soft hyphens, zero-width characters, look-alike letters, line breaks)
        def find(self, text: str) -> list[Match]
            # whole words, case-insensitive, longest phrase wins, exclude phrases suppress
"""
