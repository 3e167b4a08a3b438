"""Sending replies from the outbox: at once by the process that stored them, and by the
worker's sweeper for those that did not go (see :mod:`bot.store.replies` for the states).

A reply is stored in the inbound message's unit, claimed by the process that stored it for a
lease (``REPLY_LEASE_SECONDS``), and sent at once (:meth:`Replies.send`), as fast as before
the outbox. What happens then follows the dispatcher's rules for announcements
(:mod:`bot.outreach.dispatcher`), less quiet hours and the daily cap, which are not for
replies:

* accepted -> ``sent`` (``simulated`` in sandbox) with the provider's id;
* :class:`~bot.channels.base.Retryable` (a 5xx, a time-out, the provider unreachable) ->
  stays ``queued``, due again after the provider's ``retry_after`` or ``base_backoff * 2 **
  (attempt - 1)`` (at most :data:`MAX_BACKOFF` apart), for as long as the provider is down:
  an outage delays a reply, it never drops it (a resident who asked still wants the answer
  when SMS works again); a wait the provider asks for of at most ``max_wait`` (Telegram's
  flood control) is waited out once in place;
* any other error (one the channel did not classify, or a bug) -> retried the same way until
  ``max_attempts``, then ``failed``;
* :class:`~bot.channels.base.Permanent` -> ``failed``; :class:`~bot.channels.base.RecipientGone`
  (Twilio 21610, a blocked bot) -> ``failed`` and the contact's status follows;
* the contact opted out since the reply was decided -> ``failed`` ("opted out before
  sending"), never sent; the confirmation of the STOP itself and HELP's answer excepted.

:meth:`Replies.run` is the sweeper: the worker (the one process holding the worker lock, be it
``outreach serve`` or ``outreach worker``) claims every reply that is due, a retry whose
backoff is over or one whose process died before it recorded the send (its lease is over),
and sends it by the same rules. So a reply can go twice only when its process died after the
provider accepted it and before that was committed, or when a send outlived its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable, Sender
from bot.config import Settings
from bot.core.decision import Channel
from bot.core.phones import mask
from bot.observe.metrics import REPLIES, child
from bot.outreach.providers import Providers
from bot.store import contacts, replies
from bot.store.models import MessageStatus
from bot.store.replies import Due
from bot.store.units import Together, Units

log = logging.getLogger(__name__)

# Replies claimed by one sweep of one channel at most.
SWEEP_BATCH = 50

# The longest wait between two tries of a reply while its provider is down.
MAX_BACKOFF = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _record_written(conn: Connection, written: list[Due]) -> list[bool]:
    """Replies answered in TwiML recorded as ``sent``, in one statement: for each, whether
    it was (not when it was claimed again meanwhile)."""
    recorded = replies.finish_sent(
        conn, [(due.message_id, due.attempt) for due in written], utcnow()
    )
    return [due.message_id in recorded for due in written]


def build_replies(units: Units, settings: Settings, providers: Providers | None = None) -> Replies:
    """The outbox's rules for replies as the settings say: the dispatcher's retries and
    backoff, the replies' own lease; sends counted by ``providers``."""
    return Replies(
        units,
        lease=timedelta(seconds=settings.reply_lease_seconds),
        max_attempts=settings.dispatcher_max_attempts,
        base_backoff=timedelta(seconds=settings.dispatcher_retry_seconds),
        providers=providers,
    )


