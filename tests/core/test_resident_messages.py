"""Resident messages (fakes/residents.py) against the real content, and with the answers a
coordinator could add (``fakes.residents.ADDED``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.added import problems
from bot.content.load import load_catalog
from bot.core.added import with_added
from bot.core.catalog import Catalog
from bot.core.conversation import decide, render_sms
from bot.core.decision import Inbound
from bot.core.keywords import Matcher
from bot.core.segments import count_segments
from fakes.residents import ADDED, ADDED_ROWS, ROWS, Row

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture(scope="module")
def real() -> tuple[Catalog, Matcher]:
    catalog = load_catalog(CONTENT)
    return catalog, Matcher.from_catalog(catalog)


def test_enough_rows_with_unique_labels() -> None:
    assert len(ROWS) >= 90
    assert len({row.label for row in ROWS}) == len(ROWS)


@pytest.fixture(scope="module")
def added(real: tuple[Catalog, Matcher]) -> tuple[Catalog, Matcher]:
    catalog = with_added(real[0], ADDED, "test")
    return catalog, Matcher.from_catalog(catalog)


@pytest.mark.parametrize("row", ROWS, ids=[row.label for row in ROWS])
def test_resident_message(real: tuple[Catalog, Matcher], row: Row) -> None:
    check(real, row)


@pytest.mark.parametrize("row", ADDED_ROWS, ids=[row.label for row in ADDED_ROWS])
def test_resident_message_a_coordinator_answer_answers(
    added: tuple[Catalog, Matcher], row: Row
) -> None:
    check(added, row)


# The messages only an added answer answers; every other row gets what it got before.
_NOW_ANSWERED = {row.text for row in ADDED_ROWS}


@pytest.mark.parametrize(
    "row",
    [row for row in ROWS if row.text not in _NOW_ANSWERED],
    ids=[row.label for row in ROWS if row.text not in _NOW_ANSWERED],
)
def test_added_answers_change_no_content_answer(added: tuple[Catalog, Matcher], row: Row) -> None:
    check(added, row)


def test_the_added_answers_pass_the_content_rules(real: tuple[Catalog, Matcher]) -> None:
    assert {a.key: problems(a, real[0], ADDED) for a in ADDED} == {a.key: [] for a in ADDED}


def check(found: tuple[Catalog, Matcher], row: Row) -> None:
    catalog, matcher = found
    decision = decide(Inbound(row.text, row.channel, row.stored), catalog, matcher)
    assert (decision.intent, decision.answer_id, decision.language) == (
        row.intent,
        row.answer_id,
        row.lang,
    )
    if row.intent == "courtesy" and row.channel == "sms":
        assert decision.reply is None, "no SMS spent on thanks"
        return
    assert decision.reply is not None
    if row.channel == "sms":
        assert count_segments(render_sms(decision.reply, 2)).segments <= 2


def test_every_answer_is_reachable_by_some_row(real: tuple[Catalog, Matcher]) -> None:
    catalog, _ = real
    expected = {row.answer_id for row in ROWS}
    assert {a.id for a in catalog.answers} <= expected


# Issue 11: a word whose answer is a section of the article gets that section's SMS, and the
# SMS says it (else the resident would not see that the answer is about what they asked).
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("solar", "solar-powered"),
        ("farmers", "farmers"),
        ("artisans", "artisans"),
        ("differently abled", "differently-abled"),
        ("disabled", "differently-abled"),
        ("girls ke liye course", "Khawateen"),
        ("larkiyon ke liye koi course hai?", "khawateen"),
        ("rozgaar", "naukriyan"),
    ],
)
def test_the_sms_says_what_was_asked(real: tuple[Catalog, Matcher], text: str, says: str) -> None:
    catalog, matcher = real
    decision = decide(Inbound(text, "sms"), catalog, matcher)
    assert decision.reply is not None
    assert says in decision.reply.text


def test_a_roman_urdu_writer_is_answered_in_roman_urdu_in_one_segment(
    real: tuple[Catalog, Matcher],
) -> None:
    catalog, matcher = real
    for row in ROWS:
        if row.lang != "ur-Latn" or row.channel != "sms" or row.intent == "courtesy":
            continue  # courtesy by SMS is no reply at all
        decision = decide(Inbound(row.text, "sms", row.stored), catalog, matcher)
        assert decision.reply is not None
        info = count_segments(render_sms(decision.reply, 2))
        assert (info.encoding, info.segments) == ("GSM-7", 1), row.label
        texts = [a.sms for a in catalog.answers] + list(catalog.system.values())
        assert decision.reply.text in {t.ur_latn for t in texts}, row.label


def test_a_coordinator_answer_in_roman_urdu_or_else_english(
    added: tuple[Catalog, Matcher],
) -> None:
    catalog, matcher = added
    fees = decide(Inbound("fees kitni hai", "sms"), catalog, matcher)
    assert fees.reply is not None and fees.reply.text == "TEST fees: 1234 rupay (test value)"
    admission = decide(Inbound("admission kab hai", "sms"), catalog, matcher)
    assert admission.language == "ur-Latn"
    assert admission.reply is not None
    assert admission.reply.text == "TEST admission: 1 Jan 2099 (test value)"
