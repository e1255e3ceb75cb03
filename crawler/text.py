"""Turning fetched HTML (or XML, or plain text) into readable text. Pure functions, no I/O.

The matcher reads what a person would read, so inline markup must join without spaces
(``Bentilee <b>Nursery</b>``, ``Bent<span>ilee</span>``) while block elements become line
breaks (sentences and list items stay apart). Invisible characters (soft hyphens, zero-width
spaces) are kept: the matcher deals with them and its offsets must point into this text.
"""

from __future__ import annotations

import html as htmllib
import re

from lxml import etree
from lxml import html as lxml_html

__all__ = ["html_to_text"]

# Phrasing elements: their text runs on into the neighbouring text. Anything else (including
# unknown and XML elements) is treated as a block, which can only separate words, never glue them.
INLINE = frozenset(
    "a abbr acronym b bdi bdo big cite code data del dfn em font i ins kbd label mark nobr q "
    "s samp small span strike strong sub sup time tt u var wbr".split()
)
# Elements whose content is never read by a visitor.
DROPPED = ("script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas")

_FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "urlset", "sitemapindex", "opml"})
_ROOT_NAME = re.compile(
    r"\s*(?:<\?[^>]*>\s*|<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<([A-Za-z][\w:.-]*)", re.S | re.I
)
_MARKUP_INSIDE = re.compile(r"<[A-Za-z/!]")
_DROPPED_RE = re.compile(
    r"<!--.*?(?:-->|$)|" + "|".join(rf"<{n}\b.*?(?:</{n}\s*>|$)" for n in DROPPED), re.S | re.I
)
_TAG_RE = re.compile(r"</?([A-Za-z][\w:.-]*)[^>]*>|<[!?][^>]*>")


# Marks a block boundary until _tidy turns it into a line break; libxml2 never yields NUL (it
# reads it as U+FFFD), so it cannot be confused with page text.
_BREAK = "\x00"


def html_to_text(html: str) -> tuple[str, str]:
    """Return ``(title, text)``; never raises, whatever the markup."""
    if not html or html.isspace():
        return "", ""
    if "<" not in html:
        # Plain text: its line breaks are the only structure it has.
        return "", _tidy(_BREAK.join(htmllib.unescape(html.replace(_BREAK, "\ufffd")).splitlines()))
    root_name = _ROOT_NAME.match(html[:4096])
    is_xml = html.lstrip().startswith("<?xml") or (
        root_name is not None and root_name.group(1).lower() in _FEED_ROOTS
    )
    if is_xml and (root_name is None or root_name.group(1).lower() != "html"):
        doc = _parse_xml(html)
        if doc is not None:
            return _title(doc, xml=True), _tidy(_walk(doc, xml=True))
    doc = _parse_html(html)
    if doc is None:
        return "", _tidy(_flatten_without_parser(html))
    return _title(doc, xml=False), _tidy(_walk(doc, xml=False))


def _parse_html(html: str) -> etree._Element | None:
    """Parse with libxml2; None when it gives up (libxml2 silently truncates very deep trees)."""
    parser = lxml_html.HTMLParser(huge_tree=True, encoding="utf-8")
    try:
        doc = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return None
    # with_tail=False keeps the text that follows a dropped element: it is not part of it.
    etree.strip_elements(
        doc, etree.Comment, etree.ProcessingInstruction, *(f"{{*}}{name}" for name in DROPPED), with_tail=False
    )
    return doc


def _parse_xml(text: str) -> etree._Element | None:
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, huge_tree=True, encoding="utf-8"
    )
    try:
        doc = etree.fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if doc is not None:
        etree.strip_elements(
            doc, etree.Comment, etree.ProcessingInstruction, etree.Entity,
            *(f"{{*}}{name}" for name in DROPPED), with_tail=False,
        )
    return doc


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _walk(root: etree._Element, *, xml: bool) -> str:
    """The text in document order, with _BREAK around blocks (head skipped in HTML)."""
    parts: list[str] = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        if not xml and el.tag == "head":
            walker.skip_subtree()
            continue
        if _local(el.tag) not in INLINE:
            parts.append(_BREAK)
        text = el.text if event == "start" else el.tail
        if text:
            parts.append(_escaped_html(text) if xml else text)
    return "".join(parts)


def _escaped_html(text: str) -> str:
    """Feeds carry their HTML escaped or in CDATA; read it as HTML rather than as tags."""
    if not _MARKUP_INSIDE.search(text):
        return text
    doc = _parse_html(text)
    return _BREAK + (_walk(doc, xml=False) if doc is not None else _flatten_without_parser(text)) + _BREAK


def _title(root: etree._Element, *, xml: bool) -> str:
    """<title>, else og:title, else the first <h1>: what a person would call the page."""
    candidates = [el for el in root.iter("{*}title") if el is not root][:1]
    if not xml:
        candidates += root.xpath('//meta[@property="og:title"]/@content') + root.findall(".//h1")[:1]
    for candidate in candidates:
        found = " ".join((candidate if isinstance(candidate, str) else "".join(candidate.itertext())).split())
        if found:
            return found
    return ""


def _flatten_without_parser(html: str) -> str:
    """Last resort for documents libxml2 refuses (e.g. nesting thousands deep): strip tags by pattern."""
    text = _DROPPED_RE.sub("", html.replace(_BREAK, "\ufffd"))
    text = _TAG_RE.sub(lambda m: "" if (m.group(1) or "").lower() in INLINE else _BREAK, text)
    return htmllib.unescape(text)


def _tidy(text: str) -> str:
    """One space between words, one line break between blocks, no blank lines."""
    lines = (" ".join(line.split()) for line in text.split(_BREAK))
    return "\n".join(line for line in lines if line)
