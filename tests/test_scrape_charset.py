"""The encoding decision on its own: the WHATWG cases the corpus pages do not reach."""

from __future__ import annotations

import pytest

from app.scrape.charset import decode_page, prescan
from app.scrape.sniff import sniff


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b'<meta charset="utf-16le">', "utf-8"),  # a meta cannot switch to UTF-16
        (b'<meta charset="x-user-defined">', "windows-1252"),
        (b'<!-- <meta charset="euc-jp"> --><meta charset=shift_jis>', "shift_jis"),
        (b'<meta charset="bogus"><meta charset="koi8-r">', "koi8-r"),
        (b"<meta http-equiv=content-type content='text/html; charset=\"gbk\"'>", "gbk"),
        (b" " * 1024 + b'<meta charset="euc-jp">', None),  # past the first 1,024 bytes
    ],
)
def test_the_meta_prescan(head: bytes, encoding: str | None) -> None:
    found = prescan(head)
    assert (found.name if found else None) == encoding


def test_a_replacement_label_decodes_to_one_replacement_character() -> None:
    """ISO-2022-KR is a security hazard on the web: the standard decodes it to U+FFFD."""
    decoded = decode_page(b"<p>\x1b$)C secret", "text/html; charset=iso-2022-kr")
    assert (decoded.text, decoded.encoding, decoded.source) == ("\ufffd", "replacement", "header")


def test_a_utf16_big_endian_bom() -> None:
    decoded = decode_page(b"\xfe\xff" + "<p>é</p>".encode("utf-16-be"), "text/html")
    assert (decoded.text, decoded.encoding, decoded.source) == ("<p>é</p>", "utf-16be", "bom")


@pytest.mark.parametrize(
    ("body", "media"),
    [
        (b"%PDF-1.7 ...", "application/pdf"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\xef\xbb\xbfplain text", "text/plain"),
        (b"\n\t<!-- a comment -->", "text/html"),
        (b"<Body>", "text/html"),
        (b"<bodyx>", "text/plain"),
    ],
)
def test_sniffing(body: bytes, media: str) -> None:
    assert sniff(body) == media
