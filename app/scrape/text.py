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
import string
import unicodedata
from collections import Counter

from icu4py.breakers import WordBreaker
from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree

UNRENDERED = ["[hidden]", "title", "svg desc", "template", "noscript", "head"]
_ASCII_SPACE = re.compile(r"[\t\n\f\r ]+")
_ALNUM = re.compile(r"[^\W_]")
# ``_`` joins letters into one word (ICU's ExtendNumLet), so it is not an edge.
_EDGE_PUNCTUATION = string.punctuation.replace("_", "")


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


def count_text(text: str) -> tuple[int, int]:
    """Words by ICU's rules (segments that hold a letter or a decimal digit),
    and visible characters (everything but white space).

    White space always ends a word, so each distinct token is counted once,
    however often the page repeats it. An ASCII token of letters and digits
    with punctuation only at its ends (``fox,`` or ``(see``) is always one
    word, and one of punctuation alone is none. The others (``std::io``,
    ``e.g.``, Japanese) go through one segmenter together, a line each: a
    line break always ends a word too (tests/test_scrape_text.py checks the
    count is ICU's)."""
    words = chars = 0
    segmented: list[str] = []
    repeats: list[int] = []
    for token, times in Counter(text.split()).items():
        chars += len(token) * times
        if token.isascii():
            core = token.strip(_EDGE_PUNCTUATION)
            if core.isalnum():
                words += times
                continue
            if not core:
                continue
        segmented.append(token)
        repeats.append(times)
    line = 0
    for segment in WordBreaker("\n".join(segmented), "ja"):
        if segment == "\n":
            line += 1
        elif _ALNUM.search(segment) and (segment.isascii() or any(map(is_word_char, segment))):
            words += repeats[line]
    return words, chars
