"""Text as a browser lays it out, and words as ICU segments them.

resiliparse's plain-text extraction (lexbor's tree) joins inline elements
(``Py<em>thon</em>`` is one word), breaks at block elements and ``<br>``, and
leaves out script, style, template and noscript; we also skip ``hidden``
elements and every ``<title>`` (an SVG's, or one misplaced in the body),
which browsers do not render. Measured against the
alternatives: html-text split ``Py<em>thon</em>`` and kept hidden, template
and noscript text; inscriptis kept them too (see the scrape README section).

Words are counted with ICU's word break rules (icu4py), as Chromium's
``Intl.Segmenter`` does: a segment is a word when it holds a letter or a
decimal digit, so Japanese, which has no spaces, gets its real word count.
"""

from __future__ import annotations

import re
import unicodedata

from icu4py.breakers import WordBreaker
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

UNRENDERED = ["[hidden]", "title", "svg desc", "template", "noscript", "head"]
_ASCII_SPACE = re.compile(r"[\t\n\f\r ]+")
_ALNUM = re.compile(r"[^\W_]")


def visible_text(tree: HTMLTree) -> str:
    """The body's text, laid out in lines as a browser renders it."""
    return str(
        extract_plain_text(
            tree,
            preserve_formatting=True,
            list_bullets=False,
            alt_texts=False,
            skip_elements=UNRENDERED,
        )
    )


def collapse(text: str) -> str:
    """ASCII whitespace runs made one space, ends trimmed; no-break spaces kept."""
    return _ASCII_SPACE.sub(" ", text).strip(" ")


def is_word_char(char: str) -> bool:
    """Letters and decimal digits, what makes ICU call a segment a word
    (``①`` and ``㈱`` are symbols: not words, as in Chromium)."""
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def count_words(text: str) -> int:
    """Words by ICU's rules: segments that hold a letter or a decimal digit.

    White space always ends a word and a token of ASCII letters and digits is
    always one, so only the other tokens go through the segmenter (a third
    faster on English text; tests/test_scrape_text.py checks the count is ICU's)."""
    tokens = text.split()
    plain = [token for token in tokens if token.isascii() and token.isalnum()]
    others = " ".join([token for token in tokens if not (token.isascii() and token.isalnum())])
    return len(plain) + sum(
        1
        for segment in WordBreaker(others, "ja")
        if _ALNUM.search(segment) and (segment.isascii() or any(map(is_word_char, segment)))
    )


def count_chars(text: str) -> int:
    """Visible characters: everything but white space."""
    return len("".join(text.split()))
