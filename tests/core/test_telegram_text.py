"""Cutting long texts for Telegram and laying out inline buttons: tables and properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.decision import Button
from bot.core.telegram_text import (
    BUTTONS_PER_ROW,
    CALLBACK_DATA_LIMIT,
    TEXT_LIMIT,
    layout_buttons,
    split_text,
)

URDU_WORD = "نوکری"
ZER = "\u0650"  # an Urdu diacritic (combining mark)
ZWNJ = "\u200c"

CASES = [
    ("fits", "Dhanote IT Park", 20, ["Dhanote IT Park"]),
    ("exactly the limit", "a" * 10, 10, ["a" * 10]),
    ("surrounding whitespace trimmed", "  hello \n", 10, ["hello"]),
    ("empty", "", 10, []),
    ("only whitespace", " \n\n\t ", 10, []),
    ("paragraph before line", "aaaa bbbb\n\ncc\ndd", 13, ["aaaa bbbb", "cc\ndd"]),
    ("blank line with spaces", "aaaaaa\n  \nbbbbbb", 10, ["aaaaaa", "bbbbbb"]),
    ("line before word", "aaa bbb\nccc ddd", 10, ["aaa bbb", "ccc ddd"]),
    ("word when no line break", "aaa bbb ccc ddd", 10, ["aaa bbb", "ccc ddd"]),
    ("separator right at the limit", "aaaaaaaaaa bb", 10, ["aaaaaaaaaa", "bb"]),
    ("hard cut inside a long word", "abcdefghijkl", 5, ["abcde", "fghij", "kl"]),
    # A paragraph break near the start would leave a tiny part; a later line break is better.
    ("tiny paragraph skipped", "ab\n\ncdefgh\nijk", 10, ["ab\n\ncdefgh", "ijk"]),
    (
        "late word beats early paragraph",
        "ab\n\ncd efghijklmnop",
        10,
        ["ab\n\ncd", "efghijklmn", "op"],
    ),
    # No break in the back half at all: the latest break of any kind beats a cut in a word.
    ("early break beats a hard cut", "ab\n\ncdefghijklm", 10, ["ab", "cdefghijkl", "m"]),
    (
        "urdu words",
        f"{URDU_WORD} {URDU_WORD} {URDU_WORD}",
        11,
        [f"{URDU_WORD} {URDU_WORD}", URDU_WORD],
    ),
    ("diacritic stays with its letter", "ab" + "د" + ZER + "cd", 3, ["ab", "د" + ZER + "c", "d"]),
    ("zwnj keeps its neighbours", "ab" + ZWNJ + "cd", 3, ["a", "b" + ZWNJ + "c", "d"]),
    ("emoji skin tone kept", "ab👍🏽cd", 3, ["ab", "👍🏽c", "d"]),
    ("many parts", "aaa\n\nbbb\n\nccc", 4, ["aaa", "bbb", "ccc"]),
]


@pytest.mark.parametrize(
    ("text", "limit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    assert split_text(text, limit) == expected


def test_a_long_announcement_splits_at_its_paragraphs() -> None:
    paragraph = "Dhanote IT Park offers free courses in web development. " * 20  # 1120 chars
    paragraphs = [f"{n}. {paragraph.strip()}" for n in range(5)]
    text = "\n\n".join(paragraphs)

    parts = split_text(text)

    assert len(text) > TEXT_LIMIT
    assert parts == ["\n\n".join(paragraphs[:3]), "\n\n".join(paragraphs[3:])]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split_text("hello", 0)


TEXTS = st.text(
    alphabet=st.sampled_from([*"ab cd\n\t", "د", ZER, ZWNJ, "\u200d", "😀", "🏽"]),
    max_size=300,
)


@given(text=TEXTS, limit=st.integers(min_value=1, max_value=40))
def test_split_text_properties(text: str, limit: int) -> None:
    parts = split_text(text, limit)

    for part in parts:
        assert 1 <= len(part) <= limit
        assert part == part.strip()
    # The parts are the text in order; between them only whitespace was dropped.
    pos = 0
    for part in parts:
        found = text.find(part, pos)
        assert found >= 0
        assert text[pos:found].strip() == ""
        pos = found + len(part)
    assert text[pos:].strip() == ""
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
    if len(text.strip()) <= limit:
        assert parts == ([text.strip()] if text.strip() else [])


@given(text=st.text(max_size=400), limit=st.integers(min_value=1, max_value=60))
def test_split_text_any_unicode(text: str, limit: int) -> None:
    parts = split_text(text, limit)

    assert all(1 <= len(part) <= limit for part in parts)
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)


def _buttons(n: int) -> tuple[Button, ...]:
    return tuple(Button(f"FAQ {i}", f"faq:{i}") for i in range(n))


def test_rows_longer_than_eight_are_wrapped() -> None:
    laid = layout_buttons((_buttons(BUTTONS_PER_ROW + 1), (), _buttons(2)))

    assert [len(row) for row in laid] == [8, 1, 2]
    assert laid[0] + laid[1] == _buttons(9)


def test_callback_data_at_the_limit_is_fine() -> None:
    ascii_data = "x" * CALLBACK_DATA_LIMIT
    urdu_data = "ب" * 32  # two bytes each: 64 bytes

    assert layout_buttons(((Button("a", ascii_data), Button("b", urdu_data)),))


BAD_BUTTONS = [
    ("65 bytes", Button("Jobs", "x" * 65), "1-64 bytes"),
    ("33 urdu letters are 66 bytes", Button("نوکری", "ب" * 33), "66 bytes"),
    ("empty data", Button("Jobs", ""), "0 bytes"),
    ("empty label", Button(" ", "jobs"), "empty label"),
]


@pytest.mark.parametrize(
    ("button", "message"), [c[1:] for c in BAD_BUTTONS], ids=[c[0] for c in BAD_BUTTONS]
)
def test_buttons_telegram_would_refuse_are_our_bug(button: Button, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layout_buttons(((Button("ok", "ok"), button),))
