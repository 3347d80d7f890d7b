"""The type of a response that names none, sniffed as browsers do.

The WHATWG MIME Sniffing Standard's "rules for identifying an unknown MIME
type", cut to what a scraper acts on: the HTML signatures, XML, PDF, and
text versus binary. No Python library implements these rules; they are a
table in the standard, copied here.
"""

from __future__ import annotations

_WHITESPACE = b"\t\n\x0c\r "
_HTML_TAGS = (
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
)
_BOMS = (b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf")
_BINARY = frozenset([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])
SNIFF_BYTES = 1445


def sniff(body: bytes) -> str:
    """The media type a browser gives ``body`` when the response has no Content-Type."""
    head = body[:SNIFF_BYTES]
    start = head.lstrip(_WHITESPACE).upper()
    for tag in _HTML_TAGS:
        if start.startswith(tag) and start[len(tag) : len(tag) + 1] in (b" ", b">"):
            return "text/html"
    if start.startswith(b"<!--"):
        return "text/html"
    if start.startswith(b"<?XML"):
        return "text/xml"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(_BOMS) or not _BINARY.intersection(head):
        return "text/plain"
    return "application/octet-stream"
