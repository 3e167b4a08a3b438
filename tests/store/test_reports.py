"""Delivery reports: applied to replies and announcements, and parked when they come before
the send's provider id was stored, then applied once it is."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, func, select

from bot.store import deliveries, messages, reports
from bot.store.reports import Report
from bot.store.tables import messages as messages_table
from bot.store.tables import parked_reports
from bot.store.units import Units
from tests.outreach.test_dispatcher import NOW, contact_status, rows, setup, sms

LATER = NOW + timedelta(seconds=5)


async def parked(units: Units) -> int:
    return await units.run(
        lambda conn: conn.execute(select(func.count()).select_from(parked_reports)).scalar_one()
    )


async def claim_and_send(units: Units, provider_id: str) -> None:
    """The dispatcher's part: claim the one SMS delivery and record it sent as provider_id."""

    def unit(conn: Connection) -> None:
        (claimed,) = deliveries.claim(conn, "sms", NOW, 10, timedelta(minutes=5))
        deliveries.finish(conn, claimed.delivery_id, "sent", NOW, provider_id=provider_id)

    await units.run(unit)


async def test_a_report_before_the_send_was_recorded_waits_and_then_applies(units: Units) -> None:
    await setup(units, [sms(1)])
    early = Report("sms", "SM-early", "delivered")
    applied = await units.run(lambda conn: reports.record(conn, early, NOW))
    assert applied == reports.Applied(message=False, delivery=False, known=False)
    assert await parked(units) == 1
    # Nothing to apply yet: the delivery has no provider id.
    assert await units.run(lambda conn: reports.apply_parked(conn, NOW)) == (0, 0)
    assert await parked(units) == 1

    await claim_and_send(units, "SM-early")
    assert (await rows(units))[sms(1)[1]]["status"] == "sent"
    assert await units.run(lambda conn: reports.apply_parked(conn, LATER)) == (1, 0)
    assert (await rows(units))[sms(1)[1]]["status"] == "delivered"
    assert await parked(units) == 0


async def test_an_early_stop_report_opts_the_number_out(units: Units) -> None:
    await setup(units, [sms(1)])
    stop = Report("sms", "SM-stop", "failed", "21610", "twilio 21610", "opted_out")
    await units.run(lambda conn: reports.record(conn, stop, NOW))
    await claim_and_send(units, "SM-stop")
    assert await contact_status(units, sms(1)[1]) == "active"
    await units.run(lambda conn: reports.apply_parked(conn, LATER))
    row = (await rows(units))[sms(1)[1]]
    assert (row["status"], row["error"]) == ("failed", "twilio 21610")
    assert await contact_status(units, sms(1)[1]) == "opted_out"


async def test_reports_on_known_ids_apply_at_once_and_are_not_parked(units: Units) -> None:
    ids = await setup(units, [sms(1)])
    await claim_and_send(units, "SM-ann")

    def reply(conn: Connection) -> int:
        return messages.record_outbound(
            conn, ids[sms(1)[1]], "sms", "Hello", NOW, status="sent", provider_id="SM-reply"
        )

    message_id = await units.run(reply)
    delivered = await units.run(
        lambda conn: reports.record(conn, Report("sms", "SM-ann", "delivered"), NOW)
    )
    assert delivered == reports.Applied(message=False, delivery=True, known=True)
    answered = await units.run(
        lambda conn: reports.record(conn, Report("sms", "SM-reply", "delivered"), NOW)
    )
    assert answered == reports.Applied(message=True, delivery=False, known=True)
    # A repeat changes nothing, and is known: not parked.
    again = await units.run(
        lambda conn: reports.record(conn, Report("sms", "SM-ann", "delivered"), NOW)
    )
    assert again == reports.Applied(message=False, delivery=False, known=True)
    assert await parked(units) == 0
    status = await units.run(
        lambda conn: conn.execute(
            select(messages_table.c.status).where(messages_table.c.id == message_id)
        ).scalar_one()
    )
    assert status == "delivered"


async def test_a_report_that_never_matches_is_dropped_after_a_day(units: Units) -> None:
    await setup(units, [sms(1)])
    await units.run(lambda conn: reports.record(conn, Report("sms", "SM-other", "sent"), NOW))
    almost = NOW + reports.KEEP_PARKED - timedelta(seconds=1)
    assert await units.run(lambda conn: reports.apply_parked(conn, almost)) == (0, 0)
    assert await parked(units) == 1
    day = NOW + reports.KEEP_PARKED + timedelta(seconds=1)
    assert await units.run(lambda conn: reports.apply_parked(conn, day)) == (0, 1)
    assert await parked(units) == 0
