"""SMS segment counting against a labelled table and an independent reference."""

from __future__ import annotations

from itertools import accumulate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.segments import SegmentInfo, count_segments, fit_segments, is_gsm7

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
UCS2_EXTRA = "دھنوٹآئیپارک“”’…é😀🇵🇰ñ۳"

CASES = [
    ("empty", "", SegmentInfo("GSM-7", 0, 0)),
    ("one char", "a", SegmentInfo("GSM-7", 1, 1)),
    ("160 gsm = 1", "a" * 160, SegmentInfo("GSM-7", 160, 1)),
    ("161 gsm = 2", "a" * 161, SegmentInfo("GSM-7", 161, 2)),
    ("306 gsm = 2", "a" * 306, SegmentInfo("GSM-7", 306, 2)),
    ("307 gsm = 3", "a" * 307, SegmentInfo("GSM-7", 307, 3)),
    ("459 gsm = 3", "a" * 459, SegmentInfo("GSM-7", 459, 3)),
    ("extension counts 2", "{}", SegmentInfo("GSM-7", 4, 1)),
    ("euro counts 2", "€5", SegmentInfo("GSM-7", 3, 1)),
    ("form feed counts 2", "\f", SegmentInfo("GSM-7", 2, 1)),
    ("159 + ext = 161 -> 2", "a" * 159 + "^", SegmentInfo("GSM-7", 161, 2)),
    ("158 + ext = 160 -> 1", "a" * 158 + "^", SegmentInfo("GSM-7", 160, 1)),
    # 152 septets then an escape pair: the pair does not fit in part 1's last septet, so it
    # moves to part 2, and part 2 then holds 2 + 152 = 154 > 153 -> a third part.
    ("ext not split at 153", "a" * 152 + "[" + "a" * 152, SegmentInfo("GSM-7", 306, 3)),
    ("ext exactly at end of part", "a" * 151 + "[" + "a" * 153, SegmentInfo("GSM-7", 306, 2)),
    ("gsm accents stay gsm", "é à ü Ñ ¿", SegmentInfo("GSM-7", 9, 1)),
    ("one urdu letter -> ucs2", "ب", SegmentInfo("UCS-2", 1, 1, ("ب",))),
    ("70 ucs2 = 1", "ب" * 70, SegmentInfo("UCS-2", 70, 1, ("ب",))),
    ("71 ucs2 = 2", "ب" * 71, SegmentInfo("UCS-2", 71, 2, ("ب",))),
    ("134 ucs2 = 2", "ب" * 134, SegmentInfo("UCS-2", 134, 2, ("ب",))),
    ("135 ucs2 = 3", "ب" * 135, SegmentInfo("UCS-2", 135, 3, ("ب",))),
    ("urdu turns ascii ucs2", "a" * 69 + "ب", SegmentInfo("UCS-2", 70, 1, ("ب",))),
    ("urdu turns 71 ascii 2", "a" * 70 + "ب", SegmentInfo("UCS-2", 71, 2, ("ب",))),
    ("curly quote forces ucs2", "It’s open", SegmentInfo("UCS-2", 9, 1, ("’",))),
    ("ellipsis char forces ucs2", "more…", SegmentInfo("UCS-2", 5, 1, ("…",))),
    ("non_gsm in first-seen order", "“a” ب“", SegmentInfo("UCS-2", 6, 1, ("“", "”", "ب"))),
    ("emoji counts 2", "hi 😀", SegmentInfo("UCS-2", 5, 1, ("😀",))),
    ("flag is two astral chars", "🇵🇰", SegmentInfo("UCS-2", 4, 1, ("🇵", "🇰"))),
    ("35 emoji = 70 units", "😀" * 35, SegmentInfo("UCS-2", 70, 1, ("😀",))),
    # 33 emoji fill 66 units of a 67-unit part; the 34th cannot be split, so it moves on.
    ("emoji not split at 67", "😀" * 36, SegmentInfo("UCS-2", 72, 2, ("😀",))),
    ("emoji pairs overflow", "😀" * 67, SegmentInfo("UCS-2", 134, 3, ("😀",))),
    ("escape char itself is not gsm", "\x1b", SegmentInfo("UCS-2", 1, 1, ("\x1b",))),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_count_segments(text: str, expected: SegmentInfo) -> None:
    assert count_segments(text) == expected
    assert is_gsm7(text) == (expected.encoding == "GSM-7")


def _reference(text: str) -> tuple[str, int, int]:
    """Straightforward re-statement of the rules: widths per character, then parts cut
    where the running total would pass the part size (found with running sums)."""
    if not text:
        return ("GSM-7", 0, 0)
    gsm = all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)
    if gsm:
        widths = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        single, part = 160, 153
    else:
        widths = [len(ch.encode("utf-16-le")) // 2 for ch in text]
        single, part = 70, 67
    total = sum(widths)
    if total <= single:
        return ("GSM-7" if gsm else "UCS-2", total, 1)
    parts = 0
    rest = widths
    while rest:
        fits = sum(1 for s in accumulate(rest) if s <= part)
        rest = rest[fits:]
        parts += 1
    return ("GSM-7" if gsm else "UCS-2", total, parts)


@given(st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=700))
def test_gsm_text_matches_reference(text: str) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == _reference(text)
    assert info.non_gsm == ()


