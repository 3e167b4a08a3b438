"""Coordinators' answers as the catalog sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.load import load_catalog
from bot.core.added import AddedAnswer, with_added
from bot.core.catalog import Catalog

REPO = Path(__file__).resolve().parents[2]

FEES = AddedAnswer(
    "admission_fees",
    ("Fees?", "fees kitni hai", "fees", ""),
    "TEST fees (test value)",
    "ٹیسٹ فیس",
    telegram_en="TEST fees, longer (test value)",
)


@pytest.fixture(scope="module")
def content() -> Catalog:
    return load_catalog(REPO / "content")


def test_an_added_answer_is_an_answer_of_kind_added() -> None:
    answer = FEES.to_answer()
    assert (answer.id, answer.kind, answer.title.en) == (
        "admission_fees",
        "added",
        "admission fees",
    )
    assert answer.keywords == ("fees", "fees kitni hai"), "normalised, repeats and blanks dropped"
    assert (answer.sms.get("en"), answer.sms.get("ur")) == ("TEST fees (test value)", "ٹیسٹ فیس")


def test_telegram_shows_the_telegram_text_else_the_sms_in_the_readers_language() -> None:
    full = FEES.to_answer().full
    assert full.get("en") == "TEST fees, longer (test value)"
    assert full.get("ur") == "ٹیسٹ فیس", "an Urdu reader gets the Urdu SMS, not the English text"
    plain = AddedAnswer("fees", ("fees",), "TEST en", "ٹیسٹ").to_answer().full
    assert (plain.get("en"), plain.get("ur")) == ("TEST en", "ٹیسٹ")


def test_with_added_keeps_the_content_and_adds_the_answers(content: Catalog) -> None:
    merged = with_added(content, [FEES], "3.7")
    assert merged.answers[: len(content.answers)] == content.answers
    assert merged.answer("admission_fees").kind == "added"
    assert merged.version == f"{content.version}+3.7"
    assert merged.system == content.system and merged.cities == content.cities
    assert merged.of_kind("topic") == content.of_kind("topic"), "menus list the content only"
    # The hand-over words stay: asking for a person still works with answers added.
    assert merged.staff_keywords == content.staff_keywords and merged.staff_keywords
    assert merged.until_answered == content.until_answered and merged.until_answered


def test_an_added_answer_takes_over_the_topics_it_has_and_no_other(content: Catalog) -> None:
    from bot.core.keywords import Matcher
    from bot.core.normalize import normalize

    before = Matcher.from_catalog(content)
    after = Matcher.from_catalog(with_added(content, [FEES], "1.0"))
    for text in ("fees", "fee kitni hai", "fees kitni hai?"):  # "fee" is "fees" once stemmed
        assert before.match(normalize(text)).intent == "no_answer", text
        found = after.match(normalize(text))
        assert (found.intent, found.answer_id) == ("answer", "admission_fees"), text
    for text, intent in (
        ("fis kitni hai", "no_answer"),
        ("address", "no_answer"),
        ("staff", "staff"),
    ):
        assert after.match(normalize(text)).intent == intent, text


def test_with_no_answers_it_is_the_content_itself(content: Catalog) -> None:
    assert with_added(content, [], "0.0") is content


def test_on_telegram_an_added_answer_has_only_the_menu_button(content: Catalog) -> None:
    from bot.core.menus import MENU_CALLBACK, answer_buttons

    merged = with_added(content, [FEES], "1.1")
    ((menu,),) = answer_buttons(merged, merged.answer("admission_fees"), "en")
    assert menu.data == MENU_CALLBACK
