"""A real ``outreach serve`` killed with SIGKILL in the middle of a burst of resident messages
on every channel, then restarted: every resident gets exactly one reply, but for at most the
replies in flight at the kill, which may go twice.

The burst: ``PER_CHANNEL`` residents each on Telegram (webhook updates), on Twilio (signed SMS
webhooks, answered in TwiML) and on the SMSGate phone (signed ``sms:received`` webhooks, answered
through the SMS provider, here Twilio's REST API), posted concurrently by this test. Once
``KILL_AFTER`` of them were answered 200 the process is killed outright. A second ``outreach
serve`` is started, and every webhook that did not get a 200 is delivered again, as Telegram
and the phone do (and Twilio does when its webhook URL asks for retries with ``#rc=``).

The providers count (after a kill the bot's own records cannot be trusted): the fake Bot API
per chat, the fake Twilio per number (REST sends), and for Twilio webhooks the TwiML replies this
test read in responses. The replies that may go twice are those the database had ``queued``
at the kill (stored, not recorded as sent): their send had maybe reached the provider, or their
TwiML response maybe left, before the process died.

``REPLY_LEASE_SECONDS`` is short here (8 s) so that the replies left in flight by the kill are
swept within seconds (the default is 60), yet longer than a send takes on a loaded machine.
Runs on SQLite, and on PostgreSQL when ``OUTREACH_TEST_POSTGRES_URL`` is set; ``-s`` prints
the figures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.tables import contacts as _contacts
from bot.store.tables import messages as _messages
from fakes import telegram_api as tg
from fakes.http import client as http_client
from fakes.server import aserve
from fakes.smsgate_api import FakeSMSGate
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.conftest import eventually
from tests.processes import free_port, serve, up
from tests.test_crash import REPO, reader

pytestmark = pytest.mark.slow

PER_CHANNEL = 20
KILL_AFTER = 24  # webhooks answered 200 before the kill: well into the burst of 60
CONCURRENCY = 16  # webhooks in flight at once, as several providers' retries would be
TOKEN = "7000000001:AACrashTestTokenForTests_01234567"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "crash-test-twilio-token"
SIGNING_KEY = "crash-test-gateway-key"
PUBLIC = "https://outreach.example.org"
FIRST_CHAT = 710_000_000
SETTINGS = {
    "TELEGRAM_BOT_TOKEN": TOKEN,
    "PUBLIC_BASE_URL": PUBLIC,  # Telegram in webhook mode; what Twilio signs
    "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "TWILIO_FROM_NUMBER": "+15005550006",
    "SMSGATE_USERNAME": "gate-user",
    "SMSGATE_PASSWORD": "gate-pass",
    "SMSGATE_SIGNING_KEY": SIGNING_KEY,
    # Longer than any one send takes here even on a loaded machine (at 3 s, with the load at
    # 24, a reply whose send was still waiting on the fake was swept and sent again).
    "REPLY_LEASE_SECONDS": "8",
    "DISPATCHER_RETRY_SECONDS": "0.5",
    "CONTENT_DIR": str(REPO / "content"),
    "LOG_LEVEL": "WARNING",
}
# Seconds without progress before the test fails (a busy machine is slow, a stuck one stops).
START_TIMEOUT = 60.0
FINISH_TIMEOUT = 30.0


def twilio_number(n: int) -> str:
    return f"+92300{1_000_000 + n}"


def gateway_number(n: int) -> str:
    return f"+92301{1_000_000 + n}"


Post = Callable[[httpx.AsyncClient, str], Awaitable[httpx.Response]]


@dataclass
class Webhook:
    """One provider's call: ``who`` is the resident (chat id or number), ``post`` sends it to a
    server's root URL, the same call each time it is delivered."""

    channel: str
    who: str
    post: Post


@dataclass
class Burst:
    acked: set[int] = field(default_factory=set)
    twiml: Counter[str] = field(default_factory=Counter)  # TwiML replies read, per number


def webhooks(telegram: FakeTelegram, twilio: FakeTwilio, gate: FakeSMSGate) -> list[Webhook]:
    """The burst, interleaved across the channels."""
    received = datetime.now(UTC).replace(microsecond=0)
    calls: list[Webhook] = []
    for n in range(PER_CHANNEL):
        chat = FIRST_CHAT + n
        update = tg.message_update(n + 1, chat, "jobs")

        async def to_telegram(
            client: httpx.AsyncClient, url: str, update: dict[str, object] = update
        ) -> httpx.Response:
            return await telegram.post_update(url + "/telegram/webhook", update, client=client)

        number, sid = twilio_number(n), f"SM{n:032x}"

        async def to_twilio(
            client: httpx.AsyncClient, url: str, number: str = number, sid: str = sid
        ) -> httpx.Response:
            params = {"MessageSid": sid, "From": number, "To": "+15005550006", "Body": "jobs"}
            signature = twilio.signature(PUBLIC + "/sms/twilio", params)
            return await client.post(
                url + "/sms/twilio", data=params, headers={"X-Twilio-Signature": signature}
            )

        sender = gateway_number(n)
        at = received + timedelta(seconds=n)

        async def to_gateway(
            client: httpx.AsyncClient, url: str, sender: str = sender, at: datetime = at
        ) -> httpx.Response:
            return await gate.post_received(
                url + "/sms/smsgate", sender, "jobs", message_id=f"m{sender}", received_at=at
            )

        calls += [
            Webhook("telegram", str(chat), to_telegram),
            Webhook("twilio", number, to_twilio),
            Webhook("gateway", sender, to_gateway),
        ]
    return calls


def twiml_text(response: httpx.Response) -> str | None:
    message = ET.fromstring(response.content).find("Message")  # noqa: S314 (our own TwiML)
    return None if message is None else message.text


async def deliver(
    calls: list[Webhook], which: list[int], url: str, burst: Burst, concurrency: int
) -> None:
    """Post ``calls[i]`` for each ``i`` in ``which``, ``concurrency`` at a time; note each 200
    and each TwiML reply read. A refused connection or a reset is simply not acknowledged."""
    queue = list(reversed(which))
    async with http_client(timeout=10.0) as client:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                call = calls[i]
                try:
                    response = await call.post(client, url)
                except httpx.HTTPError:
                    continue
                if response.status_code != 200:
                    continue
                burst.acked.add(i)
                if call.channel == "twilio" and twiml_text(response) is not None:
                    burst.twiml[call.who] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def queued_replies(db: AsyncEngine) -> set[str]:
    """The residents (address) whose reply is stored and not yet recorded as sent."""
    m, c = _messages, _contacts
    async with db.connect() as conn:
        rows = await conn.execute(
            select(c.c.address)
            .join(m, m.c.contact_id == c.c.id)
            .where(m.c.direction == "out", m.c.status == "queued")
        )
        return set(rows.scalars())


async def reply_statuses(db: AsyncEngine) -> Counter[str]:
    m = _messages
    async with db.connect() as conn:
        rows = await conn.execute(
            select(m.c.status, func.count()).where(m.c.direction == "out").group_by(m.c.status)
        )
        return Counter({status: n for status, n in rows.all()})


async def test_sigkill_mid_burst_every_resident_gets_one_reply_but_the_in_flight(
    db_url: str, tmp_path: Path
) -> None:
    telegram = FakeTelegram(TOKEN)
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    gate = FakeSMSGate("gate-user", "gate-pass", SIGNING_KEY)
    async with (
        aserve(telegram.app) as telegram_api,
        aserve(twilio.app) as twilio_api,
        aserve(gate.app) as gate_api,
        reader(db_url) as db,
    ):
        env = {
            **os.environ,
            **SETTINGS,
            "DATABASE_URL": db_url,
            "TELEGRAM_API_BASE_URL": telegram_api,
            "TWILIO_API_BASE_URL": twilio_api,
            "SMSGATE_URL": gate_api + gate.prefix,
        }
        calls = webhooks(telegram, twilio, gate)
        burst = Burst()

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        async with serve(tmp_path, env, "first", port=port) as first:
            await up(first, url, START_TIMEOUT)
            await first.until(lambda: telegram.webhook is not None, START_TIMEOUT, "webhook")
            sending = asyncio.create_task(
                deliver(calls, list(range(len(calls))), url, burst, CONCURRENCY)
            )
            await first.until(
                lambda: len(burst.acked) >= KILL_AFTER,
                START_TIMEOUT,
                f"{KILL_AFTER} answered",
                progress=lambda: len(burst.acked),
            )
            assert await first.stop(signal.SIGKILL) == -signal.SIGKILL
            await sending
        in_flight = await queued_replies(db)
        unacked = [i for i in range(len(calls)) if i not in burst.acked]
        print(
            f"\nat the kill: {len(burst.acked)} webhooks answered, {len(unacked)} not; "
            f"replies {dict(await reply_statuses(db))}"
        )
        assert unacked, "the kill came after the burst, not in the middle"

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        async with serve(tmp_path, env, "second", port=port) as second:
            await up(second, url, START_TIMEOUT)
            await deliver(calls, unacked, url, burst, CONCURRENCY)
            assert len(burst.acked) == len(calls), "every webhook answered 200 the second time"

            async def all_sent() -> bool:
                return await queued_replies(db) == set()

            async def unsent() -> int:
                return len(await queued_replies(db))

            await second.until(
                all_sent, FINISH_TIMEOUT, "every reply sent", every=0.2, progress=unsent
            )
            code = await second.stop(signal.SIGTERM)
            assert code in (0, -signal.SIGTERM), second.tail()
            assert "Traceback" not in second.output(), second.output()
        await eventually(lambda: not telegram.in_flight, "the fake answers every request")
        final = await reply_statuses(db)

    got: Counter[str] = Counter()
    got.update({str(chat): n for chat, n in telegram.accepted_per_chat().items()})
    got.update(twilio.accepted_per_number())
    got.update(burst.twiml)
    got.update(Counter(n for m in gate.sent for n in m["phoneNumbers"]))
    everyone = {call.who for call in calls}
    twice = {who for who, n in got.items() if n > 1}
    print(f"got their reply twice: {len(twice)}; in flight at the kill: {len(in_flight)}")
    assert set(got) == everyone, "every resident got a reply, nobody else"
    assert twice <= in_flight, "only a reply in flight at the kill may go twice"
    assert all(got[who] <= 2 for who in everyone)
    assert final == Counter({"sent": len(calls)}), "one reply per resident, each sent"
