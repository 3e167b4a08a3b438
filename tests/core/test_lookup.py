"""Reading what a coordinator types in the subscribers' search."""

from __future__ import annotations

import pytest

from bot.core.lookup import Lookup, phone_prefix, read_lookup


@pytest.mark.parametrize(
    "typed",
    ["0300 1234567", "03001234567", "+92 300 1234567", "923001234567", "0092 300 1234567",
     "(0300) 123-4567", "۰۳۰۰۱۲۳۴۵۶۷"],
)  # fmt: skip
def test_a_whole_number_however_written_is_its_e164(typed: str) -> None:
    assert read_lookup(typed).phone_prefix == "+923001234567"


@pytest.mark.parametrize(
    ("typed", "prefix"),
    [("0300", "+92300"), ("0300 12", "+9230012"), ("+92300", "+92300"), ("92300", "+92300"),
     ("0092300", "+92300"), ("+44 207", "+44207")],
)  # fmt: skip
def test_the_start_of_a_number_is_its_e164_prefix(typed: str, prefix: str) -> None:
    assert read_lookup(typed).phone_prefix == prefix


@pytest.mark.parametrize("typed", ["03", "030", "+92", "+923", "9230", "12345"])
def test_too_little_of_a_number_is_no_prefix(typed: str) -> None:
    """Fewer than three digits after the country code or the 0 would match most of the town
    (a bare run of digits that starts neither way is no number at all)."""
    assert phone_prefix(typed.replace(" ", "")) is None


def test_bare_digits_may_also_be_a_chat_id_or_a_subscriber_id() -> None:
    assert read_lookup("5000000777") == Lookup(
        phone_prefix=None, chat_prefix="5000000777", subscriber_id=5000000777
    )
    # A leading 0 or + is a phone number's, never a chat's or an id's.
    assert read_lookup("0300 1234567").chat_prefix is None
    assert read_lookup("0300 1234567").subscriber_id is None
    assert read_lookup("+923001234567").chat_prefix is None
    # Too short to be worth a prefix search on chat ids, still an id.
    assert read_lookup("42") == Lookup(subscriber_id=42)


def test_a_hash_and_digits_is_a_subscriber_id_only() -> None:
    assert read_lookup("#42") == Lookup(subscriber_id=42)
    assert read_lookup("# 7") == Lookup(subscriber_id=7)


def test_anything_else_is_a_word_and_nothing_is_empty() -> None:
    assert read_lookup("  Multan ") == Lookup(word="multan", name="multan")
    assert read_lookup("ڈھنوٹ") == Lookup(word="ڈھنوٹ", name="ڈھنوٹ")
    assert read_lookup("0300-abc").word == "0300-abc"
    assert read_lookup("x" * 500).word == "x" * 64
    assert read_lookup("   ").empty and not read_lookup("#1").empty


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Ali", "ali"),
        ("  ALI   Raza ", "ali raza"),
        ("O'Brien", "o brien"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower: ß is ss
        ("علي", "علی"),  # an Arabic yeh typed: the Urdu one it stands for
        ("فاطِمہ", "فاطمہ"),  # a zer the name on file may not have
        ("!!!", None),  # nothing left to look for in a name
    ],
)
def test_a_word_is_also_looked_for_in_names_folded_as_names_are(
    typed: str, name: str | None
) -> None:
    assert read_lookup(typed).name == name
    assert not read_lookup(typed).empty
    # Digits are a number, a chat id or an id: never a part of a name.
    assert read_lookup("0300 123").name is None and read_lookup("#4").name is None