class Replies:
    """Sends claimed replies and records the outcome; see the module docstring."""

    def __init__(
        self,
        units: Units,
        *,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        base_backoff: timedelta = timedelta(seconds=30),
        batch: int = SWEEP_BATCH,
        providers: Providers | None = None,
    ) -> None:
        self._units = units
        self._providers = providers or Providers()
        self.lease = lease
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._batch = batch
        # Replies answered in TwiML, recorded as sent together (see written()).
        self._written = Together(units, _record_written)

    async def send(self, due: Due, sender: Sender, now: datetime, *, max_wait: float = 0.0) -> bool:
        """Send the claimed reply and record the outcome; True when the provider accepted it.

        A :class:`ChannelError` is recorded (a retry, or ``failed``) and raised again, for the
        caller to log.
        """
        if not due.confirms:
            opted_out = await self._units.run(
                lambda conn: contacts.is_opted_out(conn, due.contact_id)
            )
            if opted_out:
                # A STOP arrived between deciding and sending: the reply is dropped.
                await self._finish(due, "failed", now, error="opted out before sending")
                return False
        send = self._providers.send
        try:
            try:
                result = await send(sender, due.address, due.reply)
            except Retryable as exc:
                if exc.after is None or exc.after > max_wait:
                    raise
                await asyncio.sleep(exc.after)
                result = await send(sender, due.address, due.reply)
        except RecipientGone as exc:
            gone = exc

            def record_gone(conn: Connection) -> bool:
                done = replies.finish(
                    conn, due.message_id, "failed", now, attempt=due.attempt, error=gone.reason
                )
                contacts.set_contact_status(
                    conn, due.contact_id, gone.status, now, reason=gone.reason
                )
                return done

            if await self._units.run(record_gone):
                child(REPLIES, due.channel, "failed").inc()
            raise
        except Permanent as exc:
            await self._finish(due, "failed", now, error=exc.reason)
            raise
        except Retryable as exc:
            await self._retry(due, now, exc.reason, exc.after, limited=False)
            raise
        except ChannelError as exc:
            await self._retry(due, now, exc.reason, None, limited=True)
            raise
        except Exception as exc:  # a bug or an untranslated error: retried, and said
            log.exception("sending reply %s failed unexpectedly", due.message_id)
            await self._retry(due, now, f"unexpected: {type(exc).__name__}", None, limited=True)
            raise
        await self._finish(due, result.status, now, provider_id=result.provider_id)
        return True

    async def written(self, due: Due) -> None:
        """The reply went out in the webhook's own response (TwiML): it is ``sent`` once this
        returns.

        Replies written while an earlier batch is being recorded wait and are recorded
        together, in one statement (:class:`bot.store.units.Together`): on PostgreSQL each
        unit of work costs its own BEGIN and COMMIT round trips, and one per webhook was a
        third of an SMS webhook's round trips (SQLite's writer already commits waiting units
        together)."""
        if await self._written(due):
            child(REPLIES, due.channel, "sent").inc()
        else:
            log.warning("reply %s was claimed again meanwhile: sent not recorded", due.message_id)

    async def _finish(
        self,
        due: Due,
        status: MessageStatus,
        now: datetime,
        *,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        done = await self._units.run(
            lambda conn: replies.finish(
                conn,
                due.message_id,
                status,
                now,
                attempt=due.attempt,
                provider_id=provider_id,
                error=error,
            )
        )
        if not done:
            log.warning(
                "reply %s was claimed again meanwhile: %s not recorded", due.message_id, status
            )
            return
        child(REPLIES, due.channel, status).inc()

    async def _retry(
        self, due: Due, now: datetime, reason: str, after: float | None, *, limited: bool
    ) -> None:
        if limited and due.attempt >= self._max_attempts:
            await self._finish(due, "failed", now, error=f"{reason} (after {due.attempt} attempts)")
            return
        if after is not None:  # the provider's own word on when to try again
            wait = timedelta(seconds=after)
        else:
            wait = min(self._base_backoff * 2 ** min(max(due.attempt - 1, 0), 20), MAX_BACKOFF)
        when = now + wait
        if await self._units.run(
            lambda conn: replies.retry(conn, due.message_id, when, reason, now, attempt=due.attempt)
        ):
            child(REPLIES, due.channel, "retry").inc()

    async def sweep(self, channel: Channel, sender: Sender, now: datetime) -> int:
        """Claim ``channel``'s due replies (one batch) and send each; how many were claimed."""
        lease, batch = self.lease, self._batch
        claimed = await self._units.run(
            lambda conn: replies.claim_due(conn, channel, now, batch, lease)
        )
        if claimed:
            log.info("%d %s reply(ies) sent again from the outbox", len(claimed), channel)
            await asyncio.gather(*(self._send_logged(due, sender, now) for due in claimed))
        return len(claimed)

    async def _send_logged(self, due: Due, sender: Sender, now: datetime) -> None:
        try:
            await self.send(due, sender, now)
        except Exception as exc:  # recorded by send(); a retry or a failure, said here
            log.warning(
                "%s reply to %s not sent: %s: %s",
                due.channel,
                mask(due.address),
                type(exc).__name__,
                exc,
            )

    async def run(
        self,
        senders: Mapping[Channel, Sender],
        stop: asyncio.Event,
        *,
        clock: Callable[[], datetime] = utcnow,
        idle: float = 1.0,
    ) -> None:
        """Sweep every channel until ``stop`` is set: again at once while replies were due,
        else after ``idle`` seconds. A database error is logged and the sweep tried again."""
        while not stop.is_set():
            swept = 0
            try:
                for channel, sender in senders.items():
                    swept += await self.sweep(channel, sender, clock())
            except Exception:  # the database refused (locked, gone): log, wait, go on
                log.exception("sweeping the replies failed; trying again shortly")
            if swept:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle)
