"""Words and text as ICU and a browser count them, checked on random text."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from icu4py.breakers import WordBreaker

from app.scrape.text import collapse, count_text, is_word_char

ALPHABET = (
    string.ascii_letters[:5]
    + "XY"
    + string.digits[:3]
    + string.punctuation
    + ("  \n\t\x0b\x1c\xa0\u3000\xad\u200d①㈱é日本語のカー。、")
)


def icu_words(text: str) -> int:
    return sum(1 for segment in WordBreaker(text, "ja") if any(map(is_word_char, segment)))


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_the_word_count_is_icus(text: str) -> None:
    """count_text skips the segmenter for plain ASCII tokens and counts each
    distinct token once: the count stays ICU's."""
    assert count_text(text)[0] == icu_words(text)


def test_repeated_tokens_count_every_time() -> None:
    text = "the fox, the (fox) 日本語 日本語 ... e.g. e.g."
    assert count_text(text) == (icu_words(text), len(text.replace(" ", ""))) == (8, 32)
    # Tokens the segmenter reads together, a line each, each weighed by its repeats.
    text = "std::io::Read 名前はまだ無い。 std::io::Read e.g. 吾輩は猫 std::io::Read"
    assert count_text(text)[0] == icu_words(text) == 3 * 3 + 8


def test_japanese_is_segmented_into_words() -> None:
    text = "吾輩は猫である。名前はまだ無い。"
    assert count_text(text)[0] == icu_words(text) >= 8


def test_symbols_are_not_words() -> None:
    assert count_text("① ㈱ — ... 3.14 e.g. don't")[0] == 3


def test_collapse_keeps_no_break_spaces() -> None:
    assert collapse("  Fish\xa0&\xa0chips \n\t again ") == "Fish\xa0&\xa0chips again"


def test_chars_are_everything_but_white_space() -> None:
    assert count_text("a b\xa0c\u3000日本\n")[1] == 5
