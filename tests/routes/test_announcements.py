"""Announcements through the running app: the worker inside ``serve`` sends what is queued,
at the providers (fakes over real HTTP), and delivery reports come back into ``deliveries``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from bot.core.audience import Audience
from bot.store import broadcasts, contacts
from bot.store.broadcast_models import Announcement, Broadcast
from bot.store.tables import deliveries as deliveries_table
from fakes import telegram_api as tg
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.apps import app_for
from tests.conftest import eventually
from tests.routes.conftest import Served, make_settings
from tests.routes.test_sms_twilio import RESIDENT, post
from tests.routes.test_telegram import post as tg_post

TEXT = "New web development course starts soon. Reply JOBS for jobs."


async def announce(app: Served, audience: Audience) -> int:
    """Queue an announcement to ``audience`` as a coordinator would; the broadcast id."""
    now = datetime.now(UTC)

    def unit(conn: Connection) -> int:
        aid = conn.execute(
            insert(Announcement)
            .values(title="Course", text_en=TEXT, created_at=now, updated_at=now)
            .returning(Announcement.id)
        ).scalar_one()
        bid, queued = broadcasts.start_broadcast(
            conn, aid, audience, f"manual:test-{aid}", now, now, created_by="cli"
        )
        assert bid is not None and queued > 0
        return bid

    return await app.runtime.units.run(unit)


async def delivery_rows(app: Served) -> list[dict[str, Any]]:
    def unit(conn: Connection) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(select(deliveries_table))]

    return await app.runtime.units.run(unit)


async def broadcast_status(app: Served, broadcast_id: int) -> str:
    def unit(conn: Connection) -> str:
        status: str = conn.execute(
            select(Broadcast.status).where(Broadcast.id == broadcast_id)
        ).scalar_one()
        return status

    return await app.runtime.units.run(unit)


async def announce_to_a_texter(app: Served, sid: str) -> tuple[int, dict[str, Any]]:
    """A resident texts in, then an SMS announcement is queued; once the worker has sent it,
    the broadcast id and the delivery row."""
    await post(app, {"MessageSid": sid, "From": RESIDENT, "To": "+15005550006", "Body": "jobs"})
    bid = await announce(app, Audience(channels=frozenset({"sms"})))

    async def sent() -> bool:
        return [r["status"] for r in await delivery_rows(app)] == ["sent"]

    await eventually(sent, "the worker sends the announcement")
    [row] = await delivery_rows(app)
    return bid, row


async def test_serve_sends_a_queued_sms_announcement_and_applies_its_reports(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    bid, row = await announce_to_a_texter(twilio_app, "SMin1")
    # By SMS with the opt-out footer (the text gives no STOP instruction).
    assert [m["body"] for m in fake.sent if m["to"] == RESIDENT][-1] == TEXT + "\nSTOP to opt out."
    assert row["provider_id"] in {m["sid"] for m in fake.sent}

    response = await fake.post_status(
        twilio_app.url + "/sms/twilio/status", row["provider_id"], "delivered"
    )
    assert response.status_code == 204
    [row] = await delivery_rows(twilio_app)
    assert row["status"] == "delivered"

    async def done() -> bool:
        return await broadcast_status(twilio_app, bid) == "done"

    await eventually(done, "the broadcast is marked done")


async def test_a_report_that_comes_before_the_send_is_recorded_is_kept_and_applied(
    db_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, api = fake_twilio
    # Early reports are looked at every 0.05 s instead of 10 (the wait is the setting's).
    settings = make_settings(db_url, twilio_api_base_url=api, early_reports_seconds=0.05)
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        await _report_before_the_send(Served(url, app), fake)


async def _report_before_the_send(twilio_app: Served, fake: FakeTwilio) -> None:
    await post(
        twilio_app, {"MessageSid": "SMin3", "From": RESIDENT, "To": "+15005550006", "Body": "jobs"}
    )
    # Twilio reports the number gone (21610) before it answers the send.
    fake.report_before_answering(twilio_app.url + "/sms/twilio/status", "undelivered", 21610)
    await announce(twilio_app, Audience(channels=frozenset({"sms"})))

    async def failed() -> bool:
        return [r["status"] for r in await delivery_rows(twilio_app)] == ["failed"]

    await eventually(failed, "the early report is applied once the send is recorded")
    [row] = await delivery_rows(twilio_app)
    assert row["provider_id"] in {m["sid"] for m in fake.sent}
    assert row["error"] == "twilio 21610"
    assert (await twilio_app.contact(RESIDENT)).status == "opted_out"


async def test_a_21610_report_on_an_announcement_opts_the_number_out(
    twilio_app: Served, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, _ = fake_twilio
    _, row = await announce_to_a_texter(twilio_app, "SMin2")
    await fake.post_status(
        twilio_app.url + "/sms/twilio/status", row["provider_id"], "undelivered", 21610
    )
    [row] = await delivery_rows(twilio_app)
    assert row["status"] == "failed"
    assert (await twilio_app.contact(RESIDENT)).status == "opted_out"


async def test_serve_sends_telegram_announcements_and_never_to_an_opted_out_chat(
    telegram_app: Served, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = fake_telegram
    for update_id, chat in enumerate((7001, 7002), start=1):
        await tg_post(telegram_app, fake, tg.command_update(update_id, chat, "start"))
    rt = telegram_app.runtime
    stopped = await telegram_app.contact("7002")
    await rt.units.run(
        lambda conn: contacts.set_contact_status(
            conn, stopped.id, "opted_out", datetime.now(UTC), reason="keyword"
        )
    )
    await announce(telegram_app, Audience(channels=frozenset({"telegram"})))

    await eventually(lambda: TEXT in fake.texts_to(7001), "the announcement reaches chat 7001")

    # The fake has the text before the dispatcher records Telegram's answer: wait for that.
    async def recorded() -> bool:
        statuses = sorted(r["status"] for r in await delivery_rows(telegram_app))
        return statuses == ["sent"]  # the opted-out chat was never even queued

    await eventually(recorded, "one delivery, sent")
    assert TEXT not in fake.texts_to(7002)
