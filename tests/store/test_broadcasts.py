"""bot.store.broadcasts: audiences become outbox rows in one statement; tallies, finishing and
cancelling, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.audience import Audience, AudienceError, audience_from_dict, audience_to_dict
from bot.core.decision import ContactStatus
from bot.store import broadcasts
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units
from tests.store._plans import last_plan

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


Reach = tuple[str, str, ContactStatus]  # channel, address, status


def person(
    conn: Connection,
    *reach: Reach,
    language: str | None = "en",
    city: str | None = "Dhanote",
    topics: Sequence[str] = (),
) -> dict[str, int]:
    """A subscriber with the given contacts; their ids by address."""
    sid = conn.execute(
        insert(_subscribers)
        .values(language=language, city=city, topics=list(topics), created_at=NOW, updated_at=NOW)
        .returning(_subscribers.c.id)
    ).scalar_one()
    ids: dict[str, int] = {}
    for channel, address, status in reach:
        ids[address] = conn.execute(
            insert(_contacts)
            .values(
                subscriber_id=sid,
                channel=channel,
                address=address,
                status=status,
                status_changed_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(_contacts.c.id)
        ).scalar_one()
    return ids


def announcement(conn: Connection) -> int:
    aid: int = conn.execute(
        insert(_announcements)
        .values(title="Training", text_en="Training on Monday", created_at=NOW, updated_at=NOW)
        .returning(_announcements.c.id)
    ).scalar_one()
    return aid


def sms(n: int, status: ContactStatus = "active") -> Reach:
    return ("sms", f"+9230000{n:05d}", status)


def tg(n: int, status: ContactStatus = "active") -> Reach:
    return ("telegram", f"{1000 + n}", status)


def town(conn: Connection) -> None:
    """The people every test below counts on (comments: who gets a default broadcast)."""
    person(conn, sms(1), tg(1))  # 1: telegram only (cheapest channel)
    person(conn, sms(2), tg(2, "blocked"), language="ur")  # 2: sms (telegram blocked)
    person(conn, sms(3), language=None, topics=["jobs"])  # 3: sms, counts as English
    person(conn, tg(4), language="ur", city="Multan", topics=["jobs", "training"])  # 4: tg
    person(conn, sms(5, "opted_out"), tg(5, "opted_out"))  # 5: nobody
    person(conn, sms(6, "invalid"), tg(6, "blocked"))  # 6: nobody
    person(conn, sms(7), city="multan", topics=["training"])  # 7: sms
    # 8: telegram; topics that contain others' names, which no topic filter below may match
    person(conn, sms(8, "opted_out"), tg(8), topics=["jobs_abroad", "trainings"])


async def setup_broadcast(units: Units) -> int:
    def unit(conn: Connection) -> int:
        town(conn)
        bid = broadcasts.create_broadcast(
            conn, announcement(conn), Audience(), "manual:1", NOW, NOW
        )
        assert bid is not None
        return bid

    return await units.run(unit)


def queued(conn: Connection, broadcast_id: int) -> set[tuple[str, str]]:
    """(channel, address) of every delivery of the broadcast."""
    rows = conn.execute(
        select(_contacts.c.channel, _contacts.c.address)
        .join(_deliveries, _deliveries.c.contact_id == _contacts.c.id)
        .where(_deliveries.c.broadcast_id == broadcast_id)
    )
    return {(channel, address) for channel, address in rows}


async def queue(units: Units, bid: int, audience: Audience) -> tuple[int, set[tuple[str, str]]]:
    def unit(conn: Connection) -> tuple[int, set[tuple[str, str]]]:
        n = broadcasts.queue_deliveries(conn, bid, audience, NOW)
        return n, queued(conn, bid)

    return await units.run(unit)


def addresses(*reach: Reach) -> set[tuple[str, str]]:
    return {(channel, address) for channel, address, _ in reach}


async def test_cheapest_channel_and_never_the_unreachable(units: Units) -> None:
    bid = await setup_broadcast(units)
    n, rows = await queue(units, bid, Audience())
    assert rows == addresses(tg(1), sms(2), sms(3), tg(4), sms(7), tg(8))
    assert n == 6


async def test_both_channels_sends_on_each_active_contact(units: Units) -> None:
    bid = await setup_broadcast(units)
    n, rows = await queue(units, bid, Audience(both_channels=True))
    assert rows == addresses(sms(1), tg(1), sms(2), sms(3), tg(4), sms(7), tg(8))
    assert n == 7


async def test_an_sms_only_audience_texts_everyone_with_an_active_number(units: Units) -> None:
    bid = await setup_broadcast(units)
    _, rows = await queue(units, bid, Audience(channels=frozenset({"sms"})))
    assert rows == addresses(sms(1), sms(2), sms(3), sms(7))


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(languages=frozenset({"ur"})), addresses(sms(2), tg(4))),
        (Audience(languages=frozenset({"en"})), addresses(tg(1), sms(3), sms(7), tg(8))),
        (Audience(topics=frozenset({"jobs"})), addresses(sms(3), tg(4))),
        (Audience(topics=frozenset({"training", "x"})), addresses(tg(4), sms(7))),
        (Audience(topics=frozenset({"nobody's"})), set()),
        (Audience(cities=frozenset({"MULTAN"})), addresses(tg(4), sms(7))),
        (
            Audience(cities=frozenset({"Multan"}), topics=frozenset({"jobs"})),
            addresses(tg(4)),
        ),
        (Audience(channels=frozenset({"telegram"})), addresses(tg(1), tg(4), tg(8))),
    ],
)
async def test_filters(units: Units, audience: Audience, expected: set[tuple[str, str]]) -> None:
    bid = await setup_broadcast(units)
    n, rows = await queue(units, bid, audience)
    assert rows == expected
    assert n == len(expected)


async def test_audience_size_counts_who_would_be_queued(units: Units) -> None:
    await setup_broadcast(units)
    assert await units.run(lambda c: broadcasts.audience_size(c, Audience())) == {
        "telegram": {"en": 2, "ur": 1},
        "sms": {"en": 2, "ur": 1},
    }
    both = await units.run(lambda c: broadcasts.audience_size(c, Audience(both_channels=True)))
    assert both == {"telegram": {"en": 2, "ur": 1}, "sms": {"en": 3, "ur": 1}}
    jobs = Audience(topics=frozenset({"jobs"}))
    assert await units.run(lambda c: broadcasts.audience_size(c, jobs)) == {
        "sms": {"en": 1},
        "telegram": {"ur": 1},
    }
    nobody = Audience(cities=frozenset({"Lahore"}))
    assert await units.run(lambda c: broadcasts.audience_size(c, nobody)) == {}


async def test_queueing_again_is_idempotent_and_adds_only_newcomers(units: Units) -> None:
    bid = await setup_broadcast(units)
    first, rows = await queue(units, bid, Audience())
    again, same = await queue(units, bid, Audience())
    assert (first, again) == (6, 0) and same == rows

    await units.run(lambda c: person(c, sms(9)))
    late, more = await queue(units, bid, Audience())
    assert late == 1 and more == rows | addresses(sms(9))


async def test_deliveries_start_pending_and_due(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())
    rows = await units.run(
        lambda c: c.execute(
            select(
                _deliveries.c.status,
                _deliveries.c.attempts,
                _deliveries.c.next_attempt_at,
                _deliveries.c.created_at,
                _deliveries.c.lease_until,
            ).where(_deliveries.c.broadcast_id == bid)
        ).all()
    )
    assert {tuple(r) for r in rows} == {("pending", 0, NOW, NOW, None)}


async def test_a_duplicate_key_creates_no_second_broadcast(units: Units) -> None:
    def unit(conn: Connection) -> tuple[int | None, int | None, int]:
        aid = announcement(conn)
        key = f"schedule:1:{NOW.isoformat()}"
        first = broadcasts.create_broadcast(conn, aid, Audience(), key, NOW, NOW)
        later = NOW + timedelta(minutes=1)
        second = broadcasts.create_broadcast(conn, aid, Audience(), key, NOW, later)
        count = conn.execute(select(func.count()).select_from(_broadcasts)).scalar_one()
        return first, second, count

    first, second, count = await units.run(unit)
    assert first is not None and second is None and count == 1


async def test_a_broadcast_keeps_its_audience(units: Units) -> None:
    audience = Audience(languages=frozenset({"ur"}), topics=frozenset({"jobs"}))

    def unit(conn: Connection) -> Any:
        bid = broadcasts.create_broadcast(conn, announcement(conn), audience, "manual:2", NOW, NOW)
        return conn.execute(
            select(_broadcasts.c.audience, _broadcasts.c.status).where(_broadcasts.c.id == bid)
        ).one()

    stored, status = await units.run(unit)
    assert status == "queued"
    assert audience_from_dict(stored) == audience


async def test_deleting_a_broadcast_removes_its_deliveries(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())

    def unit(conn: Connection) -> int:
        conn.execute(_broadcasts.delete().where(_broadcasts.c.id == bid))
        return conn.execute(select(func.count()).select_from(_deliveries)).scalar_one()

    assert await units.run(unit) == 0


async def test_the_database_refuses_an_unknown_delivery_status(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())
    with pytest.raises(IntegrityError):
        await units.run(lambda c: c.execute(update(_deliveries).values(status="lost")))


def test_audience_round_trip_and_errors() -> None:
    audience = Audience(
        channels=frozenset({"sms"}),
        languages=frozenset({"ur"}),
        topics=frozenset({"jobs", "it"}),
        cities=frozenset({"Multan"}),
        both_channels=True,
    )
    stored = audience_to_dict(audience)
    assert stored["topics"] == ["it", "jobs"]
    assert audience_from_dict(stored) == audience
    assert audience_from_dict({}) == Audience()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"channels": []}, "at least one"),
        ({"channels": ["fax"]}, "'fax'"),
        ({"languages": ["fr"]}, "'fr'"),
        ({"topics": "jobs"}, "expected a list"),
        ({"topics": [""]}, "non-empty"),
        ({"both_channels": "yes"}, "true or false"),
        ({"town": ["x"]}, "unknown key 'town'"),
    ]
    for bad, words in cases:
        with pytest.raises(AudienceError, match=words):
            audience_from_dict(bad)


async def test_tallies_count_by_status_channel_and_reason(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())
    d = _deliveries

    def unit(conn: Connection) -> list[broadcasts.Tally]:
        first, second = conn.execute(
            select(d.c.id).where(d.c.channel == "sms").order_by(d.c.id).limit(2)
        ).scalars()
        conn.execute(update(d).where(d.c.id == first).values(status="failed", error=None))
        conn.execute(update(d).where(d.c.id == second).values(status="skipped", error="x"))
        return broadcasts.tallies(conn, [bid, 404])

    found = {(t.status, t.channel, t.reason): t.n for t in await units.run(unit)}
    assert found == {
        ("pending", "telegram", None): 3,
        ("pending", "sms", None): 1,
        ("failed", "sms", "unknown"): 1,
        ("skipped", "sms", "x"): 1,
    }
    assert await units.run(lambda conn: broadcasts.tallies(conn, [])) == []


async def test_sms_accepted_counts_charged_sms_by_language_with_the_texts(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience(both_channels=True))
    d, c = _deliveries, _contacts

    def unit(conn: Connection) -> list[broadcasts.SmsAccepted]:
        def mark(address: str, **values: Any) -> None:
            contact = select(c.c.id).where(c.c.address == address).scalar_subquery()
            conn.execute(update(d).where(d.c.contact_id == contact).values(**values))

        mark(sms(1)[1], status="sent", sent_at=NOW)  # English
        mark(sms(2)[1], status="delivered", sent_at=NOW)  # Urdu
        mark(sms(3)[1], status="failed", sent_at=NOW)  # no language (English); accepted: charged
        mark(sms(7)[1], status="failed", error="provider:21211")  # refused: never charged
        mark(tg(4)[1], status="sent", sent_at=NOW)  # Telegram costs nothing
        return broadcasts.sms_accepted(conn, [bid, 404])

    found = sorted(await units.run(unit), key=lambda a: a.language)
    text = ("Training on Monday", None, None)
    assert found == [
        broadcasts.SmsAccepted(bid, "en", *text, 2),
        broadcasts.SmsAccepted(bid, "ur", *text, 1),
    ]
    assert await units.run(lambda conn: broadcasts.sms_accepted(conn, [bid + 1])) == []
    assert await units.run(lambda conn: broadcasts.sms_accepted(conn, [])) == []


async def test_sms_accepted_reads_the_partial_index_on_sqlite(units: Units) -> None:
    """The index holds only accepted SMS; SQLite uses it only when the query repeats its
    condition as literals (a bound 'sms' would not do), so a report never reads the rows of
    SMS still queued."""
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())

    def unit(conn: Connection) -> list[str]:
        return last_plan(conn, lambda c: broadcasts.sms_accepted(c, [bid]))

    assert any("ix_deliveries_sms_accepted" in step for step in await units.run(unit))


async def test_a_broadcast_is_done_when_no_row_is_left_to_send(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())
    later = NOW + timedelta(minutes=1)
    assert await units.run(lambda conn: broadcasts.finish_broadcasts(conn, later)) == []
    await units.run(
        lambda conn: conn.execute(
            update(_deliveries).where(_deliveries.c.broadcast_id == bid).values(status="sent")
        )
    )
    assert await units.run(lambda conn: broadcasts.finish_broadcasts(conn, later)) == [bid]
    (row,) = await units.run(lambda conn: broadcasts.list_broadcasts(conn, broadcast_id=bid))
    assert (row.status, row.finished_at) == ("done", later)
    assert not await units.run(lambda conn: broadcasts.cancel(conn, bid, "cli", later)), "ended"


async def test_cancel_skips_pending_rows_and_lists_who_cancelled(units: Units) -> None:
    bid = await setup_broadcast(units)
    await queue(units, bid, Audience())
    assert await units.run(lambda conn: broadcasts.cancel(conn, bid, "cli:ayesha", NOW))
    (row,) = await units.run(lambda conn: broadcasts.list_broadcasts(conn, limit=1))
    assert (row.id, row.status, row.cancelled_by) == (bid, "cancelled", "cli:ayesha")
    statuses = await units.run(
        lambda conn: set(conn.execute(select(_deliveries.c.status, _deliveries.c.error)))
    )
    assert statuses == {("skipped", broadcasts.CANCELLED)}
    assert await units.run(lambda conn: broadcasts.list_broadcasts(conn, limit=0)) == []
