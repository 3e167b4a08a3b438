"""The dispatcher: claims due deliveries, sends them at the provider's pace, records results.

:meth:`Dispatcher.run` keeps at most ``concurrency`` deliveries of one channel in flight: it
claims due rows under a lease (:func:`bot.store.deliveries.claim`) as room frees up, and for
each claimed row:

* the contact is not ``active`` (opted out, blocked or invalid after the broadcast was
  queued) -> ``skipped`` with the reason; it is never sent; the same for a row of a broadcast
  cancelled while the row was in flight (it came back by a retry or an expired lease);
* SMS outside the send window (quiet hours) -> back to ``pending`` until the window opens,
  the attempt not counted; checked when the batch is claimed and again right before each SMS
  goes, so one claimed before quiet hours and reached after they began waits too;
* the person already got ``daily_cap`` other announcements in the last 24 hours -> back to
  ``pending`` until the oldest of those is 24 hours old, the attempt not counted;
* otherwise sent through the channel's :class:`~bot.channels.base.Sender`, paced by the
  channel's :class:`~bot.outreach.pacing.Pacer` when one is given (and, on Telegram, at most
  one message per ``chat_gap`` to one chat), after reading the contact's status once more
  (an opt-out since the claim is skipped, never sent): accepted -> ``sent`` with the provider's id;
  :class:`~bot.channels.base.Retryable` -> ``pending`` again after the provider's
  ``retry_after`` when it gave one (and the channel's pacer holds every send that long),
  else after ``base_backoff * 2 ** (attempts - 1)``, until ``max_attempts``, then ``failed``;
  :class:`~bot.channels.base.Permanent` -> ``failed`` with the reason;
  :class:`~bot.channels.base.RecipientGone` -> ``failed`` and the contact's status follows.

A worker gives :meth:`Dispatcher.run` the epoch it took with the worker lock
(:mod:`bot.store.epochs`): once another worker has taken a newer one, the next claim and the
read before each send fail, the sends not yet past that read are dropped (their rows go back
to ``pending`` for the new worker) and ``run`` raises :class:`~bot.store.epochs.Fenced`.

Each result is committed as soon as its send returns. On PostgreSQL the results that come
back while those before them are being committed wait and go together in the next unit of
work, one statement for them all (:class:`bot.store.units.Together`), and so do the reads
right before each send: a unit each cost six round trips a delivery (BEGIN, the statement,
COMMIT, twice) and more connections at once than the pool keeps, opened and closed. After
a crash, rows left ``sending`` are claimed again once their lease ends, so the only
deliveries that can be sent twice are those whose send had started and whose result was not
yet committed: at most ``concurrency`` of them (a send stays in flight until its result is
committed).

:meth:`Dispatcher.run_once` handles one batch and waits for it, for tests and scripts.

(Over 400 lines on purpose: the claim, the wait for the pace and the chat, the read right
before the send and every outcome of a send are one sequence, read top to bottom; split, the
rule that no opted-out contact is ever sent would span files.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable, Sender
from bot.clock import SYSTEM, Clock
from bot.core.decision import Channel, Reply
from bot.core.sms_tail import announcement_text
from bot.core.windows import SendWindow, in_send_window, next_window_open
from bot.observe.metrics import DELIVERIES, child
from bot.outreach.pacing import Pacer
from bot.outreach.providers import Providers
from bot.store import batches, contacts, deliveries
from bot.store.batches import BeforeSend, Outcome
from bot.store.deliveries import Claimed
from bot.store.epochs import Fenced
from bot.store.units import Together, Units

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
# A send that waited this long for the provider's window after reading the contact's status
# reads it again.
STALE_READ = 0.1
# After a database error, wait this long before claiming again.
ERROR_PAUSE = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def choose_text(claimed: Claimed, channel: Channel) -> str:
    """What ``claimed`` is sent on ``channel``: see :func:`bot.core.sms_tail.announcement_text`."""
    return announcement_text(
        claimed.text_en, claimed.text_ur, claimed.language, channel, claimed.text_ur_latn
    )


def over_cap(
    claimed: list[Claimed],
    recent: Mapping[int, tuple[set[int], datetime | None]],
    cap: int,
    now: datetime,
) -> dict[int, datetime]:
    """Deliveries (by id) that would give their person more than ``cap`` announcements in 24
    hours, each with when it may go instead. A broadcast already counted for the person (sent on
    another channel, or earlier in this batch) is not counted again."""
    if cap <= 0:
        return {}
    held: dict[int, datetime] = {}
    counted = {sid: (set(b), oldest) for sid, (b, oldest) in recent.items()}
    for c in claimed:
        broadcasts, oldest = counted.setdefault(c.subscriber_id, (set(), None))
        if c.broadcast_id in broadcasts:
            continue
        if len(broadcasts) >= cap:
            # The window frees when its oldest announcement turns 24 hours old; one still in
            # flight, or admitted in this batch, counts as sent now.
            held[c.delivery_id] = (oldest or now) + DAY
            continue
        broadcasts.add(c.broadcast_id)
        counted[c.subscriber_id] = (broadcasts, oldest or now)
    return held


class Dispatcher:
    """Sends the outbox; see the module docstring."""

    def __init__(
        self,
        units: Units,
        senders: Mapping[Channel, Sender],
        *,
        window: SendWindow | None = None,
        max_attempts: int = 5,
        base_backoff: timedelta = timedelta(seconds=30),
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        rate: Mapping[Channel, Pacer] | None = None,
        daily_cap: int = 0,
        chat_gap: float = 0.0,
        error_pause: float = ERROR_PAUSE,
        pace_clock: Clock = SYSTEM,
        providers: Providers | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._units = units
        self._senders = dict(senders)
        self._providers = providers or Providers()
        self._window = window
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._lease = lease
        self._batch = batch
        self._rate = dict(rate or {})
        self._daily_cap = daily_cap
        self._chat_gap = chat_gap
        self._error_pause = error_pause
        self._ticks = pace_clock  # for spacing sends; ``clock`` in run() is the wall time
        self._last_to_chat: dict[str, float] = {}  # places reserved (_space_chat)
        self._sent_to_chat: dict[str, float] = {}  # when the last message went
        self._stale: set[int] = set()  # epochs found fenced: their sends stop at once
        # Reads before sends, and results of sends, that arrive together go in one unit. Not
        # on SQLite, whose writer commits waiting units together already: gathering there
        # cost more CPU (0.28-0.44 ms a delivery against 0.22-0.34, 5,000 sends in-process).
        self._read = Together(units, batches.before_sending, gather_on_sqlite=False)
        self._finished = Together(units, batches.finish_all, gather_on_sqlite=False)

    @property
    def concurrency(self) -> int:
        """The most deliveries of one channel in flight at once (the crash duplicate bound)."""
        return self._batch

    def _claim_limit(self, channel: Channel, room: int) -> int:
        """How many rows to claim now: no more than there is room for, nor more than the pace
        lets us send within half a lease (so a claimed row never outlives its lease waiting)."""
        pacer = self._rate.get(channel)
        if pacer is None:
            return room
        per_second = pacer.per_second
        return max(1, min(room, math.floor(per_second * self._lease.total_seconds() / 2)))

    def hold_pace(self) -> None:
        """No send on any paced channel for one of its windows: for a worker that takes over
        from another, whose last sends (in the window before it was fenced) the provider
        still counts."""
        for pacer in self._rate.values():
            pacer.hold(pacer.window)

    async def _claim(
        self, channel: Channel, now: datetime, limit: int, epoch: int | None = None
    ) -> tuple[int, list[Claimed]]:
        """Claim a batch and settle what needs no send (skips, quiet hours, the daily cap) in
        one unit; how many were claimed and those to send."""
        lease, cap, window = self._lease, self._daily_cap, self._window

        def unit(conn: Connection) -> tuple[int, list[Claimed], int, int]:
            """How many were claimed, those to send, how many skipped and deferred."""
            if channel == "sms" and window is not None and not in_send_window(window, now):
                # Quiet hours: everything due waits for the window, in one statement.
                until = next_window_open(window, now)
                deferred = deliveries.defer_due(conn, channel, now, until)
                return deferred, [], 0, deferred
            claimed = deliveries.claim(conn, channel, now, limit, lease, epoch=epoch)
            sendable: list[Claimed] = []
            for c in claimed:
                if c.cancelled:
                    deliveries.skip(conn, c.delivery_id, "cancelled", now=now)
                elif c.contact_status != "active":
                    deliveries.skip(conn, c.delivery_id, f"contact {c.contact_status}", now=now)
                else:
                    sendable.append(c)
            skipped = len(claimed) - len(sendable)
            if sendable and cap > 0:
                recent = deliveries.recent_announcements(
                    conn,
                    {c.subscriber_id for c in sendable},
                    now - DAY,
                    [c.delivery_id for c in claimed],
                )
                held = over_cap(sendable, recent, cap, now)
                for delivery_id, until in held.items():
                    deliveries.defer(conn, delivery_id, until, now)
                sendable = [c for c in sendable if c.delivery_id not in held]
            return len(claimed), sendable, skipped, len(claimed) - skipped - len(sendable)

        count, sendable, skipped, deferred = await self._units.run(unit)
        if skipped:
            child(DELIVERIES, channel, "skipped").inc(skipped)
        if deferred:
            child(DELIVERIES, channel, "deferred").inc(deferred)
        return count, sendable

    async def run_once(
        self,
        channel: Channel,
        now: datetime,
        clock: Callable[[], datetime] | None = None,
        *,
        epoch: int | None = None,
    ) -> int:
        """Claim one batch of ``channel``'s due deliveries at ``now`` and handle each, reading
        the time from ``clock`` when given (else it stays ``now``); how many were claimed (0
        when nothing was due). With ``epoch``, fenced as :meth:`run` is."""
        sender = self._senders[channel]
        limit = self._claim_limit(channel, self._batch)
        count, sendable = await self._claim(channel, now, limit, epoch)
        read = clock or (lambda: now)
        if sendable:
            await asyncio.gather(*(self._send(sender, channel, c, read) for c in sendable))
        return count

    async def run(
        self,
        channel: Channel,
        stop: asyncio.Event,
        *,
        wake: asyncio.Event | None = None,
        clock: Callable[[], datetime] = utcnow,
        idle: float = 1.0,
        on_idle: Callable[[datetime], object] | None = None,
        epoch: int | None = None,
    ) -> None:
        """Send ``channel``'s due deliveries until ``stop`` is set, keeping at most
        :attr:`concurrency` in flight; with nothing due, wait ``idle`` seconds or until ``wake``
        is set. ``on_idle`` (awaited when it returns an awaitable) runs each time the queue is
        found empty, and every ten seconds while busy. A database error is logged and the claim
        tried again after a pause. On stop, sends in flight are finished, not cut off.

        With ``epoch`` (the worker's, :mod:`bot.store.epochs`) it raises
        :class:`~bot.store.epochs.Fenced` as soon as a claim or a send finds that epoch stale,
        once the sends already on their way have returned."""
        sender = self._senders[channel]
        in_flight: set[asyncio.Task[None]] = set()
        changed = asyncio.Event()
        fenced: list[Fenced] = []

        def done(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            if not task.cancelled() and (exc := task.exception()) is not None:
                if isinstance(exc, Fenced):
                    fenced.append(exc)
                else:
                    log.error("%s dispatcher: a send failed", channel, exc_info=exc)
            changed.set()

        # In flight at most: the concurrency, and no more than the pace sends in half a lease
        # (a row waiting longer for its turn could be claimed again when its lease ran out).
        most = self._claim_limit(channel, self._batch)
        last_idle = self._ticks.monotonic()
        try:
            while not stop.is_set() and not fenced:
                room = most - len(in_flight)
                count = 0
                try:
                    if room > 0:
                        now = clock()
                        count, sendable = await self._claim(channel, now, room, epoch)
                        for c in sendable:
                            task = asyncio.create_task(self._send(sender, channel, c, clock))
                            in_flight.add(task)
                            task.add_done_callback(done)
                    quiet = count == 0 and not in_flight
                    if on_idle is not None and (quiet or self._ticks.monotonic() - last_idle > 10):
                        last_idle = self._ticks.monotonic()
                        result = on_idle(clock())
                        if asyncio.iscoroutine(result):
                            await result
                except Fenced as exc:
                    self._stale.add(exc.epoch)  # the sends waiting their turn drop out
                    fenced.append(exc)
                    break
                except Exception:  # the database refused (locked, gone): log, wait, go on
                    log.exception("%s dispatcher: claiming failed; trying again shortly", channel)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._error_pause)
                    continue
                if count > 0 and len(in_flight) < most:
                    continue  # more may be due: claim again at once
                changed.clear()
                waits = [asyncio.ensure_future(stop.wait())]
                if in_flight:
                    waits.append(asyncio.ensure_future(changed.wait()))
                if wake is not None:
                    waits.append(asyncio.ensure_future(wake.wait()))
                _, pending = await asyncio.wait(
                    waits, timeout=None if in_flight else idle, return_when=asyncio.FIRST_COMPLETED
                )
                for w in pending:
                    w.cancel()
                if wake is not None:
                    wake.clear()
        finally:
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
        if fenced:
            self._stale.add(fenced[0].epoch)
            raise fenced[0]

    async def _send(
        self, sender: Sender, channel: Channel, c: Claimed, clock: Callable[[], datetime]
    ) -> None:
        await self._attempt(sender, c, clock, self._rate.get(channel))

    async def _space_chat(self, chat: str) -> None:
        """Queue behind the messages to this Telegram chat already on their way: wait for a
        place ``chat_gap`` after the last one reserved. (Whether the gap really holds is
        checked again against the sends that went, right before the send.)"""
        gap = self._chat_gap
        now = self._ticks.monotonic()
        last = self._last_to_chat.get(chat)
        # Reserve the place before sleeping, so concurrent sends to one chat queue up.
        slot = now if last is None else max(now, last + gap)
        self._last_to_chat[chat] = slot
        if len(self._last_to_chat) > 10_000:  # forget chats not written to within the gap
            self._last_to_chat = {k: t for k, t in self._last_to_chat.items() if now - t < gap}
            self._sent_to_chat = {k: t for k, t in self._sent_to_chat.items() if now - t < gap}
        if slot > now:
            await self._ticks.sleep(slot - now)

    def _chat_wait(self, chat: str | None) -> float:
        """Seconds until a message to ``chat`` keeps ``chat_gap`` from the last one sent."""
        if chat is None or chat not in self._sent_to_chat:
            return 0.0
        return self._sent_to_chat[chat] + self._chat_gap - self._ticks.monotonic()

    async def _before_send(self, c: Claimed) -> BeforeSend:
        return await self._read(c)

    async def _clear_to_send(self, c: Claimed, pacer: Pacer | None, chat: str | None) -> BeforeSend:
        """Read the delivery's state right before its send and wait for the pace and the
        chat: ``"active"`` when it may go now (and the send is recorded with the pacer and
        the chat), else what stops it (see :func:`bot.store.batches.before_send`).

        With a pacer, sends go through its gate one at a time: the wait for the pace comes
        first, then the read, and the read is done again whenever more than
        :data:`STALE_READ` passed since it (a provider's hold, a stalled read), so an opt-out
        made meanwhile is not missed. A wait for the chat happens outside the gate.
        """
        while True:
            if c.epoch in self._stale:  # another send found this worker fenced: none go
                return "fenced"
            if pacer is None:
                status = await self._before_send(c)
                if status != "active":
                    return status
                chat_wait = self._chat_wait(chat)
                if chat_wait <= 0:
                    self._note_sent(chat)
                    return status
            else:
                async with pacer.gate:
                    if c.epoch in self._stale:
                        return "fenced"
                    await pacer.wait()
                    read_at = -math.inf
                    while True:
                        if self._ticks.monotonic() - read_at > STALE_READ:
                            status = await self._before_send(c)
                            read_at = self._ticks.monotonic()
                            if status != "active":
                                return status
                        wait = pacer.free_in()
                        if wait > 0:  # the read took a while: the pace may have moved on
                            await self._ticks.sleep(wait)
                            continue
                        chat_wait = self._chat_wait(chat)
                        if chat_wait > 0:
                            break  # wait for the chat outside the gate, then again
                        pacer.sent()  # no await from here to the send
                        self._note_sent(chat)
                        return status
            await self._ticks.sleep(chat_wait)

    def _note_sent(self, chat: str | None) -> None:
        if chat is not None:
            self._sent_to_chat[chat] = self._ticks.monotonic()

    async def _attempt(
        self,
        sender: Sender,
        c: Claimed,
        clock: Callable[[], datetime],
        pacer: Pacer | None,
    ) -> None:
        n = c.attempts  # every write below applies only while the row is still this claim
        chat = c.address if sender.channel == "telegram" and self._chat_gap > 0 else None
        if chat is not None:
            await self._space_chat(chat)
        # Read the delivery's state again right before sending: someone may have opted out,
        # or a coordinator cancelled the broadcast, since the claim (a paced batch can take a
        # while to work through).
        status = await self._clear_to_send(c, pacer, chat)
        if status == "fenced":
            assert c.epoch is not None  # only a fenced claim is fenced
            self._stale.add(c.epoch)
            raise Fenced(c.epoch)
        if status is False:
            log.warning("delivery %s was claimed again; not sent twice", c.delivery_id)
            return
        channel = sender.channel
        if status != "active":
            reason = "cancelled" if status == "cancelled" else f"contact {status or 'deleted'}"
            await self._skip(channel, c, reason, clock())
            return
        now = clock()
        window = self._window
        if channel == "sms" and window is not None and not in_send_window(window, now):
            # Quiet hours began while this SMS waited for its turn: it waits for the window.
            until = next_window_open(window, now)
            await self._record(
                channel,
                "deferred",
                lambda conn: deliveries.defer(conn, c.delivery_id, until, now, attempt=n),
            )
            return
        reply = Reply(text=choose_text(c, channel))
        try:
            result = await self._providers.send(sender, c.address, reply)
        except RecipientGone as exc:
            gone = exc

            def record_gone(conn: Connection) -> bool:
                done = deliveries.finish(
                    conn, c.delivery_id, "failed", now, error=gone.reason, attempt=n
                )
                contacts.set_contact_status(
                    conn, c.contact_id, gone.status, now, reason=gone.reason
                )
                return done

            await self._record(channel, "failed", record_gone)
        except Permanent as exc:
            await self._finish(channel, Outcome(c.delivery_id, "failed", now, n, error=exc.reason))
        except Retryable as exc:
            if exc.after is not None and pacer is not None:
                # The provider said when it will take more (Telegram's flood control is for
                # the whole bot): every send of this channel waits, not just this one.
                pacer.hold(exc.after)
            await self._retry(channel, c, now, exc.reason, exc.after)
        except ChannelError as exc:
            await self._retry(channel, c, now, exc.reason, None)
        except Exception as exc:  # a bug or an untranslated error: retry, but say so
            log.exception("sending delivery %s failed unexpectedly", c.delivery_id)
            await self._retry(channel, c, now, f"unexpected: {type(exc).__name__}", None)
        else:
            sent = Outcome(c.delivery_id, "sent", now, n, provider_id=result.provider_id)
            await self._finish(channel, sent)

    async def _finish(self, channel: Channel, outcome: Outcome) -> None:
        """Record a send's outcome, with those that come back meanwhile (see the module
        docstring); count it when its row moved (not when it was no longer this claim's)."""
        if await self._finished(outcome):
            child(DELIVERIES, channel, outcome.status).inc()

    async def _record(
        self, channel: Channel, status: str, unit: Callable[[Connection], bool]
    ) -> None:
        """Run ``unit``, which moves one claimed delivery on; count it when it did (not when
        the row was no longer this claim's)."""
        if await self._units.run(unit):
            child(DELIVERIES, channel, status).inc()

    async def _skip(self, channel: Channel, c: Claimed, reason: str, now: datetime) -> None:
        await self._record(
            channel,
            "skipped",
            lambda conn: deliveries.skip(conn, c.delivery_id, reason, now=now, attempt=c.attempts),
        )

    async def _retry(
        self, channel: Channel, c: Claimed, now: datetime, reason: str, after: float | None
    ) -> None:
        if c.attempts >= self._max_attempts:
            error = f"{reason} (after {c.attempts} attempts)"
            await self._finish(
                channel, Outcome(c.delivery_id, "failed", now, c.attempts, error=error)
            )
            return
        if after is not None:  # the provider's own word on when to try again
            wait = timedelta(seconds=after)
        else:
            wait = self._base_backoff * 2 ** max(c.attempts - 1, 0)
        due = now + wait
        await self._record(
            channel,
            "retry",
            lambda conn: deliveries.retry(
                conn, c.delivery_id, due, reason, now=now, attempt=c.attempts
            ),
        )
