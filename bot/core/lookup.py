"""What a coordinator types to find a subscriber, read as what the store can look up.

A number is read however a resident writes it (``0300 1234567``, ``+92 300 1234567``,
``923001234567``, ``0092…``, Urdu digits): a whole number becomes its E.164 form
(:func:`bot.core.phones.to_e164`), a part of one the E.164 prefix it starts (``0300123`` ->
``+92300123``). Bare digits may also be a Telegram chat id (or its start) or a subscriber's id
(``#42`` is only that). Anything else is a word: a city's id or name, or a part of a
person's name (folded as names are kept: :func:`bot.core.names.fold_name`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from bot.core.names import fold_name
from bot.core.phones import InvalidPhoneNumber, fold_digits, to_e164

# Separators people put inside numbers, dropped before reading the digits.
_SEPARATORS = re.compile(r"[\s\-().]")
# A prefix shorter than this (after the country code) would match most of the town.
_MIN_PREFIX_DIGITS = 3
_MAX_WORD = 64
_MAX_ID_DIGITS = 18  # fits a 64-bit id
_SUBSCRIBER_ID = re.compile(r"#\s*([0-9]{1,18})")


@dataclass(frozen=True, slots=True)
class Lookup:
    """What to look for; empty fields are not looked at, and an empty lookup lists everyone.

    ``phone_prefix`` is an E.164 prefix (a whole number is its own prefix); ``chat_prefix``
    the start of a Telegram chat id; ``word`` a lower-cased word to match cities with;
    ``name`` the same word folded, to look for inside people's folded names.
    """

    phone_prefix: str | None = None
    chat_prefix: str | None = None
    subscriber_id: int | None = None
    word: str | None = None
    name: str | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.phone_prefix or self.chat_prefix or self.subscriber_id or self.word or self.name
        )


def read_lookup(raw: str, region: str = "PK") -> Lookup:
    """``raw`` as a :class:`Lookup` (never raises: what cannot be a number is a word)."""
    text = fold_digits(raw).strip()
    if not text:
        return Lookup()
    by_id = _SUBSCRIBER_ID.fullmatch(text)
    if by_id:
        return Lookup(subscriber_id=int(by_id.group(1)))
    compact = _SEPARATORS.sub("", text)
    digits = compact.removeprefix("+")
    if digits.isdecimal() and digits.isascii():
        # A chat id or a subscriber's id never starts with 0 or +.
        plain = not compact.startswith(("+", "0"))
        return Lookup(
            phone_prefix=phone_prefix(compact, region),
            chat_prefix=digits if plain and len(digits) >= _MIN_PREFIX_DIGITS else None,
            subscriber_id=int(digits) if plain and len(digits) <= _MAX_ID_DIGITS else None,
        )
    word = text[:_MAX_WORD]
    return Lookup(word=word.lower(), name=fold_name(word) or None)


def phone_prefix(compact: str, region: str = "PK") -> str | None:
    """The E.164 prefix of a number written in full or in part (digits and an optional
    leading ``+``, separators removed), or None when it cannot be the start of one."""
    try:
        return to_e164(compact, region)
    except InvalidPhoneNumber:
        pass
    country = str(phonenumbers.country_code_for_region(region))
    if compact.startswith("+"):
        national = compact[1:]
        prefix = compact
    elif compact.startswith("00"):
        national = compact[2:]
        prefix = "+" + national
    elif compact.startswith("0"):
        national = compact[1:]
        prefix = f"+{country}{national}"
        return prefix if len(national) >= _MIN_PREFIX_DIGITS else None
    elif compact.startswith(country):
        national = compact[len(country) :]
        prefix = "+" + compact
        return prefix if len(national) >= _MIN_PREFIX_DIGITS else None
    else:
        return None
    # Written with its country code: at least a few digits after it.
    return prefix if len(national) >= len(country) + _MIN_PREFIX_DIGITS else None
