"""bot.store.epochs: the one-worker lock's fencing token, and the claim and the read before a
send that check it, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store import batches, deliveries, epochs
from bot.store.epochs import Fenced
from bot.store.units import Units
from tests.outreach.test_dispatcher import NOW, rows, setup, tg
from tests.store.test_deliveries import LATER, LEASE


async def take(units: Units) -> int:
    return await units.run(lambda conn: epochs.take(conn, NOW))


async def test_each_holder_takes_the_next_epoch(units: Units) -> None:
    assert await units.run(epochs.current) is None
    assert [await take(units), await take(units), await take(units)] == [1, 2, 3]
    assert await units.run(epochs.current) == 3


async def test_a_claim_under_a_stale_epoch_claims_nothing_and_says_so(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    old = await take(units)
    await take(units)  # another worker took over
    with pytest.raises(Fenced) as raised:
        await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE, epoch=old))
    assert raised.value.epoch == old
    assert {r["status"] for r in (await rows(units)).values()} == {"pending"}
    assert all(r["attempts"] == 0 for r in (await rows(units)).values())


async def test_a_stale_epoch_does_not_return_expired_leases_either(units: Units) -> None:
    await setup(units, [tg(1)])
    old = await take(units)
    claimed = await units.run(
        lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE, epoch=old)
    )
    assert [c.epoch for c in claimed] == [old]
    await take(units)
    with pytest.raises(Fenced):  # at LATER the lease is over: still nothing for the old one
        await units.run(
            lambda conn: deliveries.claim(conn, "telegram", LATER, 10, LEASE, epoch=old)
        )
    assert (await rows(units))["1001"]["status"] == "sending"


async def test_under_the_current_epoch_a_claim_works_and_an_empty_queue_is_no_error(
    units: Units,
) -> None:
    await setup(units, [tg(1)])
    mine = await take(units)
    claimed = await units.run(
        lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE, epoch=mine)
    )
    assert [c.address for c in claimed] == ["1001"]
    again = await units.run(
        lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE, epoch=mine)
    )
    assert again == []


async def test_the_read_before_a_send_fails_once_another_worker_took_over(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    mine = await take(units)
    first, second = await units.run(
        lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE, epoch=mine)
    )
    assert await units.run(lambda conn: batches.before_send(conn, first)) == "active"
    await take(units)
    assert await units.run(lambda conn: batches.before_send(conn, second)) == "fenced"


async def test_an_unfenced_claim_ignores_epochs(units: Units) -> None:
    """Scripts and tests that claim without a worker: no epoch, no fence."""
    await setup(units, [tg(1)])
    await take(units)
    claimed = await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 10, LEASE))
    assert [c.epoch for c in claimed] == [None]
    assert await units.run(lambda conn: batches.before_send(conn, claimed[0])) == "active"


async def test_taking_the_epoch_beats_the_first_heartbeat_and_only_the_holder_beats(
    units: Units,
) -> None:
    assert await units.run(epochs.holder) is None
    old = await take(units)
    assert await units.run(epochs.holder) == epochs.Holder(old, NOW, NOW)

    later = NOW + timedelta(seconds=10)
    assert await units.run(lambda conn: epochs.beat(conn, old, later))
    assert await units.run(epochs.holder) == epochs.Holder(old, NOW, later)

    new = await take(units)  # another worker took over: the old one's beat writes nothing
    assert not await units.run(lambda conn: epochs.beat(conn, old, later + timedelta(seconds=5)))
    assert await units.run(epochs.holder) == epochs.Holder(new, NOW, NOW)
