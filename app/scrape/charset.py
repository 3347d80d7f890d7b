"""Which encoding a page is in, decided as a browser decides it.

The WHATWG Encoding Standard's order: a byte order mark, then the
Content-Type's charset, then ``<meta>`` in the first 1,024 bytes, then a
detector, then UTF-8. Labels go through webencodings' copy of the WHATWG label
table, so ``Shift_JIS`` decodes as windows-31j (cp932) and ``ISO-8859-1`` or
``us-ascii`` as windows-1252; a label that is not in the table (``rot13``,
``base64``, ``zlib``) is ignored, never handed to Python's codecs. The
detector is uchardet (through resiliparse, our HTML parser): on the suite's
Japanese corpus it was right on every page and on short titles where
chardet, charset-normalizer and cchardet were not (see bench/RESULTS.md).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Literal

import webencodings
from resiliparse.parse.encoding import detect_encoding

Source = Literal["bom", "header", "meta", "detected", "default"]
PRESCAN_BYTES = 1024
_BOMS = (
    (b"\xef\xbb\xbf", webencodings.UTF8),
    (b"\xfe\xff", webencodings.lookup("utf-16be")),
    (b"\xff\xfe", webencodings.lookup("utf-16le")),
)
_META = re.compile(rb"<meta[\s/]([^>]*)", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.DOTALL)
_ATTRIBUTE = re.compile(rb"""([^\s/>=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
_CHARSET_IN_CONTENT = re.compile(rb"""charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))""", re.I)


_BY_CODEC = {
    encoding.codec_info.name: encoding
    for encoding in map(webencodings.lookup, sorted(set(webencodings.LABELS.values())))
    if encoding is not None and encoding.name != "replacement"
}
"""The WHATWG encoding that decodes with each Python codec."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    source: Source


def _lookup(label: str | bytes | None) -> webencodings.Encoding | None:
    if isinstance(label, bytes):
        label = label.decode("ascii", errors="replace")
    return webencodings.lookup(label) if label else None


def content_type_charset(content_type: str | None) -> str | None:
    """The raw ``charset`` parameter of a Content-Type, if any."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _unquote(value: bytes) -> bytes:
    if len(value) >= 2 and value[:1] in (b'"', b"'") and value[-1:] == value[:1]:
        return value[1:-1]
    return value


def prescan(head: bytes) -> webencodings.Encoding | None:
    """The encoding a ``<meta>`` in ``head`` declares (WHATWG's prescan, by regex:
    comments skipped, the first meta with a known charset wins)."""
    head = _COMMENT.sub(b"", head[:PRESCAN_BYTES])
    for match in _META.finditer(head):
        attributes = {
            name.lower(): _unquote(value) for name, value in _ATTRIBUTE.findall(match.group(1))
        }
        label: bytes | None = attributes.get(b"charset")
        if label is None and attributes.get(b"http-equiv", b"").lower() == b"content-type":
            found = _CHARSET_IN_CONTENT.search(attributes.get(b"content", b""))
            label = next((group for group in found.groups() if group), None) if found else None
        encoding = _lookup(label)
        if encoding is None:
            continue
        if encoding.name in ("utf-16be", "utf-16le"):
            return webencodings.UTF8
        if encoding.name == "x-user-defined":
            return webencodings.lookup("windows-1252")
        return encoding
    return None


def _detected(body: bytes) -> webencodings.Encoding | None:
    """uchardet's guess, for bytes that are not plain ASCII (ISO-2022-JP is 7-bit
    but escapes); its names are Python's (``iso2022_jp``), mapped back to WHATWG's."""
    if body.isascii() and b"\x1b" not in body:
        return None
    name = detect_encoding(body, max_len=64 * 1024)
    if not name:
        return None
    try:
        return _lookup(name) or _BY_CODEC.get(codecs.lookup(name).name)
    except LookupError:
        return None


def _decode(body: bytes, encoding: webencodings.Encoding) -> str:
    if encoding.name == "replacement":  # ISO-2022-KR and friends: one U+FFFD, by the standard
        return "\ufffd" if body else ""
    text: str = encoding.codec_info.decode(body, "replace")[0]
    return text


def decode_page(body: bytes, content_type: str | None) -> Decoded:
    """The page's text, the encoding used (its WHATWG name) and where it came from."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(_decode(body[len(bom) :], encoding), encoding.name, "bom")
    choices: list[tuple[Source, webencodings.Encoding | None]] = [
        ("header", _lookup(content_type_charset(content_type)))
    ]
    if choices[-1][1] is None:
        choices.append(("meta", prescan(body)))
    if choices[-1][1] is None:
        choices.append(("detected", _detected(body)))
    source, encoding = choices[-1]
    if encoding is None:
        source, encoding = "default", webencodings.UTF8
    return Decoded(_decode(body, encoding), encoding.name, source)
