"""What an SMS reply must keep when it is cut to ``SMS_MAX_SEGMENTS``: its protected tail.

Replies end with what a resident must never lose: the STOP (or START) instruction and, in
HELP, the park's contact line. :func:`protected_from` finds where that tail starts (the start
of the clause with the first STOP or START, or of the contact line, whichever comes first),
and :func:`fit_reply` cuts only the body before it (:func:`bot.core.segments.fit_segments`),
so ``"Dhanote IT Park info: text a… STOP to opt out. Contact: 061 …"`` keeps both.
"""

from __future__ import annotations

import re

from bot.core.segments import fit_segments

# The words a resident texts back to leave or come back: carriers require them to be told.
_INSTRUCTION = re.compile(r"(?<![A-Za-z])(?:STOP|START)(?![A-Za-z])")
# The end of a sentence or clause, in English and Urdu script: the tail starts after one.
_CLAUSE_END = re.compile(r"[.,;!?،؛؟](?=\s)|۔")


def protected_from(text: str, contact_line: str | None = None) -> int:
    """The index in ``text`` where its protected tail starts; ``len(text)`` when it has none.

    The tail runs from the start of the clause holding the first STOP / START or
    ``contact_line`` to the end of ``text``.
    """
    starts = [m.start() for m in (_INSTRUCTION.search(text),) if m is not None]
    if contact_line and (at := text.find(contact_line)) >= 0:
        starts.append(at)
    if not starts:
        return len(text)
    first = min(starts)
    clause = 0
    for end in _CLAUSE_END.finditer(text, 0, first):
        clause = end.end()
    while clause < first and text[clause].isspace():
        clause += 1
    return clause


def fit_reply(text: str, max_segments: int, contact_line: str | None = None) -> str:
    """``text`` cut to ``max_segments`` with its protected tail kept whole whenever the tail
    fits on its own (see :func:`bot.core.segments.fit_segments`)."""
    return fit_segments(text, max_segments, keep_from=protected_from(text, contact_line))


# The opt-out footer an SMS announcement ends with when its text gives no STOP instruction:
# the same words as the bot's own replies (content/system.yaml), in the text's script.
OPT_OUT_FOOTER = {"en": "STOP to opt out.", "ur": "بند کرنے کے لیے STOP۔"}
_URDU_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefe]")


def has_opt_out(text: str) -> bool:
    """True when ``text`` already tells how to opt out (a STOP or START instruction)."""
    return _INSTRUCTION.search(text) is not None


def with_opt_out(text: str) -> str:
    """``text`` ending with the opt-out footer (Urdu when the text is in Urdu script) on a
    line of its own, unless it already has a STOP instruction."""
    if has_opt_out(text):
        return text
    footer = OPT_OUT_FOOTER["ur" if _URDU_LETTER.search(text) else "en"]
    return f"{text.rstrip()}\n{footer}"


def announcement_text(
    text_en: str,
    text_ur: str | None,
    language: str | None,
    channel: str,
    text_ur_latn: str | None = None,
) -> str:
    """What one subscriber is sent of an announcement: the text in their language (Urdu,
    Roman Urdu) when it has one, else English; by SMS with the opt-out footer
    (:func:`with_opt_out`)."""
    own = {"ur": text_ur, "ur-Latn": text_ur_latn}.get(language or "en")
    text = own or text_en
    return with_opt_out(text) if channel == "sms" else text
