"""A deterministic synthetic website for crawl benchmarks.

Benchmarks need a site big enough to measure (thousands of ~30 KB pages), shaped like a
real one (navigation, prose, links), with a known number of mentions, and byte-identical
on every run so that two timings compare like with like. Nothing is downloaded: the prose
is drawn from the word list below with a seeded random generator.

Shape: page ``i`` links to pages ``10i+1 .. 10i+10`` (a ten-way tree, so a breadth-first
crawl from ``/`` reaches 2,000 pages by depth 4), to its parent, and to random pages until
it has about ten links; every page's navigation bar links to pages 1 to 10. Page ``i`` mentions the school once when ``(i + 1) % mention_every == 0``.
"""

from __future__ import annotations

import random
from html import escape
from pathlib import Path

SCHOOL = "Bentilee Nursery School"
FANOUT = 10
LINKS_PER_PAGE = 10

SECTIONS = ("news", "events", "community", "sport", "schools", "transport", "housing", "health",
            "libraries", "parks", "business", "culture")

WORDS = """
the a an and or but of to in on at by for with from about after before during under over
between through across council city town street road park library school college family
families children parents residents community neighbours volunteers staff team group club
meeting plans proposal budget funding report survey consultation scheme project service
services centre hall church market shop shops business businesses jobs work workers
weekend morning evening afternoon week month year summer winter spring autumn holiday
new old local public free open closed busy quiet popular annual weekly monthly early late
said says told asked agreed announced explained added hopes expects plans wants needs
will would could should may might must can has have had is are was were be been being
more most many much several few some every each other another first second third last
next recent latest final small large big little long short high low good great better best
improve improved support supported help helped offer offered provide provided run runs
build built repair repaired open opened close closed start started finish finished
garden gardens trees flowers river canal bridge footpath cycle bus buses train station
parking traffic roadworks lights pavement crossing safety speed limit residents' route
museum theatre concert festival fair exhibition gallery pottery kiln factory heritage
history historic tradition celebrate celebration anniversary award awards prize winner
charity appeal donations fundraising raised target collection food bank hampers toys
health doctors surgery clinic hospital nurses care carers elderly young older younger
weather rain wind sunshine frost snow flooding drains gutters leaves bins recycling
collection collections waste tip litter clean-up volunteers' tidy green space allotment
football cricket netball swimming running athletics team season league match goal
victory draw defeat coach players supporters ground pitch club's committee members
""".split()

MENTIONS = (
    "Families at {school} helped plant bulbs along the path by the park gates.",
    "Staff from {school} joined the litter pick on Saturday morning.",
    "Children from {school} sang carols at the library's late opening.",
    "The fun run raised money for {school} and two other local charities.",
)


def generate_site(directory: Path, pages: int = 2000, page_kb: int = 30, mention_every: int = 50,
                  seed: int = 0) -> list[str]:
    """Write the site into ``directory``; return every page's URL path, page 0 (``/``) first.

    ``paths[i]`` mentions the school exactly once when ``(i + 1) % mention_every == 0``
    (see :func:`mention_paths`). ``sitemap.xml`` lists every page with ``{{BASE}}`` URLs,
    which the local server fills in.
    """
    if pages < 1 or mention_every < 1 or page_kb < 1:
        raise ValueError("pages, page_kb and mention_every must be at least 1")
    rng = random.Random(seed)
    titles = [_title(rng) for _ in range(pages)]
    files = ["index.html"] + [f"{SECTIONS[i % len(SECTIONS)]}/{_slug(titles[i])}-{i}.html" for i in range(1, pages)]
    paths = ["/"] + ["/" + f for f in files[1:]]
    for i in range(pages):
        links = _links(i, pages, rng)
        mention = rng.choice(MENTIONS).format(school=SCHOOL) if (i + 1) % mention_every == 0 else None
        html = _page(titles[i], paths, i, links, page_kb * 1024, mention, rng)
        target = directory / files[i]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(html.encode("utf-8"))
    _sitemap(directory, paths)
    return paths


def mention_paths(paths: list[str], mention_every: int = 50) -> list[str]:
    """The paths that :func:`generate_site` gave a mention, for a benchmark to check recall."""
    return [path for i, path in enumerate(paths) if (i + 1) % mention_every == 0]


def _title(rng: random.Random) -> str:
    words = rng.sample(WORDS, 5)
    return " ".join(words).capitalize()


def _slug(title: str) -> str:
    return "-".join("".join(c for c in w.lower() if c.isalnum()) for w in title.split()[:3]).strip("-") or "page"


def _links(i: int, pages: int, rng: random.Random) -> list[int]:
    """Children first (what makes every page reachable), then the parent, then random pages."""
    links = [c for c in range(FANOUT * i + 1, FANOUT * i + FANOUT + 1) if c < pages]
    if i:
        links.append((i - 1) // FANOUT)
    target = min(LINKS_PER_PAGE, pages - 1)  # there may be fewer other pages than that
    while len(links) < target:
        other = rng.randrange(pages)
        if other != i and other not in links:
            links.append(other)
    return links


def _prose(rng: random.Random, size: int) -> list[str]:
    """Paragraphs of roughly ``size`` characters: sentences of 8 to 20 words."""
    paragraphs: list[str] = []
    written = 0
    while written < size or not paragraphs:
        sentences = []
        for length in rng.choices(range(8, 21), k=rng.randint(3, 6)):
            words = rng.choices(WORDS, k=length)
            sentences.append(" ".join(words).capitalize() + ".")
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        written += len(paragraph) + 8  # the <p></p> and line break around it
    return paragraphs


def _page(title: str, paths: list[str], i: int, links: list[int], size: int, mention: str | None,
          rng: random.Random) -> str:
    nav = " | ".join(f'<a href="{paths[j]}">{SECTIONS[j % len(SECTIONS)].capitalize()}</a>'
                     for j in range(1, min(FANOUT + 1, len(paths))))
    related = "\n".join(f'<li><a href="{paths[j]}">Page {j}</a></li>' for j in links)
    head = (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)} | Synthetic Gazette</title>\n</head>\n<body>\n"
            f'<header><p><a href="/">Synthetic Gazette</a></p>\n<nav>{nav}</nav></header>\n'
            f"<main>\n<h1>{escape(title)}</h1>\n")
    tail = (f"</main>\n<aside>\n<h2>Related pages</h2>\n<ul>\n{related}\n</ul>\n</aside>\n"
            f"<footer><p>Synthetic page {i} for schoolwatch benchmarks.</p></footer>\n</body>\n</html>\n")
    paragraphs = _prose(rng, size - len(head) - len(tail))
    if mention is not None:
        at = rng.randrange(len(paragraphs))
        paragraphs[at] = paragraphs[at] + " " + mention
    return head + "".join(f"<p>{p}</p>\n" for p in paragraphs) + tail


def _sitemap(directory: Path, paths: list[str]) -> None:
    urls = "".join(f"  <url><loc>{{{{BASE}}}}{path}</loc></url>\n" for path in paths)
    (directory / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + urls + "</urlset>\n",
        encoding="utf-8")
