"""Cutting a reply to SMS_MAX_SEGMENTS never loses its STOP / START instruction or the
contact line: cases, and hypothesis over every system text of the real content."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.load import load_catalog
from bot.core.catalog import LANGS, Catalog
from bot.core.segments import count_segments, fit_segments
from bot.core.sms_tail import fit_reply, protected_from

CONTENT = Path(__file__).resolve().parents[2] / "content"
CATALOG: Catalog = load_catalog(CONTENT)

TAIL_CASES = [
    ("english stop sentence", "Text PARK or FAQ 1-7. STOP to opt out.", None, "STOP to opt out."),
    ("stop after a comma", "Text MENU for topics, STOP to opt out.", None, "STOP to opt out."),
    (
        "urdu clause ends STOP",
        "موضوعات کے لیے MENU، بند کرنے کے لیے STOP لکھیں۔",
        None,
        "بند کرنے کے لیے STOP لکھیں۔",
    ),
    (
        "start to come back",
        "Bye for now. Text START to come back.",
        None,
        "Text START to come back.",
    ),
    (
        "stop then the contact",
        "Info: text PARK. STOP to opt out. Contact: 061 555",
        "061 555",
        "STOP to opt out. Contact: 061 555",
    ),
    (
        "contact alone",
        "Info: text PARK. Call the office 061 555",
        "061 555",
        "Call the office 061 555",
    ),
    ("nothing to keep", "Jobs: data entry and IT support.", None, ""),
    ("a word that only contains STOP", "The STOPWATCH course starts soon.", None, ""),
]


@pytest.mark.parametrize(
    ("text", "contact", "tail"), [c[1:] for c in TAIL_CASES], ids=[c[0] for c in TAIL_CASES]
)
def test_protected_from(text: str, contact: str | None, tail: str) -> None:
    assert text[protected_from(text, contact) :] == tail


def test_the_urdu_help_keeps_the_whole_contact_line_in_one_segment() -> None:
    line = "+92 300 1234567 (9-5 Mon-Sat)"
    text = CATALOG.text("help", "ur").replace("{contact}", line)
    fitted = fit_reply(text, 1, line)
    assert count_segments(fitted).segments == 1
    assert fitted.endswith("بند کرنے کے لیے STOP۔ رابطہ: " + line)
    assert fit_segments(text, 1).count(line) == 0, "a plain cut loses it"


def test_the_urdu_not_understood_keeps_its_stop_words_in_one_segment() -> None:
    fitted = fit_reply(CATALOG.text("not_understood", "ur"), 1)
    assert fitted.startswith("معذرت") and fitted.endswith("بند کرنے کے لیے STOP۔")
    assert count_segments(fitted).segments == 1


def test_a_tail_too_long_for_the_budget_is_cut_like_the_rest() -> None:
    text = "Info. STOP to opt out. Contact: " + "0" * 400
    fitted = fit_reply(text, 1, "0" * 400)
    assert count_segments(fitted).segments == 1 and fitted.startswith("Info.")


SYSTEM_TEXTS = [(key, lang) for key in CATALOG.system for lang in LANGS]
# Contact lines as coordinators write them: digits, spaces, + ( ) - / and words, in English
# or Urdu script.
contact_lines = (
    st.text(
        alphabet=st.sampled_from("0123456789 +()-/:,. abcdefghijklmnopqrstuvwxyz" + "دفترکانمبرسے"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=300)
@given(
    st.sampled_from(SYSTEM_TEXTS),
    contact_lines,
    st.integers(min_value=1, max_value=3),
    st.sampled_from(["7", "45", "60"]),
)
def test_every_system_text_keeps_stop_and_contact(
    key_lang: tuple[str, str], contact: str, max_segments: int, minutes: str
) -> None:
    key, lang = key_lang
    text = CATALOG.text(key, lang).replace("{contact}", contact).replace("{minutes}", minutes)
    fitted = fit_reply(text, max_segments, contact)
    assert count_segments(fitted).segments <= max_segments
    tail = text[protected_from(text, contact) :].strip()
    if count_segments(tail).segments <= max_segments:
        assert fitted.endswith(tail), (key, lang)
        for word in ("STOP", "START"):
            assert text.count(word) <= fitted.count(word) or word not in tail
        if "{contact}" in CATALOG.text(key, lang):
            assert contact in fitted


words = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ،۔,.کپارنوکریتبی"), max_size=400
)


@settings(max_examples=300)
@given(words, st.sampled_from([" STOP to opt out.", "، بند کرنے کے لیے STOP۔"]), contact_lines)
def test_any_body_is_cut_before_the_tail(body: str, stop: str, contact: str) -> None:
    text = f"{body}{stop} Contact: {contact}"
    for max_segments in (1, 2):
        fitted = fit_reply(text, max_segments, contact)
        assert count_segments(fitted).segments <= max_segments
        tail = text[protected_from(text, contact) :].strip()
        if count_segments(tail).segments <= max_segments:
            assert fitted.endswith(tail) and "STOP" in fitted and contact in fitted
            kept = fitted[: -len(tail)].rstrip().removesuffix("...").removesuffix("…")
            assert text.startswith(kept), "the body is cut, never rewritten"
