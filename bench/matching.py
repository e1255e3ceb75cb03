"""How much the first pass and the text extraction cost per page, against the obvious baselines.

Run: ``.venv/bin/python bench/matching.py``. Prints a table and writes bench/results/matching.json.
might_mention runs on every fetched page, so it is compared with the cheapest possible test
(a literal ``re.search`` for the lower-case name, which sees through nothing); html_to_text runs
only on pages that pass, and is compared with BeautifulSoup(lxml).get_text().
"""

from __future__ import annotations

import json
import platform
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.matching import Matcher  # noqa: E402
from crawler.text import html_to_text  # noqa: E402

NAME = "Bentilee Nursery School"
ALIASES = ["Bentilee Nursery", "Bentilee Nursery School and Children's Centre"]
DECOY_SITE = Path("/work/shared/data/sites/decoy-primary-school")
RESULTS = ROOT / "bench" / "results" / "matching.json"
PAGE_BYTES = 30_000
WORDS = ("the our pupils parents school year term trip museum library newsletter club sport "
         "governors uniform lunch Bentley Stoke nursery centre road primary academy").split()


def generated_page(rng: random.Random, mention: str = "") -> str:
    """A 30 KB news page shaped like a school or council site: nav, styles, paragraphs, links."""
    parts = ["<!DOCTYPE html><html><head><title>News</title><meta charset='utf-8'>",
             "<style>body{background:#fff;border:0} .btn{display:block}</style>",
             "<script>window.dataLayer=[];function b(){return 1}</script></head><body>",
             "<nav><ul>" + "".join(f"<li><a href='/{w}/?a=1&amp;b=2'>{w.title()}</a></li>" for w in WORDS[:8]) + "</ul></nav>"]
    size = sum(map(len, parts))
    while size < PAGE_BYTES:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))
        paragraph = f"<p class='news-item'>{sentence.capitalize()} <b>{rng.choice(WORDS)}</b>&nbsp;<a href='/x'>more</a>.</p>\n"
        parts.append(paragraph)
        size += len(paragraph)
    if mention:
        parts.insert(len(parts) // 2, f"<p>{mention}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def per_call_us(function: Callable[[str], object], pages: list[str], seconds: float = 0.5) -> float:
    """Median-free but warm: repeat over all pages until ``seconds`` have passed."""
    for page in pages:
        function(page)
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for page in pages:
            function(page)
        calls += len(pages)
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    rng = random.Random(20261120)
    started = time.perf_counter()
    matcher = Matcher([NAME, *ALIASES])
    build_seconds = time.perf_counter() - started
    literal = re.compile(re.escape(NAME.lower()))

    sets = {
        "30KB without the name": [generated_page(rng) for _ in range(20)],
        "30KB with the name": [generated_page(rng, "A parent wrote about Bentilee Nursery School today.") for _ in range(20)],
        "30KB with the name obfuscated": [
            generated_page(rng, "B&#101;nt<b>il</b>&shy;ee N\u03c5rsery Sch\u043eol") for _ in range(20)],
    }
    if DECOY_SITE.is_dir():
        sets["real pages of another school"] = [
            p.read_text(encoding="utf-8", errors="replace") for p in sorted(DECOY_SITE.rglob("*.html"))]

    rows = []
    for label, pages in sets.items():
        mm_us = per_call_us(matcher.might_mention, pages)
        re_us = per_call_us(literal.search, pages)
        text_us = per_call_us(html_to_text, pages)
        bs4_us = per_call_us(lambda page: BeautifulSoup(page, "lxml").get_text(), pages)
        rows.append({
            "pages": label,
            "count": len(pages),
            "mean_kb": round(sum(map(len, pages)) / len(pages) / 1000, 1),
            "might_mention_true": sum(map(matcher.might_mention, pages)),
            "find_matches": sum(bool(matcher.find(html_to_text(p)[1])) for p in pages),
            "literal_re_true": sum(bool(literal.search(p)) for p in pages),
            "might_mention_us": round(mm_us, 1),
            "literal_re_search_us": round(re_us, 1),
            "might_mention_vs_re": round(mm_us / re_us, 1),
            "html_to_text_us": round(text_us, 1),
            "bs4_get_text_us": round(bs4_us, 1),
            "html_to_text_vs_bs4": round(text_us / bs4_us, 2),
        })

    header = ("pages", "n", "KB", "mm✓", "find✓", "re✓", "might_mention µs", "re.search µs", "×re",
              "html_to_text µs", "bs4 µs", "×bs4")
    keys = ("pages", "count", "mean_kb", "might_mention_true", "find_matches", "literal_re_true",
            "might_mention_us", "literal_re_search_us", "might_mention_vs_re", "html_to_text_us",
            "bs4_get_text_us", "html_to_text_vs_bs4")
    widths = [max(len(str(h)), *(len(str(r[k])) for r in rows)) for h, k in zip(header, keys)]
    print(f"Matcher built in {build_seconds:.2f} s (Unicode table scan + pattern compile, once per process)")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(str(row[k]).ljust(w) for k, w in zip(keys, widths)))

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": platform.python_version(),
        "machine": platform.machine(),
        "matcher_build_seconds": round(build_seconds, 3),
        "rows": rows,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
