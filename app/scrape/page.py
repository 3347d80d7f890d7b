"""What a fetched page says, read with a real HTML parser (lexbor, via selectolax)."""

from __future__ import annotations

import codecs
from typing import Any

import httpx
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
MAX_LINKS = 100
MAX_MATCHES = 20
MAX_TEXT = 500
_INVISIBLE = ["script", "style", "noscript", "template"]


def check_selector(selector: str) -> None:
    """Raise ValueError when lexbor cannot parse ``selector``."""
    try:
        LexborHTMLParser("<p></p>").css(selector)
    except SelectolaxError as exc:
        raise ValueError(f"not a valid CSS selector: {exc}") from exc


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text[:MAX_TEXT] if text else None


def _links(tree: LexborHTMLParser, base: httpx.URL) -> list[str]:
    links: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        try:
            target = base.join(href).copy_with(fragment=None)
        except (httpx.InvalidURL, ValueError):
            continue
        if target.scheme in ("http", "https"):
            links[str(target)] = None
            if len(links) == MAX_LINKS:
                break
    return list(links)


def read_html(
    body: bytes, encoding: str | None, url: httpx.URL, selector: str | None
) -> dict[str, Any]:
    """Title, description, first h1, absolute links, word count and selector matches."""
    tree = LexborHTMLParser(body.decode(encoding or "utf-8", errors="replace"))
    title = tree.css_first("title")
    description = tree.css_first('meta[name="description" i]')
    h1 = tree.css_first("h1")
    base = tree.css_first("base[href]")
    base_url = url.join(base.attributes.get("href") or "") if base is not None else url
    matches = None
    if selector is not None:
        nodes = tree.css(selector)[:MAX_MATCHES]
        matches = [_clip(node.text(separator=" ")) or "" for node in nodes]
    links = _links(tree, base_url)
    tree.strip_tags(_INVISIBLE)
    text = tree.body.text(separator=" ") if tree.body is not None else ""
    return {
        "title": _clip(title.text()) if title is not None else None,
        "description": _clip(description.attributes.get("content"))
        if description is not None
        else None,
        "h1": _clip(h1.text(separator=" ")) if h1 is not None else None,
        "links": links,
        "words": len(text.split()),
        "matches": matches,
    }


def charset_of(content_type: str | None) -> str | None:
    """The ``charset`` a Content-Type names, when Python knows that codec."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
            try:
                codecs.lookup(charset)
            except LookupError:
                return None
            return charset
    return None
