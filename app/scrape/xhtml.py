"""``application/xhtml+xml`` read as XML, as browsers read it.

Browsers parse such a page with an XML parser: ``<p/>`` is an empty element,
CDATA is text, and a page that is not well-formed is an error page. We parse
it with the standard library's expat (which refuses entity expansion bombs
and never fetches external entities), drop the XHTML namespace and write it
back as HTML, which our HTML parser then reads to the same tree. A page
nested deeper than Python's recursion limit (~1,000 levels) is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from app.scrape.errors import ScrapeError

XHTML = "{http://www.w3.org/1999/xhtml}"


def xhtml_as_html(text: str) -> str:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ScrapeError("invalid_content", f"the XHTML page is not well-formed: {exc}") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith(XHTML):
            element.tag = element.tag[len(XHTML) :]
    try:
        return ElementTree.tostring(root, encoding="unicode", method="html")
    except RecursionError as exc:  # the serializer recurses once per level
        raise ScrapeError("invalid_content", "the XHTML page is nested too deeply") from exc