@given(st.text(alphabet=GSM_BASIC + GSM_EXTENSION + UCS2_EXTRA, max_size=400))
def test_mixed_text_matches_reference(text: str) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == _reference(text)
    assert set(info.non_gsm) == {ch for ch in text if ch not in GSM_BASIC + GSM_EXTENSION}


@given(st.text(max_size=500))
def test_any_text_matches_reference(text: str) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == _reference(text)


FIT_CASES = [
    ("fits unchanged", "Jobs: IT support.", 1, "Jobs: IT support."),
    ("empty stays empty", "", 1, ""),
    ("zero segments", "anything", 0, ""),
    ("cut at word, gsm dots", "word " * 40, 1, ("word " * 31).rstrip() + "..."),
    ("comma dropped before dots", "abc, " + "x" * 200, 1, "abc..."),
    ("urdu gets unicode ellipsis", "ب " * 40, 1, ("ب " * 35).rstrip() + "…"),
    ("giant word cut mid-word", "a" * 400, 1, "a" * 157 + "..."),
]


@pytest.mark.parametrize(
    ("text", "max_segments", "expected"), [c[1:] for c in FIT_CASES], ids=[c[0] for c in FIT_CASES]
)
def test_fit_segments(text: str, max_segments: int, expected: str) -> None:
    assert fit_segments(text, max_segments) == expected


def test_fit_keeps_gsm_when_the_kept_part_is_gsm() -> None:
    text = "Training in Multan " * 10 + "نوکری"
    fitted = fit_segments(text, 1)
    assert fitted.endswith("...")
    assert count_segments(fitted).encoding == "GSM-7"


@given(st.text(max_size=1200), st.integers(min_value=0, max_value=4))
def test_fit_never_exceeds_and_is_a_prefix(text: str, max_segments: int) -> None:
    fitted = fit_segments(text, max_segments)
    assert count_segments(fitted).segments <= max_segments
    if count_segments(text).segments <= max_segments:
        assert fitted == text
    elif fitted:
        ellipsis = "..." if fitted.endswith("...") else "…"
        assert fitted.endswith(ellipsis)
        assert text.startswith(fitted[: -len(ellipsis)])


@given(st.text(alphabet=GSM_BASIC + GSM_EXTENSION + " ", min_size=1, max_size=1000))
def test_fit_of_gsm_text_stays_gsm(text: str) -> None:
    assert is_gsm7(fit_segments(text, 2))
