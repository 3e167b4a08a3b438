"""The dispatcher against providers that misbehave, with the real clients over real HTTP, on
SQLite and PostgreSQL.

The fake Bot API and the fake Twilio API answer a seeded share of sends with a server error, a
429 with a wait, a hold past the client's time-out (then accept the message anyway, as a real
provider may), or a recipient who leaves just then (blocks the bot, replies STOP). The draw
depends on the recipient and the try, not on arrival order, so every run sees the same faults.
Once nothing is ``pending`` or ``sending``, checked against the provider's own record:

* every delivery is final: ``sent``, or ``failed`` with the reason;
* ``attempts`` is exactly the number of requests the provider got for that recipient, so a
  delivery that met a retryable fault has more than one;
* a ``sent`` delivery holds the id of the one accepted answer the client heard, its last try;
* the provider accepted exactly one message per ``sent`` delivery, plus one for each request
  it accepted after the client had given up waiting: the at-least-once caveat, which only a
  time-out can cause (such a message may even belong to a delivery recorded ``failed``);
* after a permanent error for a recipient the provider got nothing more for them, and the
  contact's status follows.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from bot.channels.base import Sender
from bot.channels.telegram import TelegramChannel, build_bot
from bot.channels.twilio import TwilioSMS, build_twilio_client, close_twilio_client
from bot.config import Settings
from bot.outreach.dispatcher import Dispatcher
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.units import Units
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually
from tests.outreach.test_dispatcher import NOW, rows, setup, sms, tg

pytestmark = pytest.mark.slow

SEED = 20261125
PEOPLE = 150
MAX_ATTEMPTS = 3
CONCURRENCY = 16  # below the Telegram client's pool (32): no try waits for a connection
# Long enough that only the fake's held requests time out, even on two busy cores (at 1 s, and
# at 3 s with the machine's load at 24, a slow answer timed out too, after the fake had
# answered it, and was counted as heard).
CLIENT_TIMEOUT = 6.0
HOLD = 12.0  # how long the fake holds a "time-out": past the client's time-out
FAULTS = {"p5xx": 0.1, "p429": 0.08, "ptimeout": 0.05}
PERMANENT_SHARE = 0.02

TOKEN = "7000000001:AAFaultsTokenForTests_0123456789"
ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "twilio-faults-token"
FROM_NUMBER = "+15005550006"


@dataclass(frozen=True)
class Answer:
    """A provider's answer to one send, in common terms; ``nth`` numbers the sends to ``to`` in
    the order they arrived."""

    to: str
    nth: int
    accepted: bool
    client_left: bool  # the client had given up waiting before the answer
    permanent: bool  # an answer, heard by the client, that must end the delivery
    fault: str | None
    provider_id: str | None


def open_deliveries(conn: Connection) -> int:
    d = _deliveries
    count: int = conn.execute(
        select(func.count()).where(d.c.status.in_(("pending", "sending")))
    ).scalar_one()
    return count


async def send_everything(units: Units, sender: Sender) -> None:
    """Run the real dispatch loop, on a clock that starts at NOW and runs in real time, until no
    delivery is pending or sending."""
    dispatcher = Dispatcher(
        units,
        {sender.channel: sender},
        max_attempts=MAX_ATTEMPTS,
        base_backoff=timedelta(seconds=0.05),
        lease=timedelta(minutes=5),
        batch=CONCURRENCY,
    )
    start = time.monotonic()

    def clock() -> datetime:
        return NOW + timedelta(seconds=time.monotonic() - start)

    stop = asyncio.Event()

    async def on_idle(now: datetime) -> None:
        if await units.run(open_deliveries) == 0:
            stop.set()

    async with asyncio.timeout(120):
        await dispatcher.run(sender.channel, stop, clock=clock, idle=0.02, on_idle=on_idle)


async def provider_settled(in_flight: Callable[[], int]) -> None:
    """Wait until the fake has answered every request (a held one ends when its client leaves)."""
    await eventually(lambda: not in_flight(), "the fake answers every request", within=HOLD + 30)


async def contact_statuses(units: Units) -> dict[str, str]:
    def unit(conn: Connection) -> dict[str, str]:
        result = conn.execute(select(_contacts.c.address, _contacts.c.status))
        return {address: status for address, status in result}

    return await units.run(unit)


def check(
    deliveries: dict[str, dict[str, Any]],
    answers: list[Answer],
    statuses: dict[str, str],
    gone_status: str,
) -> dict[str, int]:
    """Assert what the module docstring promises; a few counts, to show the faults happened."""
    by_to: dict[str, list[Answer]] = defaultdict(list)
    for answer in sorted(answers, key=lambda a: a.nth):
        by_to[answer.to].append(answer)
    assert set(by_to) == set(deliveries), "every recipient was tried, nobody else"
    for address, row in deliveries.items():
        tries = by_to[address]
        why = f"{address}: {row['status']} after {row['attempts']}: {row['error']}; {tries}"
        assert row["status"] in ("sent", "failed"), why
        assert row["attempts"] == len(tries) >= 1, why
        if any(t.fault is not None and not t.permanent for t in tries):
            assert row["attempts"] > 1, f"a retryable fault was not retried: {why}"
        permanent = [i for i, t in enumerate(tries) if t.permanent]
        assert permanent in ([], [len(tries) - 1]), f"sent to after a permanent error: {why}"
        heard = [t for t in tries if t.accepted and not t.client_left]
        if row["status"] == "sent":
            assert row["error"] is None, why
            assert row["sent_at"] is not None, why
            assert heard == [tries[-1]], why
            assert row["provider_id"] == tries[-1].provider_id, why
            assert statuses[address] == "active", why
        else:
            assert row["error"], f"a failed delivery says why: {why}"
            assert not heard, why
            if permanent:
                assert statuses[address] == gone_status, why
                assert "attempts)" not in row["error"], why
            else:
                assert len(tries) == MAX_ATTEMPTS, why
                assert row["error"].endswith(f"(after {MAX_ATTEMPTS} attempts)"), why
                assert statuses[address] == "active", why
    sent = sum(1 for row in deliveries.values() if row["status"] == "sent")
    accepted = sum(1 for a in answers if a.accepted)
    accepted_unheard = sum(1 for a in answers if a.accepted and a.client_left)
    timeouts = sum(1 for a in answers if a.fault == "timeout")
    assert accepted == sent + accepted_unheard
    assert accepted_unheard <= timeouts
    return {
        "sent": sent,
        "failed": len(deliveries) - sent,
        "failed_permanently": sum(1 for t in by_to.values() if t[-1].permanent),
        "requests": len(answers),
        "accepted": accepted,
        "accepted_unheard": accepted_unheard,
        **{
            kind: sum(1 for a in answers if a.fault == kind)
            for kind in ("5xx", "429", "timeout", "block", "opt_out")
        },
    }


def assert_every_fault_showed(counts: dict[str, int], gone: str) -> None:
    """The seed gives each kind of fault, a duplicate and both kinds of failure at least once,
    so the checks above really ran against them."""
    print(counts)
    for key in ("5xx", "429", "timeout", gone, "accepted_unheard", "failed_permanently"):
        assert counts[key] > 0, (key, counts)
    assert counts["failed"] > counts["failed_permanently"], counts


@pytest.fixture
async def fake_telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(TOKEN)
    fake.fail_randomly(
        random.Random(SEED), **FAULTS, pblock=PERMANENT_SHARE, delay=HOLD, retry_after=1
    )
    async with aserve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def fake_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.fail_randomly(
        random.Random(SEED), **FAULTS, popt_out=PERMANENT_SHARE, delay=HOLD, retry_after=1
    )
    async with aserve(fake.app) as url:
        yield fake, url


async def test_telegram_faults_end_final_and_match_the_providers_count(
    units: Units, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, url = fake_telegram
    await setup(units, [tg(n) for n in range(1, PEOPLE + 1)])
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN, telegram_api_base_url=url)
    bot = build_bot(settings, timeout=CLIENT_TIMEOUT)
    async with bot:
        await send_everything(units, TelegramChannel(bot))
    await provider_settled(lambda: fake.in_flight)
    answers = [
        Answer(
            to=str(o.chat_id),
            nth=o.nth,
            accepted=o.status == 200,
            client_left=o.client_left,
            permanent=o.status in (400, 403) and not o.client_left,
            fault=o.fault,
            provider_id=f"{o.chat_id}:{o.message_id}" if o.message_id else None,
        )
        for o in fake.outcomes
    ]
    counts = check(await rows(units), answers, await contact_statuses(units), "blocked")
    assert counts["accepted"] == sum(fake.accepted_per_chat().values())
    assert_every_fault_showed(counts, "block")


async def test_twilio_faults_end_final_and_match_the_providers_count(
    units: Units, fake_twilio: tuple[FakeTwilio, str]
) -> None:
    fake, url = fake_twilio
    await setup(units, [sms(n) for n in range(1, PEOPLE + 1)])
    settings = Settings(
        _env_file=None,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base_url=url,
    )
    client = await build_twilio_client(settings)
    try:
        sender = TwilioSMS(client, from_number=FROM_NUMBER, timeout=CLIENT_TIMEOUT)
        await send_everything(units, sender)
    finally:
        await close_twilio_client(client)
    await provider_settled(lambda: fake.in_flight)
    answers = [
        Answer(
            to=o.to,
            nth=o.nth,
            accepted=o.status == 201,
            client_left=o.client_left,
            permanent=400 <= o.status < 500 and o.status != 429 and not o.client_left,
            fault=o.fault,
            provider_id=o.sid,
        )
        for o in fake.outcomes
    ]
    counts = check(await rows(units), answers, await contact_statuses(units), "opted_out")
    assert counts["accepted"] == sum(fake.accepted_per_number().values())
    assert_every_fault_showed(counts, "opt_out")
