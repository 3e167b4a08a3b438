"""bot.store.threads against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import contacts, messages, threads, transcripts
from bot.store.units import Units

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"


async def new_thread(units: Units) -> tuple[contacts.ContactRef, int]:
    def unit(conn) -> tuple[contacts.ContactRef, int]:  # type: ignore[no-untyped-def]
        contact = contacts.upsert_contact(conn, "sms", PHONE, NOW)
        thread_id = threads.open_thread(conn, contact.contact_id, "ur", "asked", NOW)
        inbound = messages.record_inbound(conn, contact.contact_id, "sms", "fees?", "p1", NOW)
        assert inbound is not None
        threads.set_thread(conn, inbound, thread_id)
        return contact, thread_id

    return await units.run(unit)


async def test_a_thread_is_opened_found_and_listed_with_its_resident(units: Units) -> None:
    contact, thread_id = await new_thread(units)

    assert await units.run(lambda c: threads.current(c, contact.contact_id)) == thread_id
    found = await units.run(lambda c: threads.get(c, thread_id))
    assert found is not None
    assert (found.channel, found.address, found.language) == ("sms", PHONE, "ur")
    assert (found.state, found.reason, found.messages) == ("open", "asked", 1)
    assert found.created_at == NOW
    listed = await units.run(lambda c: threads.list_threads(c))
    assert [t.id for t in listed] == [thread_id]
    assert await units.run(lambda c: threads.get(c, thread_id + 99)) is None


async def test_claim_is_kept_by_its_holder_and_refused_to_another(units: Units) -> None:
    _, thread_id = await new_thread(units)

    first = await units.run(lambda c: threads.claim(c, thread_id, "amina", NOW))
    again = await units.run(lambda c: threads.claim(c, thread_id, "amina", LATER))
    other = await units.run(lambda c: threads.claim(c, thread_id, "bilal", LATER))

    assert first.ok and again.ok
    assert (other.outcome, other.holder) == ("taken", "amina")
    found = await units.run(lambda c: threads.get(c, thread_id))
    assert found is not None
    assert (found.state, found.claimed_by, found.claimed_at) == ("claimed", "amina", NOW)
    missing = await units.run(lambda c: threads.claim(c, thread_id + 99, "amina", NOW))
    assert missing.outcome == "missing"


async def test_two_concurrent_claims_give_the_thread_to_exactly_one(engine: AsyncEngine) -> None:
    # Two runners, two connections: the claims really race in the database.
    setup = Units(engine)
    try:
        _, thread_id = await new_thread(setup)
    finally:
        setup.close()
    runners = [Units(engine), Units(engine)]
    try:
        results = await asyncio.gather(
            *(
                runner.run(lambda c, who=who: threads.claim(c, thread_id, who, NOW))
                for runner, who in zip(runners, ("amina", "bilal"), strict=True)
            )
        )
    finally:
        for runner in runners:
            runner.close()
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == ["claimed", "taken"]
    winner = next(r.holder for r in results if r.ok)
    loser = next(r for r in results if not r.ok)
    assert loser.holder == winner


async def test_a_closed_thread_is_not_current_and_cannot_be_claimed(units: Units) -> None:
    contact, thread_id = await new_thread(units)
    await units.run(lambda c: threads.mark_answered(c, thread_id, "amina", NOW))

    assert await units.run(lambda c: threads.close(c, thread_id, "bilal", LATER))
    assert not await units.run(lambda c: threads.close(c, thread_id, "bilal", LATER))

    assert await units.run(lambda c: threads.current(c, contact.contact_id)) is None
    refused = await units.run(lambda c: threads.claim(c, thread_id, "amina", LATER))
    assert refused.outcome == "closed"
    found = await units.run(lambda c: threads.get(c, thread_id))
    assert found is not None
    assert (found.state, found.closed_by, found.closed_at) == ("closed", "bilal", LATER)
    assert (found.answered_by, found.answered_at) == ("amina", NOW)
    assert await units.run(lambda c: threads.list_threads(c)) == []
    assert [t.id for t in await units.run(lambda c: threads.list_threads(c, ["closed"]))] == [
        thread_id
    ]


async def test_thread_messages_and_history_come_oldest_first(units: Units) -> None:
    contact, thread_id = await new_thread(units)

    def more(conn) -> None:  # type: ignore[no-untyped-def]
        messages.record_inbound(conn, contact.contact_id, "sms", "hello", "p0", NOW)
        messages.record_outbound(
            conn, contact.contact_id, "sms", "We will call.", LATER, thread_id=thread_id
        )

    await units.run(more)
    whole = await units.run(lambda c: transcripts.history(c, contact.contact_id, limit=10))
    assert [line.text for line in whole] == ["fees?", "hello", "We will call."]
    only = await units.run(
        lambda c: transcripts.history(c, contact.contact_id, limit=10, thread_id=thread_id)
    )
    assert [(line.direction, line.text) for line in only] == [
        ("in", "fees?"),
        ("out", "We will call."),
    ]
    last_two = await units.run(lambda c: transcripts.history(c, contact.contact_id, limit=2))
    assert [line.text for line in last_two] == ["hello", "We will call."]


async def test_previous_inbound_is_the_one_just_before_within_the_window(units: Units) -> None:
    contact = await units.run(lambda c: contacts.upsert_contact(c, "sms", PHONE, NOW))

    def two(conn) -> tuple[int, int]:  # type: ignore[no-untyped-def]
        a = messages.record_inbound(conn, contact.contact_id, "sms", "first", "a", NOW)
        b = messages.record_inbound(conn, contact.contact_id, "sms", "second", "b", LATER)
        assert a is not None and b is not None
        return a, b

    first, second = await units.run(two)
    cid = contact.contact_id
    assert await units.run(lambda c: threads.previous_inbound(c, cid, second, NOW)) == "first"
    assert await units.run(lambda c: threads.previous_inbound(c, cid, second, LATER)) is None
    assert await units.run(lambda c: threads.previous_inbound(c, cid, first, NOW)) is None


async def test_a_page_lists_threads_not_closed_first_each_newest_first(units: Units) -> None:
    def unit(conn) -> list[int]:  # type: ignore[no-untyped-def]
        ids = []
        for i in range(5):
            contact = contacts.upsert_contact(conn, "sms", f"+9230012345{i:02d}", NOW)
            ids.append(threads.open_thread(conn, contact.contact_id, "en", "asked", NOW))
        threads.close(conn, ids[4], "amna", LATER)
        threads.close(conn, ids[1], "amna", LATER)
        threads.claim(conn, ids[0], "bilal", LATER)
        return ids

    ids = await units.run(unit)
    counts = await units.run(threads.count_by_state)
    assert counts == {"open": 2, "claimed": 1, "closed": 2}
    everything = [ids[3], ids[2], ids[0], ids[4], ids[1]]

    async def page(offset: int, limit: int) -> list[int]:
        found = await units.run(
            lambda c: threads.open_first(c, offset=offset, limit=limit, open_count=3)
        )
        return [t.id for t in found]

    assert await page(0, 10) == everything
    # Pages that start before, at and after the last thread not closed.
    for offset in range(6):
        for limit in (1, 2, 3):
            assert await page(offset, limit) == everything[offset : offset + limit]
    [first] = await units.run(lambda c: threads.open_first(c, offset=0, limit=1, open_count=3))
    assert (first.address, first.messages) == ("+923001234503", 0)
