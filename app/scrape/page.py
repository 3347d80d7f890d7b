"""What a fetched page says, read as a browser reads it.

One parse with lexbor (through resiliparse): the document's own ``<title>``
(not an SVG's) with its whitespace collapsed as ``document.title`` does, the
first ``h1``'s rendered text (no-break spaces kept), links resolved by the
WHATWG URL rules against ``<base href>`` when it is valid, the
``<meta http-equiv=refresh>`` target, and the words and characters of the
visible text (see text.py).
"""

from __future__ import annotations

import re
from typing import Any

from resiliparse.parse.html import CSSParserException, DocumentNode, HTMLTree
from selectolax.lexbor import LexborHTMLParser

from app.scrape.charset import decode_page
from app.scrape.errors import ScrapeError
from app.scrape.sniff import sniff
from app.scrape.text import collapse, count_text, visible_text
from app.scrape.urls import resolve, web_link
from app.scrape.xhtml import xhtml_as_html

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_LINKS = 100
MAX_MATCHES = 20
MAX_TEXT = 500
_REFRESH = re.compile(
    r"""^[\t\n\f\r ]*[\d.]*[\t\n\f\r ]*[;,]?[\t\n\f\r ]*(?:url[\t\n\f\r ]*=[\t\n\f\r ]*)?"""
    r"""(?:"([^"]*)|'([^']*)|(.*))""",
    re.IGNORECASE | re.DOTALL,
)


def check_selector(selector: str) -> None:
    """Raise ValueError when lexbor cannot parse ``selector``."""
    try:
        _document(HTMLTree.parse("<p></p>")).query_selector_all(selector)
    except CSSParserException as exc:
        raise ValueError(f"not a valid CSS selector: {exc}") from exc


def media_type(content_type: str | None, body: bytes) -> str:
    """The response's media type; sniffed from the body when the header names none."""
    if content_type is None:
        return sniff(body)
    return content_type.split(";", 1)[0].strip().lower() or sniff(body)


def _document(tree: HTMLTree) -> DocumentNode:
    if tree.document is None:
        raise ScrapeError("invalid_content", "the page could not be parsed")
    return tree.document


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = collapse(text)
    return text[:MAX_TEXT] if text else None


def _links(text: str, base: str) -> list[str]:
    """Each distinct ``href`` is resolved once: menus repeat theirs on every page.

    The anchors are read from a second parse, with selectolax (lexbor too):
    resiliparse makes each node it returns at ~3 us, selectolax at ~0.3, and
    a documentation page has hundreds of anchors, so its parse (~0.1 ms) is
    the cheaper way (bench/scrape_cpu.py)."""
    links: dict[str, None] = {}
    hrefs = dict.fromkeys(
        anchor.attributes.get("href") or ""
        for anchor in LexborHTMLParser(text).css("a[href], area[href]")
    )
    for href in hrefs:
        link = web_link(base, href)
        if link is not None:
            links[link] = None
            if len(links) == MAX_LINKS:
                break
    return list(links)


def _refresh(document: DocumentNode, base: str) -> str | None:
    """The target of the first ``<meta http-equiv=refresh>`` that names one."""
    for meta in document.query_selector_all('meta[http-equiv="refresh" i][content]').values():
        found = _REFRESH.match(meta.getattr("content") or "")
        target = next((group for group in found.groups() if group), None) if found else None
        if target and target.strip():
            return resolve(base, target.strip())
    return None


def _base(document: DocumentNode, url: str) -> str:
    """The document's base URL: the first ``<base href>``, when it is a valid URL."""
    base = document.query_selector("base[href]")
    if base is None:
        return url
    return resolve(url, base.getattr("href") or "") or url


def read_html(
    body: bytes, content_type: str | None, media: str, url: str, selector: str | None
) -> dict[str, Any]:
    """Encoding, title, description, first h1, links, refresh, words, characters
    and selector matches."""
    decoded = decode_page(body, content_type)
    text = decoded.text
    if media == "application/xhtml+xml":
        text = xhtml_as_html(text)
    tree = HTMLTree.parse(text)
    document = _document(tree)
    description = document.query_selector('meta[name="description" i]')
    h1 = document.query_selector("h1")
    base = _base(document, url)
    matches = None
    if selector is not None:
        nodes = document.query_selector_all(selector).values()[:MAX_MATCHES]
        matches = [_clip(node.inner_text) or "" for node in nodes]
    words, chars = count_text(visible_text(tree))
    return {
        "encoding": decoded.encoding,
        "encoding_source": decoded.source,
        "title": _clip(tree.title),
        "description": _clip(description.getattr("content")) if description is not None else None,
        "h1": _clip(h1.inner_text) if h1 is not None else None,
        "links": _links(text, base),
        "refresh": _refresh(document, base),
        "words": words,
        "chars": chars,
        "matches": matches,
    }
