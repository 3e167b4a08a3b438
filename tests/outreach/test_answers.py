"""Coordinators' answers, live: checked, stored with who did it, and answered by every inbox
within its check interval, without a restart. Time is the messages' own, so no test waits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.content.load import load_catalog
from bot.core.added import AddedAnswer
from bot.core.catalog import Catalog
from bot.core.keywords import Matcher
from bot.outreach import answers
from bot.outreach.answers import LiveCatalog
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.outreach.inbox import Inbox
from bot.store.tables import messages as messages_table
from bot.store.units import Units

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
EVERY = timedelta(seconds=5)
FEES = AddedAnswer(
    "fees",
    ("fees", "fees kitni hai", "فیس"),
    "TEST fees: PKR 1234 (test value)",
    "ٹیسٹ فیس: 1234 روپے",
    telegram_en="TEST fees, the longer Telegram text (test value)",
)


@pytest.fixture(scope="module")
def content() -> Catalog:
    return load_catalog(REPO / "content")


def new_inbox(units: Units, content: Catalog) -> Inbox:
    matcher = Matcher.from_catalog(content)
    live = LiveCatalog(content, matcher, every=EVERY)
    return Inbox(units, content, matcher, live=live)


_seq = iter(range(1, 1_000_000))


async def ask(
    inbox: Inbox, text: str, at: timedelta, channel: str = "sms", sender: str | None = None
) -> Outcome:
    """``text`` received at T0 + ``at``; from someone new each time unless ``sender`` is given
    (so the loop guard never holds a reply)."""
    n = next(_seq)
    msg = IncomingMessage(
        channel="sms" if channel == "sms" else "telegram",
        sender=sender or f"0300{n:07d}",
        text=text,
        provider_id=f"P{n}",
        received_at=T0 + at,
    )
    return await inbox.handle(msg)


def answer_of(out: Outcome) -> str | None:
    assert out.decision is not None
    return out.decision.answer_id


async def test_an_added_answer_is_answered_once_the_check_is_due(
    units: Units, content: Catalog
) -> None:
    inbox = new_inbox(units, content)
    # Fees are not in the article: a person answers (content/staff.yaml `until_answered`).
    before = await ask(inbox, "fees kitni hai", timedelta(0))
    assert answer_of(before) is None and before.thread_id is not None

    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    # Checked at 0 s: the next check is due at 5 s, and until then nothing is read.
    assert answer_of(await ask(inbox, "fees kitni hai", timedelta(seconds=4))) is None
    out = await ask(inbox, "Fees kitni hai?", EVERY)
    assert answer_of(out) == "fees" and out.thread_id is None
    assert out.reply_text == FEES.sms_en and out.segments == 1
    urdu = await ask(inbox, "فیس", EVERY + timedelta(seconds=1))
    assert urdu.reply_text == FEES.sms_ur


async def test_edits_and_removals_reach_every_inbox(units: Units, content: Catalog) -> None:
    one, other = new_inbox(units, content), new_inbox(units, content)
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    assert (await ask(one, "fees", timedelta(0))).reply_text == FEES.sms_en
    assert (await ask(other, "fees", timedelta(0))).reply_text == FEES.sms_en

    await answers.edit(
        units, content, "fees", lambda a: replace(a, sms_en="TEST fees 2"), "bilal", T0,
        max_segments=2,
    )  # fmt: skip
    assert (await ask(one, "fees", EVERY)).reply_text == "TEST fees 2"
    assert (await ask(other, "fees", EVERY * 2)).reply_text == "TEST fees 2"

    await answers.remove(units, "fees", "amna", T0)
    for inbox in (one, other):
        out = await ask(inbox, "fees", EVERY * 3)
        # A person answers fees again.
        assert out.decision is not None and out.decision.intent == "staff"
        assert out.thread_id is not None


async def test_a_clock_that_went_back_checks_again(units: Units, content: Catalog) -> None:
    inbox = new_inbox(units, content)
    await ask(inbox, "hello", timedelta(minutes=10))
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    assert answer_of(await ask(inbox, "fees", timedelta(minutes=9))) == "fees"


async def test_refresh_reads_the_answers_at_once(units: Units, content: Catalog) -> None:
    live = LiveCatalog(content, every=EVERY)
    catalog, _ = await units.run(lambda c: live.current(c, T0))
    assert catalog is content, "no answers added yet"
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    catalog = await units.run(lambda c: live.refresh(c, T0 + timedelta(seconds=1)))
    assert catalog.answer("fees").kind == "added"
    assert live.catalog is catalog
    assert catalog.version.startswith(content.version + "+")


async def test_telegram_gets_the_telegram_text(units: Units, content: Catalog) -> None:
    inbox = new_inbox(units, content)
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    out = await ask(inbox, "fees", timedelta(0), channel="telegram", sender="4242")
    assert out.reply is not None and out.reply.text == FEES.telegram_en
    assert [b.data for row in out.reply.buttons for b in row] == ["menu"]


async def test_a_bad_answer_is_refused_with_every_problem_and_nothing_stored(
    units: Units, content: Catalog
) -> None:
    bad = replace(FEES, keywords=("jobs", "stop"), sms_en="x" * 161)
    with pytest.raises(answers.Invalid) as raised:
        await answers.add(units, content, bad, "amna", T0, max_segments=2)
    assert len(raised.value.problems) == 3
    assert await answers.list_all(units) == []


async def test_a_keyword_of_another_added_answer_is_refused(units: Units, content: Catalog) -> None:
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    other = AddedAnswer("cost", ("Fees Kitni Hai",), "TEST", "ٹیسٹ")
    with pytest.raises(answers.Invalid, match="already a keyword of the added answer 'fees'"):
        await answers.add(units, content, other, "bilal", T0, max_segments=2)
    with pytest.raises(answers.AnswerExists):
        await answers.add(units, content, FEES, "bilal", T0, max_segments=2)


async def test_an_edit_is_checked_and_a_missing_answer_named(
    units: Units, content: Catalog
) -> None:
    await answers.add(units, content, FEES, "amna", T0, max_segments=2)
    with pytest.raises(answers.Invalid, match="sms-en: longer than 160"):
        await answers.edit(
            units, content, "fees", lambda a: replace(a, sms_en="x" * 200), "b", T0,
            max_segments=2,
        )  # fmt: skip
    same = await answers.edit(units, content, "fees", lambda a: a, "b", T0, max_segments=2)
    assert same is None
    stored, changes = await answers.show(units, "fees")
    assert stored is not None and stored.answer == FEES
    assert [c.action for c in changes] == ["add"]
    with pytest.raises(answers.NotFound):
        await answers.edit(units, content, "nope", lambda a: a, "b", T0, max_segments=2)
    with pytest.raises(answers.NotFound):
        await answers.remove(units, "nope", "b", T0)


async def test_each_inbound_message_keeps_what_the_bot_made_of_it(
    units: Units, content: Catalog
) -> None:
    inbox = new_inbox(units, content)
    await ask(inbox, "naukri", timedelta(0))
    await ask(inbox, "fees kitni hai", timedelta(1))
    await ask(inbox, "داخلہ کب ہے؟", timedelta(2))
    await ask(inbox, "jobs", timedelta(3), sender="not a phone")
    m = messages_table
    rows = await units.run(
        lambda c: c.execute(
            select(m.c.text, m.c.intent, m.c.language).where(m.c.direction == "in").order_by(m.c.id)
        ).all()
    )
    assert [tuple(r) for r in rows] == [
        ("naukri", "answer", "ur-Latn"),
        # Handed over to a person, but kept as what the bot made of it: no answer.
        ("fees kitni hai", "no_answer", "ur-Latn"),
        ("داخلہ کب ہے؟", "no_answer", "ur"),
        ("jobs", None, None),
    ]
