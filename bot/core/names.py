"""A person's name as the store keeps it, and the folded form it is searched by.

A name comes from a resident's Telegram profile (first and last name) or from a coordinator's
CSV. :func:`clean_name` makes either one line of printable text: no NUL or lone surrogate
(:func:`bot.core.untrusted.clean_text`), white space (tabs, new lines) collapsed to single
spaces, and no leading ``=``, ``+``, ``-`` or ``@``, which a spreadsheet opening an export
would run as a formula (a name never needs one). A cleaned name cleans to itself, so an
export imports as the same name.

:func:`fold_name` is the same folding the bot matches keywords with
(:func:`bot.core.normalize.normalize`: case, Unicode forms, Arabic letter forms typed on Urdu
keyboards, diacritics, punctuation): the store keeps it beside the name and the console looks
for a folded query inside it, so ``ali`` finds ``Ali Raza`` and ``علي`` finds ``علی`` on
SQLite and PostgreSQL alike (neither database's ``lower()`` folds more than ASCII everywhere).
"""

from __future__ import annotations

from bot.core.normalize import normalize
from bot.core.untrusted import clean_text

NAME_MAX = 128  # the length of subscribers.name
# The length of subscribers.name_folded. Folding can lengthen a name (NFKC spells a ligature
# such as U+FDFA out in 18 letters): cut, it stays far below what a PostgreSQL index entry
# holds (about 2,700 bytes), so no name a resident picks can fail their message.
FOLDED_MAX = 2 * NAME_MAX
# What a spreadsheet reads as the start of a formula (CSV injection), with white space.
_NOT_FIRST = "=+-@ "


def clean_name(*parts: str | None, limit: int | None = None) -> str | None:
    """``parts`` (a first and a last name, or one whole name) joined by a space and cleaned;
    None when nothing is left. Cut to ``limit`` characters when given (a name from Telegram:
    first and last may reach 129); a CSV's name too long is the coordinator's to fix."""
    text = " ".join(clean_text(p) for p in parts if p)
    text = " ".join(text.split()).lstrip(_NOT_FIRST)
    if limit is not None:
        text = text[:limit].rstrip()
    return text or None


def fold_name(name: str) -> str:
    """``name`` folded for searching (at most :data:`FOLDED_MAX` characters); a query is
    folded the same way."""
    return normalize(name)[:FOLDED_MAX]
