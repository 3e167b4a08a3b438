"""The dispatcher: claims due deliveries, sends them at the provider's pace, records results.

One :meth:`Dispatcher.run_once` claims a batch of one channel's due deliveries under a lease
(:func:`bot.store.deliveries.claim`), then for each claimed row:

* the contact is not ``active`` (opted out, blocked or invalid after the broadcast was
  queued) -> ``skipped`` with the reason; it is never sent;
* SMS outside the send window (quiet hours) -> back to ``pending`` until the window opens,
  the attempt not counted;
* otherwise sent through the channel's :class:`~bot.channels.base.Sender`, paced by the
  channel's :class:`aiolimiter.AsyncLimiter` when one is given, after reading the contact's
  status once more (an opt-out since the claim is skipped, never sent): accepted ->
  ``sent`` with the provider's id; :class:`~bot.channels.base.Retryable` -> ``pending`` again after
  ``max(after, base_backoff * 2 ** (attempts - 1))`` until ``max_attempts``, then
  ``failed``; :class:`~bot.channels.base.Permanent` -> ``failed`` with the reason;
  :class:`~bot.channels.base.RecipientGone` -> ``failed`` and the contact's status follows.

Each result is committed as soon as its send returns, so a crash re-sends (after the lease)
only the rows that were in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy import Connection

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable, Sender
from bot.core.decision import Channel, Reply
from bot.core.windows import SendWindow, in_send_window, next_window_open
from bot.store import deliveries, sql
from bot.store.deliveries import Claimed
from bot.store.units import Units

log = logging.getLogger(__name__)


def choose_text(claimed: Claimed) -> str:
    """Urdu for a subscriber whose language is Urdu when the announcement has it, else English."""
    if claimed.language == "ur" and claimed.text_ur:
        return claimed.text_ur
    return claimed.text_en


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
        rate: Mapping[Channel, AsyncLimiter] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self._units = units
        self._senders = dict(senders)
        self._window = window
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._lease = lease
        self._batch = batch
        self._rate = dict(rate or {})

    async def run_once(self, channel: Channel, now: datetime) -> int:
        """Claim one batch of ``channel``'s due deliveries and handle each; how many were
        claimed (0 when nothing was due)."""
        sender = self._senders[channel]
        batch, lease = self._batch, self._lease
        claimed = await self._units.run(
            lambda conn: deliveries.claim(conn, channel, now, batch, lease)
        )
        if not claimed:
            return 0
        sendable = [c for c in claimed if c.contact_status == "active"]
        held = [c for c in claimed if c.contact_status != "active"]
        deferred: list[Claimed] = []
        opens: datetime | None = None
        if channel == "sms" and self._window is not None and not in_send_window(self._window, now):
            deferred, sendable = sendable, []
            opens = next_window_open(self._window, now)

        if held or deferred:

            def settle(conn: Connection) -> None:
                for c in held:
                    deliveries.skip(conn, c.delivery_id, f"contact {c.contact_status}", now=now)
                for c in deferred:
                    assert opens is not None
                    deliveries.defer(conn, c.delivery_id, opens, now)

            await self._units.run(settle)

        if sendable:
            await asyncio.gather(*(self._send(sender, channel, c, now) for c in sendable))
        return len(claimed)

    async def _send(self, sender: Sender, channel: Channel, c: Claimed, now: datetime) -> None:
        limiter = self._rate.get(channel)
        if limiter is None:
            await self._attempt(sender, c, now)
            return
        async with limiter:
            await self._attempt(sender, c, now)

    async def _attempt(self, sender: Sender, c: Claimed, now: datetime) -> None:
        # Read the contact's status again right before sending: someone may have opted out
        # since the claim (a paced batch can take minutes to work through).
        status = await self._units.run(lambda conn: deliveries.contact_status(conn, c.contact_id))
        if status != "active":
            reason = f"contact {status or 'deleted'}"
            await self._units.run(
                lambda conn: deliveries.skip(conn, c.delivery_id, reason, now=now)
            )
            return
        reply = Reply(text=choose_text(c))
        try:
            result = await sender.send(c.address, reply)
        except RecipientGone as exc:
            gone = exc

            def record_gone(conn: Connection) -> None:
                deliveries.finish(conn, c.delivery_id, "failed", now, error=gone.reason)
                sql.set_contact_status(conn, c.contact_id, gone.status, now, reason=gone.reason)

            await self._units.run(record_gone)
        except Permanent as exc:
            reason = exc.reason
            await self._units.run(
                lambda conn: deliveries.finish(conn, c.delivery_id, "failed", now, error=reason)
            )
        except Retryable as exc:
            await self._retry(c, now, exc.reason, exc.after)
        except ChannelError as exc:
            await self._retry(c, now, exc.reason, None)
        except Exception as exc:  # a bug or an untranslated error: retry, but say so
            log.exception("sending delivery %s failed unexpectedly", c.delivery_id)
            await self._retry(c, now, f"unexpected: {type(exc).__name__}", None)
        else:
            provider_id = result.provider_id
            await self._units.run(
                lambda conn: deliveries.finish(
                    conn, c.delivery_id, "sent", now, provider_id=provider_id
                )
            )

    async def _retry(self, c: Claimed, now: datetime, reason: str, after: float | None) -> None:
        if c.attempts >= self._max_attempts:
            error = f"{reason} (after {c.attempts} attempts)"
            await self._units.run(
                lambda conn: deliveries.finish(conn, c.delivery_id, "failed", now, error=error)
            )
            return
        wait = max(timedelta(seconds=after or 0), self._base_backoff * 2 ** max(c.attempts - 1, 0))
        due = now + wait
        await self._units.run(
            lambda conn: deliveries.retry(conn, c.delivery_id, due, reason, now=now)
        )
