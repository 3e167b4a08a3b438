"""A person's name as it is kept (cleaned, one line, safe in a spreadsheet) and as it is
searched (folded)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.names import FOLDED_MAX, NAME_MAX, clean_name, fold_name


@pytest.mark.parametrize(
    ("parts", "kept"),
    [
        (("Amina",), "Amina"),
        (("Amina", "Bibi"), "Amina Bibi"),  # Telegram's first and last name
        (("Amina", None), "Amina"),  # no last name
        (("  Ali \n\t Raza  ",), "Ali Raza"),  # one line, single spaces
        (("عائشہ", "قریشی"), "عائشہ قریشی"),
        (("Ali\x00",), "Ali"),  # PostgreSQL refuses a NUL
        (("Ali\ud800",), "Ali\ufffd"),  # neither database stores a lone surrogate
        (("=HYPERLINK(1)",), "HYPERLINK(1)"),  # a spreadsheet would run it
        (("@ali", "+92"), "ali +92"),
        (("- =",), None),
        (("", None), None),
        (("   ",), None),
    ],
)
def test_a_name_is_kept_cleaned(parts: tuple[str | None, ...], kept: str | None) -> None:
    assert clean_name(*parts) == kept


def test_a_name_from_telegram_is_cut_to_what_is_kept() -> None:
    first, last = "A" * 64, "B" * 64  # Telegram's longest: 129 with the space
    cut = clean_name(first, last, limit=NAME_MAX)
    assert cut is not None and len(cut) == NAME_MAX and cut.startswith("A" * 64 + " B")
    assert clean_name("A" * NAME_MAX + " B", limit=NAME_MAX) == "A" * NAME_MAX
    assert clean_name("A" * 64 + " " + "B" * 64) == first + " " + last  # not cut unless asked


@given(st.text())
def test_a_cleaned_name_cleans_to_itself(text: str) -> None:
    """What an export writes imports as the same name."""
    kept = clean_name(text)
    if kept is not None:
        assert clean_name(kept) == kept
        assert not kept.startswith(("=", "+", "-", "@", " ")) and "\n" not in kept


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Ali Raza", "ali raza"),
        ("O'Brien-Khan", "o brien khan"),
        ("عائشہ", "عائشہ"),
        ("علي", "علی"),  # Arabic yeh, as some keyboards type it
        ("فاطِمہ", "فاطمہ"),  # a diacritic
        ("ＡＬＩ", "ali"),  # full-width letters
    ],
)
def test_a_name_is_folded_for_search(name: str, folded: str) -> None:
    assert fold_name(name) == folded


def test_a_folded_name_is_bounded_however_folding_lengthens_it() -> None:
    name = "\ufdfa" * NAME_MAX  # a ligature NFKC spells out in 18 letters
    assert len(fold_name(name)) == FOLDED_MAX
