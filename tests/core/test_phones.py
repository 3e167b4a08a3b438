"""Phone numbers as residents write them, and addresses masked for logs."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.phones import InvalidPhoneNumber, mask, to_e164

URDU_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0300 1234567", "+923001234567"),
        ("+92 300 1234567", "+923001234567"),
        ("923001234567", "+923001234567"),
        ("03001234567", "+923001234567"),
        ("00923001234567", "+923001234567"),
        ("0300-1234567", "+923001234567"),
        ("(0300) 123 4567", "+923001234567"),
        ("  0300 1234567\n", "+923001234567"),
        ("۰۳۰۰۱۲۳۴۵۶۷", "+923001234567"),
        ("٠٣٠٠١٢٣٤٥٦٧", "+923001234567"),
        ("+۹۲ ۳۰۰ ۱۲۳۴۵۶۷", "+923001234567"),
        ("042 35761234", "+924235761234"),
        ("+1 201 555 0123", "+12015550123"),
    ],
    ids=[
        "national-spaced",
        "international",
        "country-code-without-plus",
        "national",
        "idd-prefix",
        "dash",
        "brackets",
        "surrounding-space",
        "urdu-digits",
        "arabic-indic-digits",
        "urdu-international",
        "lahore-landline",
        "foreign",
    ],
)
def test_to_e164_accepts(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0300 123456x", "contains 'x'"),
        ("1-800-FLOWERS", "contains 'F'"),
        ("+92 300 1234567 ext 5", "contains 'e'"),
        ("42", "too short"),
        ("0300123456", "no such number"),
        ("03001234567890123", "too long"),
        ("+999 1234567", "country code"),
        ("+", "does not look like a phone number"),
    ],
    ids=[
        "empty",
        "blank",
        "letter",
        "vanity",
        "extension",
        "too-short",
        "one-digit-missing",
        "too-long",
        "unknown-country",
        "plus-only",
    ],
)
def test_to_e164_rejects_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason) as caught:
        to_e164(raw)
    assert isinstance(caught.value, ValueError)
    assert caught.value.raw == raw
    assert repr(raw[:40]) in str(caught.value)


def test_to_e164_reads_numbers_of_the_given_region() -> None:
    assert to_e164("(201) 555-0123", region="US") == "+12015550123"
    with pytest.raises(InvalidPhoneNumber):
        to_e164("(201) 555-0123")  # not a Pakistani number


def test_a_repeated_number_gives_the_same_answer_each_time() -> None:
    # Answers are remembered per (text, region); refusals are not, and a region is its own key.
    for _ in range(3):
        assert to_e164("0300 1234567") == "+923001234567"
        assert to_e164("(201) 555-0123", region="US") == "+12015550123"
        with pytest.raises(InvalidPhoneNumber, match="no such number is in use in PK"):
            to_e164("(201) 555-0123", region="PK")


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("+923001234567", "+92300****567"),
        ("+12015550123", "+1201****123"),
        ("+8613912345678", "+86139****678"),
        ("+49301234", "+4****234"),
        ("123456789", "12****789"),
        ("1234567890", "12****890"),
        ("12345678", "1****678"),
        ("1234567", "****567"),
        ("-1001234567890", "-10****890"),
        ("123456", "****"),
        ("+123", "****"),
        ("", "****"),
        ("JAZZ", "****"),
        ("+92 300 1234567", "****"),
    ],
    ids=[
        "pakistan",
        "nanp",
        "china",
        "short-e164",
        "chat-id",
        "chat-id-10",
        "chat-id-8",
        "chat-id-7",
        "group-chat-id",
        "short",
        "short-e164-fully",
        "empty",
        "alphanumeric-sender",
        "not-normalised",
    ],
)
def test_mask(address: str, masked: str) -> None:
    assert mask(address) == masked


# --- properties -----------------------------------------------------------------------------

PK_MOBILE = st.builds(
    "".join,
    st.tuples(
        st.sampled_from(["300", "301", "315", "321", "333", "345", "355", "364", "370"]),
        st.text("0123456789", min_size=7, max_size=7),
    ),
)


def _written(national: str, prefix: str, separator: str, urdu: bool) -> str:
    """``national`` (10 digits, no 0) the way a person might write it."""
    text = f"{prefix}{national[:3]}{separator}{national[3:]}"
    return text.translate(URDU_DIGITS) if urdu else text


@given(
    national=PK_MOBILE,
    prefix=st.sampled_from(["0", "+92", "92", "0092", "+92 ", "+92-"]),
    separator=st.sampled_from(["", " ", "-", "  "]),
    urdu=st.booleans(),
)
def test_every_way_of_writing_a_mobile_number_gives_one_e164(
    national: str, prefix: str, separator: str, urdu: bool
) -> None:
    e164 = to_e164(_written(national, prefix, separator, urdu))
    assert e164 == f"+92{national}"
    assert to_e164(e164) == e164


@given(st.text(alphabet="0123456789+-() ۰۳۹x", max_size=20))
@example("+923001234567")
def test_to_e164_output_starts_with_plus_and_round_trips(raw: str) -> None:
    try:
        e164 = to_e164(raw)
    except InvalidPhoneNumber:
        return
    assert e164.startswith("+")
    assert e164[1:].isdigit()
    assert to_e164(e164) == e164


_SHOWN = "01234"  # digits allowed at the ends
_HIDDEN = "56789"  # digits only ever in the middle


@given(
    head=st.text(_SHOWN, min_size=3, max_size=3),
    middle=st.text(_HIDDEN, min_size=4, max_size=12),
    tail=st.text(_SHOWN, min_size=3, max_size=3),
)
def test_mask_never_shows_the_middle_of_a_number(head: str, middle: str, tail: str) -> None:
    e164 = mask(f"+92{head}{middle}{tail}")
    chat_id = mask(f"{head[:2]}{middle}{tail}")
    assert e164 == f"+92{head}****{tail}"
    assert chat_id == f"{head[:2]}****{tail}"
    for shown in (e164.removeprefix("+92"), chat_id):
        assert not set(shown) & set(_HIDDEN)


@given(
    st.one_of(
        st.text(), st.text("0123456789", max_size=20), st.from_regex(r"\+\d{0,16}", fullmatch=True)
    )
)
def test_mask_hides_at_least_four_digits_and_shows_only_ends(address: str) -> None:
    masked = mask(address)
    assert masked.count("****") == 1
    head, tail = masked.split("****")
    assert address.startswith(head)
    assert address.endswith(tail)
    shown = sum(ch.isdigit() for ch in head + tail)
    assert shown <= max(0, sum(ch.isdigit() for ch in address) - 4)
