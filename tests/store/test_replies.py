"""bot.store.replies: a reply's claim, lease, retry and end, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, select

from bot.core.decision import Button, Reply
from bot.store import contacts, messages, replies, tables
from bot.store.units import Units

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
REPLY = Reply("Jobs at the park", ((Button("« Menu", "menu"),),))


async def stored(units: Units, text: str = "jobs", intent: str = "answer") -> int:
    """A Telegram message and its reply, stored claimed at ``NOW``; the reply's id."""

    def unit(conn: Connection) -> int:
        contact = contacts.upsert_contact(conn, "telegram", "900001", NOW)
        inbound = messages.record_inbound(
            conn, contact.contact_id, "telegram", text, f"u-{text}", NOW, intent=intent
        )
        assert inbound is not None
        return replies.store(
            conn, contact.contact_id, "telegram", REPLY, NOW, LEASE, reply_to=inbound
        )

    return await units.run(unit)


async def due(units: Units, at: datetime) -> list[replies.Due]:
    return await units.run(lambda conn: replies.claim_due(conn, "telegram", at, 10, LEASE))


async def test_a_stored_reply_is_held_by_its_process_until_the_lease_ends(units: Units) -> None:
    reply_id = await stored(units)
    assert await due(units, NOW + LEASE - timedelta(seconds=1)) == []
    (claimed,) = await due(units, NOW + LEASE)
    assert (claimed.message_id, claimed.attempt, claimed.address) == (reply_id, 2, "900001")
    assert claimed.reply == REPLY, "text and buttons as stored"
    assert not claimed.confirms
    assert await due(units, NOW + LEASE) == [], "claimed again: held for a new lease"


async def test_only_the_latest_claim_may_finish_a_reply(units: Units) -> None:
    reply_id = await stored(units)
    await due(units, NOW + LEASE)  # the first process's lease ran out: claim 2
    late = await units.run(
        lambda conn: replies.finish(conn, reply_id, "sent", NOW, attempt=1, provider_id="p1")
    )
    assert not late, "the first claim's send outlived its lease"
    assert await units.run(
        lambda conn: replies.finish(conn, reply_id, "sent", NOW, attempt=2, provider_id="p2")
    )
    assert not await units.run(
        lambda conn: replies.finish(conn, reply_id, "failed", NOW, attempt=2, error="x")
    ), "a finished reply stays finished"
    assert await due(units, NOW + 10 * LEASE) == []


async def test_replies_written_together_are_recorded_only_where_their_claim_holds(
    units: Units,
) -> None:
    current, stale, finished = [await stored(units, t) for t in ("jobs", "fees", "city")]
    await due(units, NOW + LEASE)  # every lease ran out: each is claimed again (attempt 2)
    await units.run(lambda conn: replies.finish(conn, finished, "failed", NOW, attempt=2))

    recorded = await units.run(
        lambda conn: replies.finish_sent(conn, [(current, 2), (stale, 1), (finished, 2)], NOW)
    )

    assert recorded == {current}
    status = await units.run(
        lambda conn: dict(
            conn.execute(
                select(tables.messages.c.id, tables.messages.c.status).where(
                    tables.messages.c.id.in_([current, stale, finished])
                )
            ).all()
        )
    )
    assert status == {current: "sent", stale: "queued", finished: "failed"}


async def test_a_retry_makes_the_reply_due_at_its_backoff(units: Units) -> None:
    reply_id = await stored(units)
    later = NOW + timedelta(seconds=30)
    assert await units.run(
        lambda conn: replies.retry(conn, reply_id, later, "telegram: 502", NOW, attempt=1)
    )
    assert await due(units, later - timedelta(seconds=1)) == []
    assert [d.message_id for d in await due(units, later)] == [reply_id]


async def test_a_re_sent_message_claims_its_reply_only_when_nobody_holds_it(
    units: Units,
) -> None:
    reply_id = await stored(units, "STOP", intent="opt_out")
    inbound = await units.run(lambda conn: replies.inbound_id(conn, "telegram", "u-STOP"))
    assert inbound is not None
    assert await units.run(lambda conn: replies.claim_answer(conn, inbound, NOW, LEASE)) is None
    again = await units.run(lambda conn: replies.claim_answer(conn, inbound, NOW + LEASE, LEASE))
    assert again is not None and again.message_id == reply_id
    assert again.confirms, "the answer to a STOP goes even to who opted out"


async def test_store_many_is_store_for_each(units: Units) -> None:
    def unit(conn: Connection) -> list[tuple[object, ...]]:
        answers = []
        for n, (text, notice) in enumerate([("jobs", None), ("park", "cost_guard")]):
            contact = contacts.upsert_contact(conn, "sms", f"+92300111111{n}", NOW)
            inbound = messages.record_inbound(conn, contact.contact_id, "sms", text, None, NOW)
            assert inbound is not None
            answers.append(
                replies.Answer(
                    contact.contact_id,
                    "sms",
                    Reply(f"re {text}"),
                    NOW + timedelta(seconds=n),
                    inbound,
                    segments=n + 1,
                    notice=notice,
                )
            )
        telegram = contacts.upsert_contact(conn, "telegram", "900001", NOW)
        inbound = messages.record_inbound(conn, telegram.contact_id, "telegram", "hi", "u1", NOW)
        assert inbound is not None
        answers.append(replies.Answer(telegram.contact_id, "telegram", REPLY, NOW, inbound))
        ids = replies.store_many(conn, answers, LEASE)
        m = tables.messages
        rows = conn.execute(
            select(
                m.c.id,
                m.c.contact_id,
                m.c.reply_to,
                m.c.text,
                m.c.segments,
                m.c.intent,
                m.c.status,
                m.c.attempts,
                m.c.next_attempt_at,
                m.c.buttons,
            ).where(m.c.direction == "out")
        ).all()
        by_id = {row.id: row for row in rows}
        return [
            (
                by_id[i].contact_id == a.contact_id and by_id[i].reply_to == a.reply_to,
                by_id[i].text,
                by_id[i].segments,
                by_id[i].intent,
                by_id[i].status,
                by_id[i].attempts,
                by_id[i].next_attempt_at == a.now + LEASE,
                replies.decode_buttons(by_id[i].buttons),
            )
            for i, a in zip(ids, answers, strict=True)
        ]

    assert await units.run(unit) == [
        (True, "re jobs", 1, None, "queued", 1, True, ()),
        (True, "re park", 2, "cost_guard", "queued", 1, True, ()),
        (True, REPLY.text, None, None, "queued", 1, True, REPLY.buttons),
    ]
