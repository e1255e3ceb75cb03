"""html_to_text gives the matcher what a reader sees: joined inline words, separate blocks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crawler.text import html_to_text

DECOY_SITE = Path("/work/shared/data/sites/decoy-primary-school")


def test_a_post_with_the_name_split_by_markup_reads_as_one_phrase() -> None:
    title, text = html_to_text(
        "<html><head><title>Parents' forum</title></head><body>"
        "<p>We visited Bentilee <b>Nursery</b> Sch<span class='x'>ool</span> today.</p></body></html>"
    )
    assert title == "Parents' forum"
    assert text == "We visited Bentilee Nursery School today."


def test_blocks_become_lines_so_list_items_and_paragraphs_do_not_run_together() -> None:
    _, text = html_to_text(
        "<ul><li>Bentilee</li><li>Nursery</li></ul><p>One<br>Two</p><div>Three</div>"
        "<table><tr><td>a</td></tr><tr><td>b</td></tr></table><h2>Heading</h2>tail"
    )
    assert text.splitlines() == ["Bentilee", "Nursery", "One", "Two", "Three", "a", "b", "Heading", "tail"]


def test_invisible_content_is_dropped_but_the_text_after_it_is_kept() -> None:
    _, text = html_to_text(
        "<head><style>p{}</style><meta name='description' content='meta words'></head><body>"
        "Bent<script>var s = '<b>x</b>';</script>ilee <!-- a > b -->Nursery"
        "<noscript>enable js</noscript><template><p>tpl</p></template>"
        "<svg><title>icon</title><text>svg text</text></svg> School</body>"
    )
    assert text == "Bentilee Nursery School"


def test_entities_are_decoded_and_whitespace_tidied() -> None:
    _, text = html_to_text("<p>&#66;entilee&nbsp;&nbsp;Nursery &amp; &#x43;hildren&rsquo;s\n\n   Centre</p>")
    assert text == "Bentilee Nursery & Children\u2019s Centre"


def test_soft_hyphens_and_zero_width_characters_are_left_for_the_matcher() -> None:
    _, text = html_to_text("<p>Nur&shy;sery Bent\u200bilee</p>")
    assert text == "Nur\u00adsery Bent\u200bilee"


@pytest.mark.parametrize(
    ("html", "title"),
    [
        ("<head><meta property='og:title' content='OG  title'></head><h1>Heading</h1>", "OG title"),
        ("<body><h1>First <i>heading</i></h1><h1>Second</h1></body>", "First heading"),
        ("<title>  </title><h1>Fallback</h1>", "Fallback"),
        ("<p>no title at all</p>", ""),
    ],
)
def test_title_falls_back_to_og_title_then_first_heading(html: str, title: str) -> None:
    assert html_to_text(html)[0] == title


def test_rss_feed_items_are_read_including_escaped_and_cdata_html() -> None:
    feed = (
        "<?xml version='1.0' encoding='ISO-8859-1'?><rss version='2.0'><channel><title>Local news</title>"
        "<item><title>Fete cancelled</title><description>&lt;p&gt;Bentilee &lt;b&gt;Nursery&lt;/b&gt;"
        " School&lt;/p&gt;</description></item>"
        "<item><description><![CDATA[<p>Second <i>st</i>ory</p>]]></description></item></channel></rss>"
    )
    title, text = html_to_text(feed)
    assert title == "Local news"
    assert text.splitlines() == ["Local news", "Fete cancelled", "Bentilee Nursery School", "Second story"]


def test_xhtml_with_an_xml_declaration_is_read_as_html() -> None:
    title, text = html_to_text(
        "<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><head><title>T</title></head>"
        "<body><p>a&nbsp;<b>b</b></p></body></html>"
    )
    assert (title, text) == ("T", "a b")


def test_plain_text_passes_through_tidied() -> None:
    assert html_to_text("Bentilee Nursery School\n\n  is   closed") == ("", "Bentilee Nursery School\nis closed")


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "   \n ",
        "\x00\x00",
        "<p>unclosed <b>bold <i>italic",
        "<<<>>></p></div></html>",
        "&#0; &#xD800; &#99999999999; &bogus; &#x; &",
        "a\ud800b",  # lone surrogate from a bad decode
        "<?xml version='1.0'?><rss><channel><item>",
        "<!-- never closed",
        "<script>never closed",
    ],
)
def test_hostile_or_broken_markup_never_raises(hostile: str) -> None:
    title, text = html_to_text(hostile)
    assert isinstance(title, str) and isinstance(text, str)


def test_nul_bytes_do_not_truncate_the_page() -> None:
    _, text = html_to_text("<p>before\x00after</p><p>Bentilee Nursery School</p>")
    assert text.endswith("Bentilee Nursery School")


def test_text_after_absurdly_deep_nesting_is_not_lost() -> None:
    # libxml2 stops parsing at its depth limit and silently drops the rest of the page.
    html = "<p>before</p>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "<p>Bentilee <b>Nursery</b> School</p>"
    _, text = html_to_text(html)
    assert text.splitlines() == ["before", "deep", "Bentilee Nursery School"]


def test_five_megabytes_of_text_is_read_whole() -> None:
    html = "<p>" + "word " * 1_000_000 + "Bentilee Nursery School</p>"
    _, text = html_to_text(html)
    assert text.endswith("word Bentilee Nursery School")
    assert len(text) == 5_000_000 + len("Bentilee Nursery School")


@pytest.mark.skipif(not DECOY_SITE.is_dir(), reason="shared decoy site not present")
def test_real_school_pages_take_a_few_milliseconds_and_keep_their_content() -> None:
    pages = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(DECOY_SITE.rglob("*.html"))]
    started = time.perf_counter()
    results = [html_to_text(page) for page in pages]
    per_page = (time.perf_counter() - started) / len(pages)
    assert per_page < 0.02  # generous for a loaded CI box; bench/matching.py has the real numbers
    home_title, home_text = html_to_text((DECOY_SITE / "index.html").read_text(encoding="utf-8"))
    assert "Decoy" in home_title
    assert "Decoy" in home_text and "<" not in home_text
    assert all(text for (_, text), page in zip(results, pages) if "<p" in page)
