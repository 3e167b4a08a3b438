"""Phone numbers: what residents type -> E.164, and addresses masked for logs.

``to_e164`` accepts the ways people in Pakistan write a mobile number (``0300 1234567``,
``+92 300 1234567``, ``923001234567``, ``0092…``, Urdu digits ``۰۳۰۰…``) and returns the one
canonical form the store keys contacts on. It raises :class:`InvalidPhoneNumber` for anything
that is not a real, dialable number.

``mask`` turns an address (E.164 number or Telegram chat id) into something a log line may
carry: ``+923001234567`` -> ``+92300****567``, ``123456789`` -> ``12****789``. It never raises
and always hides at least four digits.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

# What a written phone number may contain besides digits: the plus, spaces and the usual
# separators. Anything else (letters in particular: phonenumbers would read "1-800-FLOWERS"
# as a vanity number) is rejected before parsing.
_ALLOWED = re.compile(r"[0-9+\s\-().]*")

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is missing or unknown",
    NumberParseException.NOT_A_NUMBER: "it does not look like a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "its country code is unknown",
    ValidationResult.TOO_SHORT: "it is too short",
    ValidationResult.TOO_LONG: "it is too long",
    ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "it lacks an area code",
}

_SHOWN_IN_ERRORS = 40  # characters of the input an error message repeats

_STARS = "****"
_HIDDEN_AT_LEAST = 4
_TAIL = 3
_CHAT_ID_HEAD = 2
_E164_HEAD_AFTER_COUNTRY = 3


class InvalidPhoneNumber(ValueError):
    """``raw`` is not a valid phone number; ``reason`` says why, in words."""

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        shown = raw if len(raw) <= _SHOWN_IN_ERRORS else raw[:_SHOWN_IN_ERRORS] + "…"
        super().__init__(f"not a valid phone number: {shown!r}: {reason}")


def to_e164(raw: str, region: str = "PK") -> str:
    """Return ``raw`` as E.164 (``+923001234567``).

    Numbers without a country code are read as numbers of ``region`` (ISO 3166 alpha-2).
    Raises :class:`InvalidPhoneNumber` when ``raw`` is empty, contains letters or other
    symbols, cannot be parsed, has an impossible length or is not a number in use.
    """
    return _to_e164(raw, region)


# The same people text again and again, and parsing a number costs more than the rest of
# reading their message; the answer for a (raw, region) never changes. Errors are not kept.
@functools.lru_cache(maxsize=4096)
def _to_e164(raw: str, region: str) -> str:
    text = fold_digits(raw).strip()
    if not text:
        raise InvalidPhoneNumber(raw, "it is empty")
    if _ALLOWED.fullmatch(text) is None:
        bad = next(ch for ch in text if _ALLOWED.fullmatch(ch) is None)
        raise InvalidPhoneNumber(raw, f"it contains {bad!r}, which is not a digit, space or +-().")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "it cannot be read as a phone number")
        raise InvalidPhoneNumber(raw, reason) from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        reason = _POSSIBLE_REASONS.get(possible, "it is not a possible number")
        raise InvalidPhoneNumber(raw, reason)
    if not phonenumbers.is_valid_number(number):
        code = number.country_code or 0
        where = phonenumbers.region_code_for_country_code(code)
        raise InvalidPhoneNumber(raw, f"no such number is in use in {where} (+{code})")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask(address: str) -> str:
    """Return ``address`` with its middle digits replaced by ``****``, for logs.

    E.164 keeps ``+``, the country code and three more digits in front and three at the end;
    a chat id keeps two in front (after a ``-`` for groups) and three at the end. Whatever is
    too short to hide at least four digits, or is not a number at all, becomes ``****``.
    """
    if address.startswith("+") and address[1:].isdecimal() and address[1:].isascii():
        digits = address[1:]
        return _mask_digits("+", digits, _country_code_length(digits) + _E164_HEAD_AFTER_COUNTRY)
    sign, digits = ("-", address[1:]) if address.startswith("-") else ("", address)
    if digits.isdecimal() and digits.isascii():
        return _mask_digits(sign, digits, _CHAT_ID_HEAD)
    return _STARS


def _mask_digits(prefix: str, digits: str, head: int) -> str:
    if len(digits) < _TAIL + _HIDDEN_AT_LEAST:
        return _STARS
    head = min(head, len(digits) - _TAIL - _HIDDEN_AT_LEAST)
    return f"{prefix}{digits[:head]}{_STARS}{digits[-_TAIL:]}"


def _country_code_length(digits: str) -> int:
    """Length of the country calling code ``digits`` starts with (1 to 3; 1 if unknown)."""
    for length in (1, 2, 3):
        if phonenumbers.region_code_for_country_code(int(digits[:length] or "0")) != "ZZ":
            return length
    return 1


def fold_digits(text: str) -> str:
    """Replace every Unicode decimal digit (Urdu, Arabic-Indic, full-width …) by ASCII."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
