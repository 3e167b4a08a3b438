"""bot.store.drafts against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import contacts, drafts, threads
from bot.store.drafts import AnnounceDraft
from bot.store.units import Units

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
AMINA, BILAL = 777001, 777002
RULE = {"kind": "weekly", "tz": "Asia/Karachi", "at": "10:00", "weekdays": ["mon"]}


@pytest.fixture
async def runners(engine: AsyncEngine) -> AsyncIterator[tuple[Units, Units]]:
    """Two unit runners on one database, as two web processes have: on PostgreSQL their
    statements really race."""
    pair = (Units(engine), Units(engine))
    try:
        yield pair
    finally:
        for runner in pair:
            runner.close()


async def opened(units: Units, user_id: int = AMINA, at: datetime = NOW) -> AnnounceDraft:
    assert await units.run(lambda c: drafts.start_draft(c, user_id, "0123abcd", "text_en", at))
    draft = await units.run(lambda c: drafts.get_draft(c, user_id))
    assert draft is not None
    return draft


async def test_a_draft_is_stored_step_by_step_and_read_back_whole(units: Units) -> None:
    draft = await opened(units)
    assert (draft.step, draft.token, draft.text_en, draft.topics) == ("text_en", "0123abcd", "", [])
    assert not draft.busy(NOW)

    later = NOW + timedelta(minutes=1)
    assert await units.run(lambda c: drafts.claim_draft(c, draft, later, later + LEASE))
    assert draft.busy(later) and draft.touched_at == later
    draft.step, draft.text_en, draft.text_ur = "confirm", "Job fair", "نوکری میلہ"
    draft.reach, draft.topics, draft.rule = "sms", ["jobs", "training"], RULE
    assert await units.run(lambda c: drafts.save_draft(c, draft))

    stored = await units.run(lambda c: drafts.get_draft(c, AMINA))
    assert stored is not None
    assert (stored.step, stored.text_en, stored.text_ur) == ("confirm", "Job fair", "نوکری میلہ")
    assert (stored.reach, stored.topics, stored.rule) == ("sms", ["jobs", "training"], RULE)
    assert stored.touched_at == later and stored.busy_until is None
    assert await units.run(lambda c: drafts.get_draft(c, BILAL)) is None


async def test_a_busy_draft_is_claimed_by_no_one_else_until_its_lease_runs_out(
    units: Units,
) -> None:
    draft = await opened(units)
    first = await units.run(lambda c: drafts.get_draft(c, AMINA))
    second = await units.run(lambda c: drafts.get_draft(c, AMINA))
    assert first is not None and second is not None
    assert await units.run(lambda c: drafts.claim_draft(c, first, NOW, NOW + LEASE))

    # Read before the claim: its version is gone. Read after it: busy.
    assert not await units.run(lambda c: drafts.claim_draft(c, second, NOW, NOW + LEASE))
    again = await units.run(lambda c: drafts.get_draft(c, AMINA))
    assert again is not None and again.busy(NOW + timedelta(seconds=30))
    assert not await units.run(lambda c: drafts.claim_draft(c, again, NOW, NOW + LEASE))
    assert not await units.run(lambda c: drafts.start_draft(c, AMINA, "ffffffff", "text_en", NOW))

    # The process that claimed it died: once the lease is over, the draft is free again.
    after = NOW + LEASE
    assert await units.run(lambda c: drafts.claim_draft(c, again, after, after + LEASE))
    assert not await units.run(lambda c: drafts.save_draft(c, first)), "its claim was lost"
    assert not await units.run(lambda c: drafts.drop_draft(c, draft)), "an old version"


async def test_a_step_that_failed_leaves_the_draft_as_it_was_and_free(units: Units) -> None:
    draft = await opened(units)
    assert await units.run(lambda c: drafts.claim_draft(c, draft, NOW, NOW + LEASE))
    draft.text_en, draft.step = "half-done", "text_ur"

    assert await units.run(lambda c: drafts.release_draft(c, draft))

    stored = await units.run(lambda c: drafts.get_draft(c, AMINA))
    assert stored is not None
    assert (stored.step, stored.text_en, stored.busy_until) == ("text_en", "", None)


async def test_a_new_draft_replaces_a_free_one_and_old_versions_end_nothing(units: Units) -> None:
    old = await opened(units)
    assert await units.run(lambda c: drafts.start_draft(c, AMINA, "ffffffff", "text_en", NOW))
    new = await units.run(lambda c: drafts.get_draft(c, AMINA))
    assert new is not None and new.token == "ffffffff" and new.version > old.version

    assert not await units.run(lambda c: drafts.drop_draft(c, old))
    assert await units.run(lambda c: drafts.get_draft(c, AMINA)) is not None
    assert await units.run(lambda c: drafts.drop_draft(c, new))
    assert await units.run(lambda c: drafts.get_draft(c, AMINA)) is None


async def test_two_processes_taking_a_step_at_once_claim_it_once(
    runners: tuple[Units, Units],
) -> None:
    await opened(runners[0])
    read = [await r.run(lambda c: drafts.get_draft(c, AMINA)) for r in runners]

    claims = await asyncio.gather(
        *(
            runner.run(lambda c, d=draft: drafts.claim_draft(c, d, NOW, NOW + LEASE))
            for runner, draft in zip(runners, read, strict=True)
        )
    )

    assert sorted(claims) == [False, True]


async def new_thread(units: Units) -> int:
    def unit(conn: Connection) -> int:
        contact = contacts.upsert_contact(conn, "telegram", "5550001234", NOW)
        return threads.open_thread(conn, contact.contact_id, "en", "asked", NOW)

    return await units.run(unit)


async def test_a_reply_is_written_then_taken_once(runners: tuple[Units, Units]) -> None:
    first, second = runners
    thread_id = await new_thread(first)
    await first.run(lambda c: drafts.start_reply(c, AMINA, thread_id, NOW))
    assert await second.run(lambda c: drafts.take_reply(c, AMINA, thread_id)) is None, (
        "nothing written yet"
    )
    later = NOW + timedelta(minutes=1)
    assert await second.run(lambda c: drafts.write_reply(c, AMINA, thread_id, "Hello", later))
    assert not await second.run(lambda c: drafts.write_reply(c, BILAL, thread_id, "Hi", later))
    assert await first.run(lambda c: drafts.get_reply(c, AMINA)) == drafts.ReplyDraft(
        AMINA, thread_id, "Hello", later
    )

    taken = await asyncio.gather(
        *(runner.run(lambda c: drafts.take_reply(c, AMINA, thread_id)) for runner in runners)
    )

    assert sorted(taken, key=str) == ["Hello", None]
    assert await first.run(lambda c: drafts.get_reply(c, AMINA)) is None


async def test_pressing_reply_again_starts_the_reply_anew(units: Units) -> None:
    thread_id = await new_thread(units)
    await units.run(lambda c: drafts.start_reply(c, AMINA, thread_id, NOW))
    await units.run(lambda c: drafts.write_reply(c, AMINA, thread_id, "Draft", NOW))
    later = NOW + timedelta(minutes=1)

    await units.run(lambda c: drafts.start_reply(c, AMINA, thread_id, later))

    assert await units.run(lambda c: drafts.get_reply(c, AMINA)) == drafts.ReplyDraft(
        AMINA, thread_id, None, later
    )
    assert await units.run(lambda c: drafts.drop_reply(c, AMINA))
    assert not await units.run(lambda c: drafts.drop_reply(c, AMINA))
