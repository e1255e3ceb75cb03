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


def html_to_text(html: str) -> tuple[str, str]:
    """Return ``(title, text)``; never raises, whatever the markup."""
    if not html or html.isspace():
        return "", ""
    root_name = _ROOT_NAME.match(html[:4096])
    is_xml = html.lstrip().startswith("<?xml") or (
        root_name is not None and root_name.group(1).lower() in _FEED_ROOTS
    )
    if is_xml and (root_name is None or root_name.group(1).lower() != "html"):
        doc = _parse_xml(html)
        if doc is not None:
            return _extract(doc, xml=True)
    doc = _parse_html(html)
    if doc is None:
        return "", _tidy(_flatten_without_parser(html))
    return _extract(doc, xml=False)


def _parse_html(html: str) -> etree._Element | None:
    """Parse with libxml2; None when it gives up (libxml2 silently truncates very deep trees)."""
    parser = lxml_html.HTMLParser(huge_tree=True)
    try:
        doc = lxml_html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError):
        return None
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return None
    return doc


def _parse_xml(text: str) -> etree._Element | None:
    parser = etree.XMLParser(
        recover=True, resolve_entities=False, no_network=True, huge_tree=True, encoding="utf-8"
    )
    try:
        return etree.fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].lower()


def _extract(root: etree._Element, *, xml: bool) -> tuple[str, str]:
    etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, etree.Entity, with_tail=False)
    title = _title(root, xml=xml)
    dropped = [el for el in root.iter() if _local(el.tag) in DROPPED or (not xml and el.tag == "head")]
    for el in dropped:
        # Keep the tail: it is text that follows the element, not part of it.
        parent = el.getparent()
        if parent is None:
            return title, ""
        tail = el.tail
        el.tail = None
        if tail:
            previous = el.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        parent.remove(el)

    parts: list[str] = []
    for event, el in etree.iterwalk(root, events=("start", "end")):
        block = _local(el.tag) not in INLINE
        if event == "start":
            if block:
                parts.append("\n")
            if el.text:
                parts.append(_xml_text(el.text) if xml else el.text)
        else:
            if block:
                parts.append("\n")
            if el.tail and el is not root:
                parts.append(_xml_text(el.tail) if xml else el.tail)
    return title, _tidy("".join(parts))


def _xml_text(text: str) -> str:
    """Feeds carry their HTML escaped or in CDATA; read it as HTML rather than as tags."""
    if _MARKUP_INSIDE.search(text):
        return "\n" + html_to_text(text)[1] + "\n"
    return text


def _title(root: etree._Element, *, xml: bool) -> str:
    for el in root.iter():
        if _local(el.tag) == "title" and (xml or el.getparent() is None or _local(el.getparent().tag) != "svg"):
            found = _tidy(el.text_content() if hasattr(el, "text_content") else "".join(el.itertext()))
            if found:
                return " ".join(found.split())
    if xml:
        return ""
    og = root.xpath('string(//meta[@property="og:title"]/@content)')
    if og.strip():
        return " ".join(og.split())
    h1 = root.find(".//h1")
    return " ".join(h1.text_content().split()) if h1 is not None else ""


def _flatten_without_parser(html: str) -> str:
    """Last resort for documents libxml2 refuses (e.g. nesting thousands deep): strip tags by pattern."""
    text = _DROPPED_RE.sub("", html)
    text = _TAG_RE.sub(lambda m: "" if (m.group(1) or "").lower() in INLINE else "\n", text)
    return htmllib.unescape(text.replace("\x00", "\ufffd"))


def _tidy(text: str) -> str:
    """One space between words, one line break between blocks, no blank lines."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
