"""Text normalisation shared by keyword matching and content loading.

``normalize`` folds what residents type on basic phones into one comparable form:
NFKC, case, Arabic letter forms to their Urdu equivalents, Urdu/Arabic-Indic digits to ASCII,
zero-width characters and punctuation removed, white space collapsed.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic code points that Urdu keyboards (and copy-paste from Arabic text) produce where Urdu
# has its own letter: yeh, kaf, heh and their presentation forms after NFKC.
_LETTER_FOLD = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH (Urdu choti ye)
        "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
        "\u0647": "\u06c1",  # ARABIC HEH -> HEH GOAL
        "\u06d5": "\u06c1",  # AE -> HEH GOAL
        "\u0629": "\u06c3",  # TEH MARBUTA -> TEH MARBUTA GOAL
        "\u0640": None,  # TATWEEL (kashida), decorative
    }
)

# Arabic-Indic (U+0660..) and Extended Arabic-Indic / Urdu (U+06F0..) digits.
_DIGIT_FOLD = str.maketrans(
    {chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)}
)

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"))

# Anything that is not a letter, a mark, a number or white space becomes a space.
_NON_WORD = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+", re.UNICODE)

# Urdu diacritics (zabar, zer, pesh, ...) that residents type inconsistently.
_HARAKAT = re.compile("[\u064b-\u065f\u0670]")


def normalize(text: str) -> str:
    """Return ``text`` folded for matching; never raises, may return ``""``."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_ZERO_WIDTH).translate(_LETTER_FOLD).translate(_DIGIT_FOLD)
    text = _HARAKAT.sub("", text)
    text = text.casefold()
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


_URDU_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def is_urdu_script(text: str) -> bool:
    """True when the text has more Arabic-script letters than Latin ones."""
    arabic = len(_URDU_SCRIPT.findall(text))
    if arabic == 0:
        return False
    latin = sum(1 for ch in text if "a" <= ch.lower() <= "z")
    return arabic >= latin
