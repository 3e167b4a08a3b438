"""bot.store.messages against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from bot.store import contacts, messages, transcripts
from bot.store.models import NotFound
from bot.store.tables import contacts as contacts_table
from bot.store.tables import messages as messages_table
from bot.store.tables import subscribers as subscribers_table
from bot.store.units import Units

NOW = datetime(2025, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"


async def new_contact(units: Units, address: str = PHONE) -> contacts.ContactRef:
    return await units.run(lambda conn: contacts.upsert_contact(conn, "sms", address, NOW))


async def message_rows(units: Units, contact_id: int) -> list[Any]:
    m = messages_table
    return await units.run(
        lambda conn: list(
            conn.execute(select(m).where(m.c.contact_id == contact_id).order_by(m.c.id))
        )
    )


async def test_a_repeated_inbound_provider_id_is_stored_once(units: Units) -> None:
    ref = await new_contact(units)

    def inbound(at: datetime) -> Any:
        return lambda conn: messages.record_inbound(conn, ref.contact_id, "sms", "jobs", "SM1", at)

    first = await units.run(inbound(NOW))
    repeat = await units.run(inbound(LATER))

    assert isinstance(first, int)
    assert repeat is None
    assert await units.run(messages.count_messages) == 1


async def test_inbound_without_provider_id_or_on_another_channel_is_not_a_repeat(
    units: Units,
) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> list[int | None]:
        ids = [
            messages.record_inbound(conn, ref.contact_id, "sms", "a", None, NOW),
            messages.record_inbound(conn, ref.contact_id, "sms", "b", None, NOW),
            messages.record_inbound(conn, ref.contact_id, "sms", "c", "42", NOW),
            messages.record_inbound(conn, ref.contact_id, "telegram", "d", "42", NOW),
        ]
        messages.record_outbound(conn, ref.contact_id, "sms", "e", NOW, provider_id="42")
        assert messages.count_messages(conn) == 5
        return ids

    ids = await units.run(unit)
    assert None not in ids
    assert len(set(ids)) == 4


async def test_outbound_and_its_delivery_reports(units: Units) -> None:
    ref = await new_contact(units)

    def send(conn: Connection) -> None:
        message_id = messages.record_outbound(
            conn, ref.contact_id, "sms", "Jobs: …", NOW, segments=1
        )
        assert messages.mark_outbound(conn, message_id, "sent", NOW, provider_id="SM9")

    def report(conn: Connection) -> None:
        assert messages.update_message_status(conn, "sms", "SM9", "delivered", LATER)
        # Reports arrive out of order and twice: nothing moves backwards.
        assert not messages.update_message_status(conn, "sms", "SM9", "sent", LATER)
        assert not messages.update_message_status(conn, "sms", "SM9", "delivered", LATER)
        assert not messages.update_message_status(conn, "telegram", "SM9", "failed", LATER)
        assert not messages.update_message_status(conn, "sms", "nope", "delivered", LATER)

    await units.run(send)
    await units.run(report)
    (message,) = await message_rows(units, ref.contact_id)
    assert (message.direction, message.status, message.provider_id) == ("out", "delivered", "SM9")
    assert (message.segments, message.created_at, message.updated_at) == (1, NOW, LATER)
    assert (
        await units.run(lambda conn: messages.contact_of_outbound(conn, "sms", "SM9"))
        == ref.contact_id
    )
    assert await units.run(lambda conn: messages.contact_of_outbound(conn, "sms", "nope")) is None


async def test_a_failed_send_keeps_the_error(units: Units) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> None:
        message_id = messages.record_outbound(conn, ref.contact_id, "sms", "hi", NOW)
        messages.mark_outbound(conn, message_id, "sent", NOW, provider_id="SM7")
        messages.update_message_status(
            conn, "sms", "SM7", "failed", LATER, error_code="21610", error="unsubscribed recipient"
        )

    await units.run(unit)
    (message,) = await message_rows(units, ref.contact_id)
    assert (message.status, message.error_code, message.error) == (
        "failed",
        "21610",
        "unsubscribed recipient",
    )


async def test_marking_an_unknown_or_inbound_message_is_not_found(units: Units) -> None:
    ref = await new_contact(units)
    inbound = await units.run(
        lambda conn: messages.record_inbound(conn, ref.contact_id, "sms", "hi", "SM1", NOW)
    )
    assert inbound is not None
    for message_id in (inbound, 404):
        with pytest.raises(NotFound):
            await units.run(
                lambda conn, message_id=message_id: messages.mark_outbound(  # type: ignore[misc]
                    conn, message_id, "sent", NOW
                )
            )


async def test_recent_texts_newest_first(units: Units) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> list[str]:
        for minute in range(5):
            at = NOW + timedelta(minutes=minute)
            messages.record_inbound(conn, ref.contact_id, "sms", f"m{minute}", None, at)
        return transcripts.recent_texts(conn, ref.contact_id, limit=3)

    assert await units.run(unit) == ["m4", "m3", "m2"]


async def test_recent_counts_are_the_cost_and_loop_guards(units: Units) -> None:
    ref = await new_contact(units)

    def unit(conn: Connection) -> tuple[int, int]:
        for minute, text in enumerate(["jobs", "jobs", "park", "jobs"]):
            at = NOW + timedelta(minutes=minute)
            messages.record_inbound(conn, ref.contact_id, "sms", text, None, at)
            messages.record_outbound(conn, ref.contact_id, "sms", "reply", at)
        return messages.recent_counts(
            conn,
            ref.contact_id,
            replies_since=NOW + timedelta(minutes=1),
            text="jobs",
            same_since=NOW + timedelta(minutes=1),
        )

    assert await units.run(unit) == (3, 2)


async def test_an_unknown_status_is_rejected_by_the_database(units: Units) -> None:
    ref = await new_contact(units)
    with pytest.raises(IntegrityError):
        await units.run(
            lambda conn: messages.record_outbound(
                conn,
                ref.contact_id,
                "sms",
                "hi",
                NOW,
                status="lost",  # type: ignore[arg-type]
            )
        )


async def test_foreign_keys_are_enforced(units: Units) -> None:
    with pytest.raises(IntegrityError):
        await units.run(lambda conn: messages.record_inbound(conn, 404, "sms", "orphan", None, NOW))


async def test_deleting_a_subscriber_deletes_their_contacts_and_messages(units: Units) -> None:
    ref = await new_contact(units)
    other = await new_contact(units, "+923007654321")

    def unit(conn: Connection) -> None:
        messages.record_inbound(conn, ref.contact_id, "sms", "jobs", "SM1", NOW)
        messages.record_inbound(conn, other.contact_id, "sms", "jobs", "SM2", NOW)
        s = subscribers_table
        conn.execute(delete(s).where(s.c.id == ref.subscriber_id))

    await units.run(unit)
    remaining = await units.run(
        lambda conn: conn.execute(select(contacts_table.c.id)).scalars().all()
    )
    assert list(remaining) == [other.contact_id]
    assert await units.run(messages.count_messages) == 1


async def test_unanswered_counts_what_the_bot_could_not_answer_per_text_channel_and_language(
    units: Units,
) -> None:
    sms_ref = await new_contact(units)
    tg_ref = await units.run(lambda conn: contacts.upsert_contact(conn, "telegram", "42", NOW))
    rows = [
        (sms_ref, "sms", "fees kitni hai", "unknown", "en", NOW),
        (sms_ref, "sms", "fees kitni hai", "unknown", "en", LATER),
        (tg_ref, "telegram", "fees kitni hai", "unknown", "en", NOW),
        (sms_ref, "sms", "فیس", "unknown", "ur", NOW),
        (sms_ref, "sms", "jobs", "answer", "en", NOW),  # understood
        # a topic the content lacks, handed over to a person: the bot could not answer it
        (sms_ref, "sms", "address", "no_answer", "en", NOW),
        (sms_ref, "sms", "staff please", "staff", "en", NOW),  # asked for a person: no question
        (sms_ref, "sms", "old question", "unknown", "en", NOW - timedelta(days=40)),
        (sms_ref, "sms", "an event", None, None, NOW),
    ]

    def store(conn: Connection) -> None:
        for n, (ref, channel, text, intent, language, at) in enumerate(rows):
            messages.record_inbound(
                conn, ref.contact_id, channel, text, f"P{n}", at, intent=intent, language=language
            )

    await units.run(store)
    found = await units.run(lambda c: messages.unanswered(c, NOW - timedelta(days=30)))
    assert [(a.text, a.channel, a.language, a.count) for a in found] == [
        ("fees kitni hai", "sms", "en", 2),
        ("address", "sms", "en", 1),
        ("fees kitni hai", "telegram", "en", 1),
        ("فیس", "sms", "ur", 1),
    ]
    assert found[0].last == LATER
    assert all(a.last.tzinfo is not None for a in found)
    assert await units.run(lambda c: messages.unanswered(c, LATER + timedelta(seconds=1))) == []


async def test_an_outbound_message_is_never_unanswered(units: Units) -> None:
    ref = await new_contact(units)

    def store(conn: Connection) -> None:
        messages.record_outbound(conn, ref.contact_id, "sms", "Sorry", NOW)
        conn.execute(messages_table.update().values(intent="unknown"))

    await units.run(store)
    assert await units.run(lambda c: messages.unanswered(c, NOW - timedelta(days=1))) == []


async def test_record_many_is_record_inbound_for_each(units: Units) -> None:
    a = await new_contact(units, "+923001111111")
    b = await new_contact(units, "+923002222222")
    c = await new_contact(units, "+923003333333")
    await units.run(
        lambda conn: messages.record_inbound(conn, b.contact_id, "sms", "x", "SM2", NOW)
    )
    given = [
        messages.Received(a.contact_id, "sms", "jobs", "SM1", NOW, intent="answer", language="en"),
        messages.Received(b.contact_id, "sms", "again", "SM2", NOW),
        messages.Received(c.contact_id, "sms", "park", None, NOW + timedelta(seconds=1)),
    ]

    ids = await units.run(lambda conn: messages.record_many(conn, given))

    assert ids[1] is None, "a provider id seen before is a repeat"
    m = messages_table
    rows = await units.run(
        lambda conn: conn.execute(
            select(m.c.id, m.c.contact_id, m.c.text, m.c.provider_id, m.c.intent, m.c.language)
            .where(m.c.id.in_([i for i in ids if i is not None]))
            .order_by(m.c.id)
        ).all()
    )
    by_id = {row.id: row for row in rows}
    assert ids[0] is not None and ids[2] is not None
    first, third = by_id[ids[0]], by_id[ids[2]]
    assert (first.contact_id, first.text, first.intent, first.language) == (
        a.contact_id,
        "jobs",
        "answer",
        "en",
    )
    assert (third.contact_id, third.text, third.provider_id) == (c.contact_id, "park", None)


async def test_recent_counts_many_is_recent_counts_for_each(units: Units) -> None:
    refs = [await new_contact(units, f"+92300111111{n}") for n in range(3)]

    def unit(conn: Connection) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        for n, ref in enumerate(refs):
            for minute, text in enumerate(["jobs", "jobs", "park", "jobs"][: n + 2]):
                at = NOW + timedelta(minutes=minute)
                messages.record_inbound(conn, ref.contact_id, "sms", text, None, at)
                messages.record_outbound(conn, ref.contact_id, "sms", "reply", at)
        asked = [
            messages.Counted(
                ref.contact_id,
                text,
                replies_since=NOW + timedelta(minutes=n),
                same_since=NOW + timedelta(minutes=1 - n),
            )
            for n, (ref, text) in enumerate(zip(refs, ["jobs", "park", "jobs"], strict=True))
        ]
        each = [
            messages.recent_counts(
                conn,
                q.contact_id,
                replies_since=q.replies_since,
                text=q.text,
                same_since=q.same_since,
            )
            for q in asked
        ]
        return messages.recent_counts_many(conn, asked), each

    many, each = await units.run(unit)
    assert many == each == [(2, 1), (2, 1), (2, 3)]
