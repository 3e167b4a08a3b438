"""bot.store.batches: the read before each send and the outcomes of a batch of claims, on both
databases (PostgreSQL reads and finishes several claims in one statement)."""

from __future__ import annotations

from bot.store import batches, broadcasts, deliveries
from bot.store.units import Units
from tests.outreach.test_dispatcher import NOW, opt_out, rows, setup, tg
from tests.store.test_deliveries import LATER, claim


async def test_before_send_sees_an_opt_out_and_a_cancel(units: Units) -> None:
    ids = await setup(units, [tg(1), tg(2)])
    one, two = await claim(units)
    await opt_out(units, ids["1001"])
    assert await units.run(lambda conn: batches.before_send(conn, one)) == "opted_out"
    assert await units.run(lambda conn: broadcasts.cancel(conn, two.broadcast_id, "cli", NOW))
    assert await units.run(lambda conn: batches.before_send(conn, two)) == "cancelled"


async def test_before_sending_reads_each_claim(units: Units) -> None:
    ids = await setup(units, [tg(1), tg(2), tg(3)])
    one, two, three = await claim(units)
    await setup(units, [tg(4)])  # a second broadcast, to all four, cancelled below
    four = (await claim(units))[-1]
    await opt_out(units, ids["1002"])
    await units.run(lambda conn: deliveries.finish(conn, three.delivery_id, "sent", NOW))
    assert await units.run(lambda conn: broadcasts.cancel(conn, four.broadcast_id, "cli", NOW))
    # In the claims' order, whatever order they come in; one claim given twice reads the same.
    claims = [four, three, two, one, two]
    read = await units.run(lambda conn: batches.before_sending(conn, claims))
    assert read == ["cancelled", False, "opted_out", "active", "opted_out"]


async def test_finish_all_records_each_outcome_of_a_current_claim(units: Units) -> None:
    await setup(units, [tg(1), tg(2), tg(3)])
    one, two, three = await claim(units)
    # The third goes back to pending (a retry due at once) and is claimed again.
    assert await units.run(lambda conn: deliveries.retry(conn, three.delivery_id, NOW, "502"))
    (again,) = await claim(units)
    outcomes = [
        batches.Outcome(one.delivery_id, "sent", NOW, one.attempts, provider_id="p1"),
        batches.Outcome(two.delivery_id, "failed", LATER, two.attempts, error="blocked"),
        # The first claim of the third row: it was claimed again since, so it is left alone.
        batches.Outcome(three.delivery_id, "sent", NOW, three.attempts, provider_id="late"),
    ]
    moved = await units.run(lambda conn: batches.finish_all(conn, outcomes))
    assert moved == [True, True, False]
    result = await rows(units)
    assert (result["1001"]["status"], result["1001"]["provider_id"]) == ("sent", "p1")
    assert (result["1001"]["sent_at"], result["1001"]["lease_until"]) == (NOW, None)
    assert (result["1002"]["status"], result["1002"]["error"]) == ("failed", "blocked")
    assert (result["1002"]["sent_at"], result["1002"]["updated_at"]) == (None, LATER)
    assert (result["1003"]["status"], result["1003"]["attempts"]) == ("sending", again.attempts)
    assert result["1003"]["provider_id"] is None
