"""The worker: the scheduler, one dispatcher loop per channel and the replies' sweeper
(:mod:`bot.outreach.replies`), in one process at a time.

``outreach serve`` runs it beside the web endpoints (``RUN_WORKER``, on by default);
``outreach worker`` runs it alone (the Procfile's ``worker``). Rate limits are per process, so
only one worker may send: it first takes the one-worker lock (:mod:`bot.store.locks`: an
advisory lock on PostgreSQL, a file lock beside a SQLite database), and a second worker waits
as a standby until the first is gone.

Claims are atomic and broadcast keys unique, so two workers would not corrupt anything; the
lock keeps the providers' pace, and lets the worker that holds it send again at once the rows a
dead worker left ``sending`` (the lease is then only a safety net).

A lock can be lost without its holder noticing at once (a PostgreSQL connection cut while it
sends), so the lock is fenced: whoever takes it also takes the next epoch
(:mod:`bot.store.epochs`) before its first claim, and a worker claims and sends only under its
own epoch. The one that lost the lock stops at its next claim or send (only sends already
past the read before the send can go from both), and the new one holds its pace for one
window first, so the provider never sees more than its rate from the two together. A worker
also notices a lost lock by itself: at once when the server ends the lock's connection,
else at the next check, every ``lock_check`` seconds.

While it sends it writes a heartbeat on its epoch's row every ``heartbeat`` seconds
(:func:`bot.store.epochs.beat`), which ``/healthz`` and ``/metrics`` of any process read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import Permanent, Sender, SendResult
from bot.channels.simulator import SimulatorChannel
from bot.config import Settings
from bot.core.decision import Channel, Reply
from bot.core.windows import SendWindow
from bot.outreach.dispatcher import Dispatcher
from bot.outreach.pacing import Pacer
from bot.outreach.providers import Providers
from bot.outreach.replies import build_replies
from bot.outreach.scheduler import Scheduler
from bot.store import broadcasts, deliveries, epochs, reports
from bot.store.epochs import Fenced
from bot.store.locks import WorkerLock
from bot.store.units import Units

log = logging.getLogger(__name__)

# How often the worker that sends writes its heartbeat (bot.store.epochs.beat).
HEARTBEAT = 10.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def pacing(per_second: float) -> Pacer:
    """The pace of a provider that takes ``per_second``: see :mod:`bot.outreach.pacing`."""
    return Pacer(per_second)


def build_dispatcher(
    units: Units,
    senders: Mapping[Channel, Sender],
    s: Settings,
    providers: Providers | None = None,
) -> Dispatcher:
    """The dispatcher as the settings describe it; its sends counted by ``providers``."""
    return Dispatcher(
        units,
        senders,
        window=SendWindow.from_quiet_hours(s.quiet_hours_start, s.quiet_hours_end, s.timezone),
        max_attempts=s.dispatcher_max_attempts,
        base_backoff=timedelta(seconds=s.dispatcher_retry_seconds),
        lease=timedelta(seconds=s.dispatcher_lease_seconds),
        batch=s.dispatcher_concurrency,
        rate={"sms": pacing(s.sms_per_second), "telegram": pacing(s.telegram_per_second)},
        daily_cap=s.announcements_per_day,
        chat_gap=s.telegram_chat_seconds,
        providers=providers,
    )


@dataclass(slots=True)
class NotConfigured:
    """The sender of a channel with no provider in live mode: its announcements fail with a
    reason the coordinators' report shows, instead of being "sent" by the simulator."""

    channel: Channel

    async def send(self, to: str, reply: Reply) -> SendResult:
        setting = "TELEGRAM_BOT_TOKEN" if self.channel == "telegram" else "an SMS provider"
        raise Permanent(f"{self.channel} is not configured (set {setting})")


def live_senders(senders: Mapping[Channel, Sender], settings: Settings) -> dict[Channel, Sender]:
    """In sandbox mode every channel is the simulator, as expected; in live mode a channel
    still on the simulator has no provider, and gets :class:`NotConfigured`."""
    if settings.mode == "sandbox":
        return dict(senders)
    return {
        channel: NotConfigured(channel) if isinstance(sender, SimulatorChannel) else sender
        for channel, sender in senders.items()
    }


class LockLost(RuntimeError):
    """The worker lock is no longer held: stop sending (another worker may take over)."""


