"""Telegram's limits on what a bot sends, and the pure helpers that keep a reply within them.

* A message holds 1–4096 characters after entity parsing (so HTML escapes such as ``&amp;``
  count once): :func:`split_text` cuts longer texts, at paragraph breaks where it can, then at
  line breaks, then between words, and only then inside a word.
* An inline button's ``callback_data`` is 1–64 bytes of UTF-8 and its label may not be empty;
  a row holds at most 8 buttons: :func:`layout_buttons` checks the one and re-flows the other.

Telegram trims whitespace around a message, so parts never begin or end with whitespace; the
whitespace at a cut is dropped.
"""

from __future__ import annotations

import re
import unicodedata

from bot.core.decision import Button

TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
BUTTONS_PER_ROW = 8

# A cut is good when the part before it is at least this share of the limit; otherwise the
# latest break of any kind wins, so a paragraph break near the start does not leave a tiny part.
_GOOD_FILL = 0.5
# Break points, best first: a blank line (paragraph), a line break, any other whitespace.
_BREAKS = (re.compile(r"\n[^\S\n]*\n"), re.compile(r"\n"), re.compile(r"\s"))
# How far a hard cut may step back to avoid separating a character from its combining marks
# (Urdu diacritics), a joiner or an emoji modifier.
_MAX_STEP_BACK = 16
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ is common in Urdu; ZWJ glues emoji sequences


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` cut into parts of at most ``limit`` characters, in order.

    Each part is a stretch of ``text`` with the whitespace at its ends removed; between two
    parts only whitespace is dropped (nothing at all at a cut inside a word). Returns ``[]``
    for a text that is empty or only whitespace. Raises ``ValueError`` for a ``limit`` < 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    parts: list[str] = []
    pos = _skip_space(text, 0)
    while pos < len(text):
        rest = text[pos:].rstrip()
        if len(rest) <= limit:
            parts.append(rest)
            break
        cut = _cut(text[pos : pos + limit + 1], limit)
        parts.append(text[pos : pos + cut].rstrip())
        pos = _skip_space(text, pos + cut)
    return parts


def layout_buttons(
    rows: tuple[tuple[Button, ...], ...], per_row: int = BUTTONS_PER_ROW
) -> tuple[tuple[Button, ...], ...]:
    """``rows`` with every row longer than ``per_row`` wrapped onto further rows.

    Empty rows are dropped. Raises ``ValueError`` for a button Telegram would refuse — an
    empty label, or ``data`` that is empty or longer than 64 bytes in UTF-8 — since that is a
    bug in whoever built the reply, not something to retry.
    """
    laid: list[tuple[Button, ...]] = []
    for row in rows:
        for button in row:
            check_button(button)
        laid.extend(row[start : start + per_row] for start in range(0, len(row), per_row))
    return tuple(laid)


def check_button(button: Button) -> None:
    """Raise ``ValueError`` unless Telegram accepts ``button``'s label and callback data."""
    if not button.label.strip():
        raise ValueError(f"button for {button.data!r} has an empty label")
    size = len(button.data.encode("utf-8"))
    if not 1 <= size <= CALLBACK_DATA_LIMIT:
        raise ValueError(
            f"callback_data must be 1-{CALLBACK_DATA_LIMIT} bytes of UTF-8, "
            f"{button.data[:20]!r}… is {size} bytes (button {button.label!r})"
        )


def _cut(window: str, limit: int) -> int:
    """Where to end the part that starts ``window`` (``limit`` + 1 characters of the text)."""
    latest = 0
    for pattern in _BREAKS:
        starts = [m.start() for m in pattern.finditer(window) if 0 < m.start() <= limit]
        if starts:
            if starts[-1] >= limit * _GOOD_FILL:
                return starts[-1]
            latest = max(latest, starts[-1])
    return latest or _hard_cut(window, limit)


def _hard_cut(window: str, limit: int) -> int:
    for cut in range(limit, max(limit - _MAX_STEP_BACK, 0), -1):
        if not _clings(window[cut - 1], window[cut]):
            return cut
    return limit


def _clings(before: str, after: str) -> bool:
    """True when ``after`` belongs with ``before`` and should not start a new part."""
    return (
        before in _JOINERS
        or after in _JOINERS
        or unicodedata.category(after) in ("Mn", "Mc", "Me")
        or "\ufe00" <= after <= "\ufe0f"  # variation selectors
        or "\U0001f3fb" <= after <= "\U0001f3ff"  # skin-tone modifiers
    )


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos
