"""The dispatcher against fake senders, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from sqlalchemy import Connection, insert, select

from bot.channels.base import Permanent, RecipientGone, Retryable, SendResult
from bot.channels.simulator import SimulatorChannel
from bot.core.audience import Audience
from bot.core.decision import Channel, Reply
from bot.core.windows import SendWindow
from bot.outreach.dispatcher import Dispatcher
from bot.outreach.pacing import Pacer
from bot.store import broadcasts, contacts, deliveries
from bot.store.tables import announcements as _announcements
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units
from fakes.clock import FakeClock

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 15:00 in Karachi: SMS window open
QUIET = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # 22:00 in Karachi: quiet hours
OPENS = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 09:00 in Karachi the next morning


_keys = itertools.count()


@dataclass
class Recorder:
    """Accepts everything and remembers who was sent what."""

    channel: Channel
    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.sent.append((to, reply.text))
        return SendResult(provider_id=f"p-{to}-{len(self.sent)}")


@dataclass
class Scripted:
    """Raises the scripted errors for an address, in order, then accepts."""

    channel: Channel
    errors: dict[str, list[Exception]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.calls.append(to)
        queue = self.errors.get(to)
        if queue:
            raise queue.pop(0)
        return SendResult(provider_id=f"ok-{to}")


def person(conn: Connection, channel: Channel, address: str, language: str | None = "en") -> int:
    sid = conn.execute(
        insert(_subscribers)
        .values(language=language, created_at=NOW, updated_at=NOW)
        .returning(_subscribers.c.id)
    ).scalar_one()
    cid: int = conn.execute(
        insert(_contacts)
        .values(
            subscriber_id=sid,
            channel=channel,
            address=address,
            status="active",
            status_changed_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
        .returning(_contacts.c.id)
    ).scalar_one()
    return cid


def broadcast(conn: Connection, text_ur: str | None = None) -> int:
    aid = conn.execute(
        insert(_announcements)
        .values(
            title="Training",
            text_en="Training on Monday",
            text_ur=text_ur,
            created_at=NOW,
            updated_at=NOW,
        )
        .returning(_announcements.c.id)
    ).scalar_one()
    bid = broadcasts.create_broadcast(
        conn, aid, Audience(both_channels=True), f"manual:{next(_keys)}", NOW, NOW
    )
    assert bid is not None
    return bid


async def setup(
    units: Units,
    people: list[tuple[Channel, str, str | None]],
    text_ur: str | None = None,
    **paging: int,
) -> dict[str, int]:
    """Everyone in ``people`` (channel, address, language) queued in one broadcast (``paging``:
    ``queue_deliveries``' ``at_once`` and ``page``); contact ids by address."""

    def unit(conn: Connection) -> dict[str, int]:
        ids = {address: person(conn, ch, address, lang) for ch, address, lang in people}
        bid = broadcast(conn, text_ur)
        broadcasts.queue_deliveries(conn, bid, Audience(both_channels=True), NOW, **paging)
        return ids

    return await units.run(unit)


def sms(n: int) -> tuple[Channel, str, str | None]:
    return ("sms", f"+9230000{n:05d}", "en")


def tg(n: int) -> tuple[Channel, str, str | None]:
    return ("telegram", f"{1000 + n}", "en")


async def rows(units: Units) -> dict[str, dict[str, Any]]:
    """Every delivery by its contact's address."""

    def unit(conn: Connection) -> dict[str, dict[str, Any]]:
        result = conn.execute(
            select(_contacts.c.address, _deliveries).join(
                _contacts, _contacts.c.id == _deliveries.c.contact_id
            )
        )
        return {row.address: dict(row._mapping) for row in result}

    return await units.run(unit)


async def contact_status(units: Units, address: str) -> str:
    def unit(conn: Connection) -> str:
        status: str = conn.execute(
            select(_contacts.c.status).where(_contacts.c.address == address)
        ).scalar_one()
        return status

    return await units.run(unit)


async def opt_out(units: Units, contact_id: int, now: datetime = NOW) -> None:
    await units.run(
        lambda conn: contacts.set_contact_status(
            conn, contact_id, "opted_out", now, reason="keyword"
        )
    )


async def test_everything_ends_sent(units: Units) -> None:
    await setup(units, [sms(1), sms(2), tg(1), tg(2), tg(3)])
    sms_sender, tg_sender = SimulatorChannel("sms"), Recorder("telegram")
    rate = {"telegram": Pacer(100)}
    dispatcher = Dispatcher(
        units, {"sms": sms_sender, "telegram": tg_sender}, window=SendWindow(), batch=2, rate=rate
    )
    total = 0
    for channel in ("sms", "telegram"):
        while n := await dispatcher.run_once(channel, NOW):
            total += n
    assert total == 5
    assert await dispatcher.run_once("sms", NOW) == 0
    result = await rows(units)
    assert {r["status"] for r in result.values()} == {"sent"}
    assert all(r["attempts"] == 1 and r["provider_id"] for r in result.values())
    assert all(r["lease_until"] is None for r in result.values())
    assert sorted(s.to for s in sms_sender.outbox) == [sms(1)[1], sms(2)[1]]
    assert sorted(to for to, _ in tg_sender.sent) == ["1001", "1002", "1003"]


async def test_a_broadcast_kept_in_pages_reaches_everyone_once_in_order(units: Units) -> None:
    people = [sms(n) for n in range(1, 8)] + [tg(n) for n in range(1, 4)]
    ids = await setup(units, people, at_once=1, page=1)  # one written, the rest a page each
    await opt_out(units, ids[sms(6)[1]])  # while still in a page
    sms_sender, tg_sender = Recorder("sms"), Recorder("telegram")
    dispatcher = Dispatcher(
        units, {"sms": sms_sender, "telegram": tg_sender}, window=SendWindow(), batch=2
    )
    for channel in ("sms", "telegram"):
        while await dispatcher.run_once(channel, NOW):
            pass

    assert [to for to, _ in sms_sender.sent] == [sms(n)[1] for n in (1, 2, 3, 4, 5, 7)]
    assert [to for to, _ in tg_sender.sent] == ["1001", "1002", "1003"]
    result = await rows(units)
    assert len(result) == len(people)
    assert result[sms(6)[1]]["status"] == "skipped"
    assert await units.run(lambda conn: broadcasts.finish_broadcasts(conn, NOW)) != []


async def test_opted_out_after_queueing_is_skipped_and_never_sent(units: Units) -> None:
    ids = await setup(units, [sms(1), sms(2), tg(1)])
    await opt_out(units, ids[sms(2)[1]])
    await units.run(
        lambda conn: contacts.set_contact_status(
            conn, ids["1001"], "blocked", NOW, reason="telegram"
        )
    )
    sender, tg_sender = Recorder("sms"), Recorder("telegram")
    dispatcher = Dispatcher(units, {"sms": sender, "telegram": tg_sender}, window=SendWindow())
    assert await dispatcher.run_once("sms", NOW) == 2
    assert await dispatcher.run_once("telegram", NOW) == 1
    assert [to for to, _ in sender.sent] == [sms(1)[1]]
    assert tg_sender.sent == []
    result = await rows(units)
    assert result[sms(2)[1]]["status"] == "skipped"
    assert result[sms(2)[1]]["error"] == "contact opted_out"
    assert result["1001"]["status"] == "skipped"
    assert result["1001"]["error"] == "contact blocked"
    assert result[sms(1)[1]]["status"] == "sent"


@dataclass
class OptsOutOthers:
    """Sends, and the first send opts out another contact (an opt-out after the claim)."""

    channel: Channel
    units: Units
    victim: int
    sent: list[str] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        self.sent.append(to)
        if len(self.sent) == 1:
            await opt_out(self.units, self.victim)
        return SendResult(provider_id=f"p-{to}")


async def test_opt_out_after_the_claim_is_not_sent(units: Units) -> None:
    ids = await setup(units, [tg(1), tg(2), tg(3)])
    sender = OptsOutOthers("telegram", units, victim=ids["1003"])
    # Paced one at a time: the opt-out lands while the batch is being worked through.
    rate = {"telegram": Pacer(20)}
    dispatcher = Dispatcher(units, {"telegram": sender}, rate=rate)
    assert await dispatcher.run_once("telegram", NOW) == 3
    assert "1003" not in sender.sent
    result = await rows(units)
    assert result["1003"]["status"] == "skipped"
    assert {result[a]["status"] for a in ("1001", "1002")} == {"sent"}


async def test_a_broadcast_cancelled_after_the_claim_is_not_sent(units: Units) -> None:
    await setup(units, [tg(1), tg(2), tg(3)])
    sent: list[str] = []

    @dataclass
    class CancelsOnFirstSend:
        channel: Channel = "telegram"

        async def send(self, to: str, reply: Reply) -> SendResult:
            sent.append(to)
            if len(sent) == 1:  # a coordinator cancels while the batch is being worked through
                await units.run(lambda conn: cancel_all(conn))
            return SendResult(provider_id=f"p-{to}")

    def cancel_all(conn: Connection) -> None:
        for bid in conn.execute(select(_deliveries.c.broadcast_id).distinct()).scalars():
            assert broadcasts.cancel(conn, bid, "cli", NOW)

    dispatcher = Dispatcher(units, {"telegram": CancelsOnFirstSend()}, rate={"telegram": Pacer(20)})
    assert await dispatcher.run_once("telegram", NOW) == 3
    # The pace lets two go at the start (their reads may precede the cancel); the third is
    # read after it.
    assert "1003" not in sent
    result = await rows(units)
    assert (result["1003"]["status"], result["1003"]["error"]) == ("skipped", "cancelled")


async def test_quiet_hours_defer_sms_but_not_telegram(units: Units) -> None:
    await setup(units, [sms(1), tg(1)])
    sms_sender, tg_sender = Recorder("sms"), Recorder("telegram")
    dispatcher = Dispatcher(units, {"sms": sms_sender, "telegram": tg_sender}, window=SendWindow())
    assert await dispatcher.run_once("sms", QUIET) == 1
    assert await dispatcher.run_once("telegram", QUIET) == 1
    assert sms_sender.sent == []
    assert [to for to, _ in tg_sender.sent] == ["1001"]
    result = await rows(units)
    deferred = result[sms(1)[1]]
    assert deferred["status"] == "pending"
    assert deferred["attempts"] == 0
    assert deferred["next_attempt_at"] == OPENS
    assert result["1001"]["status"] == "sent"
    # Not due again until the window opens; then sent, on its first attempt.
    assert await dispatcher.run_once("sms", OPENS - timedelta(seconds=1)) == 0
    assert await dispatcher.run_once("sms", OPENS) == 1
    assert [to for to, _ in sms_sender.sent] == [sms(1)[1]]
    result = await rows(units)
    assert result[sms(1)[1]]["status"] == "sent"
    assert result[sms(1)[1]]["attempts"] == 1


async def test_retryable_then_success_records_attempts(units: Units) -> None:
    await setup(units, [tg(1)])
    sender = Scripted(
        "telegram",
        errors={"1001": [Retryable("429", after=100), Retryable("502", after=None)]},
    )
    dispatcher = Dispatcher(units, {"telegram": sender}, base_backoff=timedelta(seconds=30))
    assert await dispatcher.run_once("telegram", NOW) == 1
    first = (await rows(units))["1001"]
    assert first["status"] == "pending"
    assert first["attempts"] == 1
    assert first["error"] == "429"
    assert first["next_attempt_at"] == NOW + timedelta(seconds=100)  # retry_after wins
    assert await dispatcher.run_once("telegram", NOW + timedelta(seconds=99)) == 0
    later = NOW + timedelta(seconds=100)
    assert await dispatcher.run_once("telegram", later) == 1
    second = (await rows(units))["1001"]
    assert second["status"] == "pending"
    assert second["attempts"] == 2
    assert second["next_attempt_at"] == later + timedelta(seconds=60)  # 30 * 2 ** 1
    assert await dispatcher.run_once("telegram", later + timedelta(seconds=60)) == 1
    final = (await rows(units))["1001"]
    assert final["status"] == "sent"
    assert final["attempts"] == 3
    assert final["provider_id"] == "ok-1001"
    assert sender.calls == ["1001"] * 3


async def test_retry_after_is_honoured_even_when_shorter_than_the_backoff(units: Units) -> None:
    await setup(units, [tg(1)])
    sender = Scripted("telegram", errors={"1001": [Retryable("429", after=1)]})
    dispatcher = Dispatcher(units, {"telegram": sender}, base_backoff=timedelta(seconds=30))
    assert await dispatcher.run_once("telegram", NOW) == 1
    assert (await rows(units))["1001"]["next_attempt_at"] == NOW + timedelta(seconds=1)


async def test_a_429_holds_every_send_of_the_channel(units: Units) -> None:
    await setup(units, [tg(n) for n in range(1, 6)])
    stamps: dict[str, float] = {}
    refused: list[float] = []

    @dataclass
    class FloodControl:
        channel: Channel = "telegram"

        async def send(self, to: str, reply: Reply) -> SendResult:
            if not refused:
                refused.append(time.monotonic())
                raise Retryable("429", after=0.3)
            stamps[to] = time.monotonic()
            return SendResult(provider_id=f"ok-{to}")

    pacer = Pacer(100)
    dispatcher = Dispatcher(units, {"telegram": FloodControl()}, rate={"telegram": pacer})
    assert await dispatcher.run_once("telegram", NOW) == 5
    assert len(stamps) == 4, "the refused one waits for its retry; the others went"
    assert all(t - refused[0] >= 0.3 * 0.99 for t in stamps.values())


async def test_permanent_fails_with_the_reason(units: Units) -> None:
    await setup(units, [sms(1)])
    sender = Scripted("sms", errors={sms(1)[1]: [Permanent("twilio:21408 region not enabled")]})
    dispatcher = Dispatcher(units, {"sms": sender}, window=SendWindow())
    assert await dispatcher.run_once("sms", NOW) == 1
    row = (await rows(units))[sms(1)[1]]
    assert row["status"] == "failed"
    assert row["error"] == "twilio:21408 region not enabled"
    assert await contact_status(units, sms(1)[1]) == "active"
    assert await dispatcher.run_once("sms", NOW + timedelta(days=1)) == 0


async def test_recipient_gone_blocks_the_contact(units: Units) -> None:
    await setup(units, [tg(1)])
    sender = Scripted(
        "telegram", errors={"1001": [RecipientGone("telegram:403", status="blocked")]}
    )
    dispatcher = Dispatcher(units, {"telegram": sender})
    assert await dispatcher.run_once("telegram", NOW) == 1
    row = (await rows(units))["1001"]
    assert row["status"] == "failed"
    assert row["error"] == "telegram:403"
    assert await contact_status(units, "1001") == "blocked"


async def test_max_attempts_then_failed(units: Units) -> None:
    await setup(units, [tg(1)])
    sender = Scripted("telegram", errors={"1001": [Retryable("timeout")] * 10})
    dispatcher = Dispatcher(
        units, {"telegram": sender}, max_attempts=3, base_backoff=timedelta(seconds=1)
    )
    now = NOW
    for _ in range(3):
        assert await dispatcher.run_once("telegram", now) == 1
        now += timedelta(hours=1)
    assert await dispatcher.run_once("telegram", now) == 0
    row = (await rows(units))["1001"]
    assert row["status"] == "failed"
    assert row["attempts"] == 3
    assert "timeout" in row["error"]
    assert sender.calls == ["1001"] * 3


async def test_expired_lease_is_reclaimed_and_sent_again(units: Units) -> None:
    await setup(units, [tg(1), tg(2)])
    lease = timedelta(minutes=5)
    # A dispatcher claimed both and died before sending.
    claimed = await units.run(lambda conn: deliveries.claim(conn, "telegram", NOW, 10, lease))
    assert [c.address for c in claimed] == ["1001", "1002"]
    sender = Recorder("telegram")
    dispatcher = Dispatcher(units, {"telegram": sender}, lease=lease)
    assert await dispatcher.run_once("telegram", NOW + timedelta(minutes=4)) == 0  # still held
    assert sender.sent == []
    assert await dispatcher.run_once("telegram", NOW + timedelta(minutes=6)) == 2
    assert sorted(to for to, _ in sender.sent) == ["1001", "1002"]
    result = await rows(units)
    assert {r["status"] for r in result.values()} == {"sent"}
    assert {r["attempts"] for r in result.values()} == {2}


async def test_urdu_text_for_urdu_subscribers(units: Units) -> None:
    people: list[tuple[Channel, str, str | None]] = [
        ("telegram", "1001", "ur"),
        ("telegram", "1002", "en"),
        ("telegram", "1003", None),
    ]
    await setup(units, people, text_ur="پیر کو تربیت")
    sender = Recorder("telegram")
    assert await Dispatcher(units, {"telegram": sender}).run_once("telegram", NOW) == 3
    assert dict(sender.sent) == {
        "1001": "پیر کو تربیت",
        "1002": "Training on Monday",
        "1003": "Training on Monday",
    }


async def test_urdu_subscriber_gets_english_without_an_urdu_text(units: Units) -> None:
    await setup(units, [("telegram", "1001", "ur")])
    sender = Recorder("telegram")
    await Dispatcher(units, {"telegram": sender}).run_once("telegram", NOW)
    assert sender.sent == [("1001", "Training on Monday")]


@dataclass
class Watchful:
    """Notes every send to someone opted out at that moment (raising here would only look
    like a failed send to the dispatcher)."""

    channel: Channel
    opted_out: set[str]
    sent: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        if to in self.opted_out:
            self.violations.append(to)
        self.sent.append(to)
        return SendResult(provider_id=f"w-{to}-{len(self.sent)}")


_step = st.one_of(
    st.tuples(st.just("opt_out"), st.integers(0, 5)),
    st.tuples(st.just("run"), st.sampled_from(["sms", "telegram"])),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_step, max_size=12), batch=st.integers(1, 4))
async def test_no_opted_out_contact_is_ever_sent(
    units: Units, steps: list[tuple[str, Any]], batch: int
) -> None:
    run = next(_keys)
    people: list[tuple[Channel, str, str | None]] = [
        ("sms" if n % 2 else "telegram", f"h{run}-{n}", "en") for n in range(6)
    ]

    def unit(conn: Connection) -> list[int]:
        ids = [person(conn, ch, address, lang) for ch, address, lang in people]
        bid = broadcast(conn)
        # Queue only this example's people: the database is shared by all examples.
        conn.execute(
            insert(_deliveries),
            [
                {
                    "broadcast_id": bid,
                    "contact_id": cid,
                    "channel": ch,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": NOW,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
                for cid, (ch, _, _) in zip(ids, people, strict=True)
            ],
        )
        return ids

    ids = await units.run(unit)
    opted_out: set[str] = set()
    senders = {"sms": Watchful("sms", opted_out), "telegram": Watchful("telegram", opted_out)}
    dispatcher = Dispatcher(units, senders, window=SendWindow(), batch=batch)
    for kind, arg in steps:
        if kind == "opt_out":
            await opt_out(units, ids[arg])
            opted_out.add(people[arg][1])
        else:
            await dispatcher.run_once(arg, NOW)
    for channel in ("sms", "telegram"):
        while await dispatcher.run_once(channel, NOW):
            pass

    assert senders["sms"].violations + senders["telegram"].violations == []
    sent = senders["sms"].sent + senders["telegram"].sent
    assert len(sent) == len(set(sent))  # nobody twice
    result = await rows(units)
    for _, address, _ in people:
        status = result[address]["status"]
        assert status in {"sent", "skipped"}
        assert (status == "sent") == (address in sent)
        if address not in opted_out:
            assert status == "sent"


async def test_quiet_hours_hold_for_each_sms_not_only_for_the_claim(units: Units) -> None:
    """41 SMS claimed 20 s before quiet hours at one SMS a second: 20 go before 21:00
    Karachi, the other 21 wait for the window, their attempt not counted, and none is late."""
    await setup(units, [sms(n) for n in range(41)])
    ticks = FakeClock()
    start_tick = ticks.monotonic()
    claimed_at = QUIET - timedelta(hours=1, seconds=20)  # 20:59:40 in Karachi

    def wall() -> datetime:
        return claimed_at + timedelta(seconds=ticks.monotonic() - start_tick)

    sent_at: list[datetime] = []

    class Timed(Recorder):
        async def send(self, to: str, reply: Reply) -> SendResult:
            sent_at.append(wall())
            return await super().send(to, reply)

    sender = Timed("sms")
    dispatcher = Dispatcher(
        units,
        {"sms": sender},
        window=SendWindow(),
        batch=50,
        rate={"sms": Pacer(1, clock=ticks)},
        pace_clock=ticks,
    )
    assert await dispatcher.run_once("sms", claimed_at, clock=wall) == 41
    quiet_from = QUIET - timedelta(hours=1)  # 21:00 in Karachi
    assert len(sent_at) == 20
    assert max(sent_at) < quiet_from
    result = await rows(units)
    waiting = [r for r in result.values() if r["status"] == "pending"]
    assert len(waiting) == 21
    assert {r["next_attempt_at"] for r in waiting} == {OPENS}
    assert {r["attempts"] for r in waiting} == {0}


def counted(name: str, channel: str, outcome: str) -> float:
    label = "result" if name == "outreach_sends_total" else "status"
    return REGISTRY.get_sample_value(name, {"channel": channel, label: outcome}) or 0.0


async def test_each_delivery_and_each_send_is_counted_by_what_became_of_it(units: Units) -> None:
    ids = await setup(units, [tg(1), tg(2), tg(3), tg(4), sms(1)])
    await opt_out(units, ids["1004"])
    tg_sender = Scripted(
        "telegram",
        {
            "1002": [Retryable("telegram RetryAfter: flood control", after=5, throttled=True)],
            "1003": [Permanent("telegram BadRequest: message is too long")],
        },
    )
    dispatcher = Dispatcher(
        units, {"sms": Recorder("sms"), "telegram": tg_sender}, window=SendWindow()
    )
    deliveries_by = ("sent", "retry", "failed", "skipped", "deferred")
    sends_by = ("accepted", "throttled", "failed")
    before = {
        **{s: counted("outreach_deliveries_total", "telegram", s) for s in deliveries_by},
        **{r: counted("outreach_sends_total", "telegram", r) for r in sends_by},
        "sms deferred": counted("outreach_deliveries_total", "sms", "deferred"),
    }

    assert await dispatcher.run_once("telegram", NOW) == 4
    assert await dispatcher.run_once("sms", QUIET) == 1  # quiet hours: it waits

    after = {
        **{s: counted("outreach_deliveries_total", "telegram", s) for s in deliveries_by},
        **{r: counted("outreach_sends_total", "telegram", r) for r in sends_by},
        "sms deferred": counted("outreach_deliveries_total", "sms", "deferred"),
    }
    assert {k: after[k] - before[k] for k in before} == {
        "sent": 1,
        "retry": 1,  # the 429
        "failed": 1,
        "skipped": 1,  # opted out
        "deferred": 0,
        "accepted": 1,
        "throttled": 1,
        "sms deferred": 1,
    }
    assert {r["status"] for r in (await rows(units)).values()} == {
        "sent",
        "pending",
        "failed",
        "skipped",
    }