class Worker:
    """Runs the scheduler and the dispatcher loops until stopped."""

    def __init__(
        self,
        engine: AsyncEngine,
        units: Units,
        senders: Mapping[Channel, Sender],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        idle: float = 1.0,
        poll: float = 10.0,
        standby_retry: float | None = None,
        restart_pause: float = 5.0,
        lock_check: float = 2.0,
        heartbeat: float = HEARTBEAT,
        providers: Providers | None = None,
    ) -> None:
        self._lock = WorkerLock(engine)
        self._units = units
        senders = live_senders(senders, settings)
        self._channels: list[Channel] = sorted(senders)
        self._dispatcher = build_dispatcher(units, senders, settings, providers)
        self._senders = senders
        self._replies = build_replies(units, settings, providers)
        self._wakes = {channel: asyncio.Event() for channel in self._channels}
        self._clock = clock
        self._idle = idle
        self._standby_retry = (
            settings.worker_standby_seconds if standby_retry is None else standby_retry
        )
        self._restart_pause = restart_pause
        self._lock_check = lock_check
        self._heartbeat = heartbeat
        self._grace = timedelta(hours=settings.schedule_grace_hours)
        self._poll = poll
        self._parked_at = -math.inf  # when early delivery reports were last applied
        self._parked_every = settings.early_reports_seconds
        self.scheduler = self._new_scheduler()
        self.active = False
        self.sessions = 0  # how many times it has started sending (restarts included)
        self.epoch: int | None = None  # taken with the lock (bot.store.epochs)

    def _new_scheduler(self) -> Scheduler:
        """A fresh scheduler for each session (an APScheduler that was shut down keeps its
        jobs; a restart rebuilds them from the table)."""
        return Scheduler(
            self._units, grace=self._grace, poll=self._poll, clock=self._clock, on_queued=self.wake
        )

    def wake(self) -> None:
        """New deliveries were queued: claim them now rather than at the next idle poll."""
        for event in self._wakes.values():
            event.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Take the lock (waiting as a standby while another worker has it), then schedule and
        send until ``stop`` is set. Sends in flight finish before it returns.

        If the work fails (a bug, the lock's connection lost), it is stopped cleanly, logged,
        and started again after a pause, lock first: one failure never leaves ``serve``
        without a worker, nor a half-running one without the lock."""
        while not stop.is_set():
            try:
                await self._session(stop)
                continue  # returns only when asked to stop
            except (LockLost, Fenced) as exc:
                log.warning("%s; starting again in %s s", exc, self._restart_pause)
            except Exception:
                log.exception("the worker failed; starting again in %s s", self._restart_pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._restart_pause)

    async def _acquire(self, stop: asyncio.Event) -> bool:
        announced = False
        while not stop.is_set():
            try:
                if await self._lock.try_acquire():
                    return True
            except Exception:  # the database is away: keep trying, as a standby would
                log.exception("could not try the worker lock; trying again")
            if not announced:
                log.info("another worker is running; this one waits as a standby")
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._standby_retry)
        return False

    async def _session(self, stop: asyncio.Event) -> None:
        if not await self._acquire(stop):
            return
        self.active = True
        self.sessions += 1
        halt = asyncio.Event()  # this session ends: asked to stop, or something failed
        scheduler = self._new_scheduler()
        self.scheduler = scheduler
        log.info("worker started: scheduler and dispatchers for %s", ", ".join(self._channels))
        tasks: list[asyncio.Task[None]] = []
        try:
            # With the lock held and the next epoch taken no other worker is sending: rows
            # left `sending` are from one that died or was fenced, and go again now rather
            # than when their lease runs out.
            now = self._clock()

            def take_over(conn: Connection) -> tuple[int, int]:
                return epochs.take(conn, now), deliveries.release_orphans(conn, now)

            epoch, orphans = await self._units.run(take_over)
            self.epoch = epoch
            # The worker before this one may have sent up to the rate in the last window.
            self._dispatcher.hold_pace()
            if orphans:
                log.warning(
                    "%d delivery(ies) left in flight by a stopped worker: sent again", orphans
                )
            await scheduler.start()
            tasks = [
                asyncio.create_task(
                    self._dispatcher.run(
                        channel,
                        halt,
                        wake=self._wakes[channel],
                        clock=self._clock,
                        idle=self._idle,
                        on_idle=self._finish,
                        epoch=epoch,
                    )
                )
                for channel in self._channels
            ]
            # Replies whose send failed for a while, or whose process died before sending.
            tasks.append(
                asyncio.create_task(
                    self._replies.run(self._senders, halt, clock=self._clock, idle=self._idle)
                )
            )
            tasks.append(asyncio.create_task(self._watch(stop, halt, epoch)))
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            halt.set()
            await asyncio.gather(*tasks, return_exceptions=True)  # sends in flight finish
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            halt.set()
            for task in tasks:
                task.cancel()
            scheduler.shutdown()
            self.active = False
            await self._lock.release()
            log.info("worker stopped")

    async def _watch(self, stop: asyncio.Event, halt: asyncio.Event, epoch: int) -> None:
        """End the session when asked to stop; raise when the lock is no longer held (at once
        when its connection is ended, else at the next check). Every ``heartbeat`` seconds
        write the heartbeat; raise :class:`Fenced` when another worker has taken the epoch."""
        beaten = time.monotonic()  # taking the epoch wrote the first
        while not halt.is_set():
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._lock.lost())]
            try:
                await asyncio.wait(waits, timeout=self._lock_check, return_when="FIRST_COMPLETED")
            finally:
                for w in waits:
                    w.cancel()
            if stop.is_set():
                halt.set()
                return
            if not await self._lock.still_held():
                raise LockLost("the worker lock's database connection was lost")
            if time.monotonic() - beaten >= self._heartbeat:
                beaten = time.monotonic()
                await self._beat(epoch)

    async def _beat(self, epoch: int) -> None:
        """Write the heartbeat; a database that refuses is logged (the next beat may work)."""
        now = self._clock()
        try:
            current = await self._units.run(lambda conn: epochs.beat(conn, epoch, now))
        except Exception as exc:
            log.warning("could not write the worker's heartbeat: %s", type(exc).__name__)
            return
        if not current:
            raise Fenced(epoch)

    async def _finish(self, now: datetime) -> None:
        """Between claims: close finished broadcasts; every ``EARLY_REPORTS_SECONDS``, apply
        the delivery reports that came before their send was recorded (bot.store.reports)."""
        done = await self._units.run(lambda conn: broadcasts.finish_broadcasts(conn, now))
        if done:
            log.info("broadcast(s) done: %s", ", ".join(map(str, done)))
        if time.monotonic() - self._parked_at < self._parked_every:
            return
        self._parked_at = time.monotonic()
        try:
            applied, dropped = await self._units.run(lambda conn: reports.apply_parked(conn, now))
        except Exception:  # never let a bad report hold up the sends
            log.exception("applying early delivery reports failed; trying again later")
            return
        if applied or dropped:
            log.info(
                "early delivery reports: %d applied, %d dropped unmatched after an hour",
                applied,
                dropped,
            )


@contextlib.asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``worker`` in a task for the body; stop it (finishing sends in flight) after."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await task
