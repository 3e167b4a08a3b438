"""Exact SMS segment counting and segment-aware truncation.

A message is GSM-7 when every character is in the GSM 03.38 basic set or its extension table
(extension characters take two septets: an escape and the character); otherwise the whole
message is UCS-2 and its length is counted in UTF-16 code units, so an emoji counts 2.

One segment holds 160 septets (GSM-7) or 70 units (UCS-2). A longer message is split into
parts of 153 septets / 67 units (the rest is the concatenation header). Phones never split an
escape pair or a surrogate pair across two parts, so parts are counted by filling them
greedily, not by dividing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 basic character set (the escape 0x1B itself is not text and so is left out).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, two septets.
_GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
_GSM_ALL = _GSM_BASIC | _GSM_EXTENSION

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_GSM_ELLIPSIS = "..."  # three septets; "…" would turn the whole message UCS-2
_UCS2_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How a text goes over the air.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2; ``non_gsm`` names the
    distinct characters that forced UCS-2, in order of first appearance (empty for GSM-7).
    """

    encoding: Encoding
    units: int
    segments: int
    non_gsm: tuple[str, ...] = ()


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` can be sent in GSM-7 (basic or extension)."""
    return _GSM_ALL.issuperset(text)


def _width(ch: str, gsm: bool) -> int:
    if gsm:
        return 2 if ch in _GSM_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _parts(text: str, gsm: bool, units: int) -> int:
    """Number of parts for a text longer than one segment, filling parts greedily."""
    part = GSM_PART if gsm else UCS2_PART
    if units == len(text):  # every character is one unit: nothing can straddle a boundary
        return -(-units // part)
    parts, used = 1, 0
    for ch in text:
        w = _width(ch, gsm)
        if used + w > part:
            parts += 1
            used = 0
        used += w
    return parts


def count_segments(text: str) -> SegmentInfo:
    """Encoding, length in units and number of segments of ``text`` (0 for ``""``)."""
    if not text:
        return SegmentInfo("GSM-7", 0, 0)
    if _GSM_ALL.issuperset(text):
        units = len(text) + sum(1 for ch in text if ch in _GSM_EXTENSION)
        segments = 1 if units <= GSM_SINGLE else _parts(text, True, units)
        return SegmentInfo("GSM-7", units, segments)
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _GSM_ALL))
    units = len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)
    segments = 1 if units <= UCS2_SINGLE else _parts(text, False, units)
    return SegmentInfo("UCS-2", units, segments, non_gsm)


def _with_ellipsis(prefix: str, tail: str = "") -> str:
    """``prefix``, an ellipsis and ``tail`` (after a space); the ellipsis is GSM-7 when the
    rest is, so it never forces UCS-2."""
    gsm = is_gsm7(prefix) and is_gsm7(tail)
    cut = prefix + (_GSM_ELLIPSIS if gsm else _UCS2_ELLIPSIS)
    return f"{cut} {tail}" if tail else cut


def _fits(candidate: str, max_segments: int) -> bool:
    return count_segments(candidate).segments <= max_segments


def _largest_fitting(cuts: list[int], text: str, max_segments: int, tail: str = "") -> str | None:
    """The longest ``text[:cut]`` + ellipsis (+ ``tail``) that fits, searching ``cuts``
    (ascending).

    Segment counts grow with the prefix, so a binary search finds the boundary; only
    candidates that were counted and fit are ever returned, so the result always fits.
    """
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = _with_ellipsis(_trim(text[: cuts[mid]]), tail)
        if _fits(candidate, max_segments):
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def _dangling(ch: str) -> bool:
    return ch.isspace() or ch in ",;:-،"


def _trim(prefix: str) -> str:
    # Drop the dangling space or comma before the ellipsis; what is left is still a prefix.
    end = len(prefix)
    while end and _dangling(prefix[end - 1]):
        end -= 1
    return prefix[:end]


def fit_segments(text: str, max_segments: int, *, keep_from: int | None = None) -> str:
    """``text`` unchanged when it fits in ``max_segments``, else a prefix plus an ellipsis.

    The cut falls at a word boundary when one fits (mid-word only for a single giant word).
    The ellipsis is ``"..."`` when the rest is GSM-7, so it never forces UCS-2, and ``"…"``
    otherwise. The result never has more than ``max_segments`` segments; with
    ``max_segments < 1`` it is ``""``.

    With ``keep_from``, ``text[keep_from:]`` (the tail: a STOP instruction, a contact line)
    is kept whole and only the body before it is cut: ``body… tail``, or the tail alone when
    no word of the body fits beside it. Only a tail that cannot fit on its own is cut with
    the rest, as without ``keep_from``.
    """
    if max_segments < 1:
        return ""
    if _fits(text, max_segments):
        return text
    if keep_from is not None and 0 < keep_from < len(text):
        tail = text[keep_from:].strip()
        if tail and _fits(tail, max_segments):
            body = text[:keep_from]
            fitted = _cut(body, max_segments, tail)
            return fitted if fitted is not None else tail
    fitted = _cut(text, max_segments, "")
    return fitted if fitted is not None else ""


def _cut(text: str, max_segments: int, tail: str) -> str | None:
    """The longest word-boundary (else character) prefix of ``text`` + ellipsis + ``tail``
    that fits, or None when not even one character does."""
    # Only cuts after the first real character: earlier ones would leave a bare ellipsis.
    first = next((i for i, ch in enumerate(text) if not _dangling(ch)), len(text))
    word_cuts = [i for i in range(first + 1, len(text) + 1) if i == len(text) or text[i].isspace()]
    fitted = _largest_fitting(word_cuts, text, max_segments, tail)
    if fitted is None:
        fitted = _largest_fitting(list(range(first + 1, len(text))), text, max_segments, tail)
    return fitted
