"""Normalisation of what residents type, and Urdu-script detection."""

from __future__ import annotations

import pytest

from bot.core.normalize import is_urdu_script, normalize

NORMALIZE = [
    ("empty", "", ""),
    ("case folded", "JoBs", "jobs"),
    ("punctuation to spaces", "STOP!!! Thank you.", "stop thank you"),
    ("hash and dots", "F.A.Q#3", "f a q 3"),
    ("white space collapsed", "  faq \t\n 3  ", "faq 3"),
    ("urdu digits", "FAQ ۳", "faq 3"),
    ("arabic-indic digits", "سوال ٣", "سوال 3"),
    ("urdu digits glued", "faq۱۲", "faq12"),
    ("arabic yeh to farsi yeh", "نوكري", "نوکری"),
    ("arabic kaf to keheh", "كيا", "کیا"),
    ("arabic heh to heh goal", "مدده", "مددہ"),
    ("zero-width removed", "jo\u200bbs", "jobs"),
    ("zero-width joiner removed", "نو\u200cکری", "نوکری"),
    ("urdu question mark", "نوکری؟", "نوکری"),
    ("urdu full stop", "بند کرو۔", "بند کرو"),
    ("diacritics dropped", "مَدَد", "مدد"),
    ("tatweel dropped", "مـدد", "مدد"),
    ("fullwidth folded", "ＪＯＢＳ", "jobs"),
    ("underscore is punctuation", "job_it", "job it"),
    ("emoji dropped", "jobs 😀", "jobs"),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in NORMALIZE], ids=[c[0] for c in NORMALIZE]
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


URDU = [
    ("urdu word", "نوکری", True),
    ("urdu with digits", "سوال ۳", True),
    ("english", "jobs please", False),
    ("roman urdu", "naukri chahiye", False),
    ("empty", "", False),
    ("digits only", "3", False),
    ("mostly urdu", "FAQ نوکری کہاں", True),
    ("mostly latin", "jobs in Multan نوکری", False),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in URDU], ids=[c[0] for c in URDU])
def test_is_urdu_script(raw: str, expected: bool) -> None:
    assert is_urdu_script(raw) is expected
