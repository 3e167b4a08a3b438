"""Replies in the outbox, over real HTTP with the fake providers, on both databases: a
transient provider error delays a reply and never drops it, a re-sent update gets its unsent
reply once and a sent one nothing more, an opted-out resident gets nothing, and a TwiML reply
whose response never left is sent through the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.outreach.inbound import IncomingMessage
from bot.outreach.worker import Worker, running
from bot.store.models import Message
from fakes import telegram_api as tg
from fakes.smsgate_api import FakeSMSGate
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually
from tests.routes.conftest import BOT_TOKEN, Served, served

CHAT = 515151
HOOK = "/telegram/webhook"
RESIDENT = "+923001234567"


@asynccontextmanager
async def telegram(
    db_url: str, fake_telegram: tuple[FakeTelegram, str], **settings: Any
) -> AsyncIterator[Served]:
    _, api = fake_telegram
    async with served(
        db_url, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=api, **settings
    ) as app:
        yield app


async def replies(app: Served) -> list[Message]:
    async with app.sessions.begin() as s:
        rows = await s.scalars(select(Message).where(Message.direction == "out"))
        return list(rows.all())


async def test_a_reply_the_bot_api_refused_once_is_sent_once_when_it_recovers(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = fake_telegram
    async with telegram(db_url, fake_telegram, dispatcher_retry_seconds=0.1) as app:
        fake.fail_next(1, 502)
        response = await fake.post_update(app.url + HOOK, tg.message_update(1, CHAT, "jobs"))
        assert response.status_code == 200

        async def sent() -> bool:
            return [r.status for r in await replies(app)] == ["sent"]

        await eventually(sent, "the worker sends the reply again")
        assert len(fake.texts_to(CHAT)) == 1
        (reply,) = await replies(app)
        assert reply.attempts == 2 and reply.provider_id is not None
        assert reply.next_attempt_at is None


async def test_a_re_sent_update_gets_its_unsent_reply_once_and_then_nothing(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = fake_telegram
    # No worker: only the update sent again can send the reply.
    async with telegram(db_url, fake_telegram, run_worker=False, dispatcher_retry_seconds=0) as app:
        fake.fail_next(1, 502)
        update = tg.message_update(2, CHAT, "jobs")
        assert (await fake.post_update(app.url + HOOK, update)).status_code == 200
        assert fake.texts_to(CHAT) == []
        assert [r.status for r in await replies(app)] == ["queued"]

        assert (await fake.post_update(app.url + HOOK, update)).status_code == 200
        assert len(fake.texts_to(CHAT)) == 1, "the second delivery sends the stored reply"
        assert (await fake.post_update(app.url + HOOK, update)).status_code == 200
        assert len(fake.texts_to(CHAT)) == 1, "a sent reply is not sent again"
        (reply,) = await replies(app)
        assert (reply.status, reply.attempts) == ("sent", 2)


async def test_a_separate_worker_sends_the_replies_serve_could_not(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    """``serve`` with ``RUN_WORKER=false`` and an ``outreach worker`` beside it (the Procfile)."""
    fake, _ = fake_telegram
    async with telegram(db_url, fake_telegram, run_worker=False, dispatcher_retry_seconds=0) as app:
        fake.fail_next(1, 502)
        await fake.post_update(app.url + HOOK, tg.message_update(5, CHAT, "jobs"))
        assert fake.texts_to(CHAT) == []
        rt = app.runtime
        worker = Worker(rt.engine, rt.units, rt.senders, rt.settings, idle=0.05)
        async with running(worker):

            async def sent() -> bool:
                return [r.status for r in await replies(app)] == ["sent"]

            await eventually(sent, "the worker sends the reply")
        assert len(fake.texts_to(CHAT)) == 1


async def test_a_reply_waiting_for_a_retry_is_never_sent_after_stop(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, _ = fake_telegram
    async with telegram(db_url, fake_telegram, run_worker=False, dispatcher_retry_seconds=0) as app:
        fake.fail_next(1, 502)
        await fake.post_update(app.url + HOOK, tg.message_update(3, CHAT, "jobs"))
        await fake.post_update(app.url + HOOK, tg.message_update(4, CHAT, "STOP"))
        (confirmation,) = fake.texts_to(CHAT)

        rt = app.runtime
        later = datetime.now(UTC) + timedelta(seconds=1)
        swept = await rt.inbox.replies.sweep("telegram", rt.senders["telegram"], later)
        assert swept == 1, "the waiting reply was claimed"
        # Telegram sends the first update again: nothing goes either.
        await fake.post_update(app.url + HOOK, tg.message_update(3, CHAT, "jobs"))
        assert fake.texts_to(CHAT) == [confirmation], "only the STOP confirmation"
        statuses = sorted((r.status, r.error) for r in await replies(app))
        assert statuses == [("failed", "opted out before sending"), ("sent", None)]


async def test_a_gateway_reply_is_sent_once_after_the_phone_failed(
    db_url: str, fake_gate: tuple[FakeSMSGate, str]
) -> None:
    fake, api = fake_gate
    async with served(
        db_url,
        twilio_account_sid=None,
        twilio_auth_token=None,
        smsgate_url=api,
        smsgate_username="gate-user",
        smsgate_password="gate-pass",
        dispatcher_retry_seconds=0.1,
    ) as app:
        fake.fail_next(1, 500)
        response = await fake.post_received(app.url + "/sms/smsgate", RESIDENT, "jobs")
        assert response.status_code == 200

        async def sent() -> bool:
            return [r.status for r in await replies(app)] == ["sent"]

        await eventually(sent, "the worker sends the reply again")
        assert [m["phoneNumbers"] for m in fake.sent] == [[RESIDENT]]


async def test_a_twiml_reply_whose_response_never_left_goes_by_the_rest_api(
    db_url: str, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, api = fake_twilio
    async with served(db_url, twilio_api_base_url=api, reply_lease_seconds=1) as app:
        # What the webhook stores before its TwiML response; the process dies before the
        # response is written, so nobody records it sent.
        outcome = await app.runtime.inbox.handle(
            IncomingMessage("sms", RESIDENT, "jobs", "SMlost", datetime.now(UTC))
        )
        assert outcome.due is not None

        async def sent() -> bool:
            return [r.status for r in await replies(app)] == ["sent"]

        await eventually(sent, "the sweeper sends it once its lease is over")
        assert [(m["to"], m["body"]) for m in fake.sent] == [(RESIDENT, outcome.due.reply.text)]
