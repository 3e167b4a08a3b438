"""A person answers what the bot can't: the coordinators' side of a hand-over thread.

The inbox opens threads (:mod:`bot.outreach.inbox`); this is what the Telegram coordinator
screens (:mod:`bot.telegram.handover`) and ``outreach inbox`` share: list and show threads,
check a reply before it goes, send it to the resident on their own channel, close.

A reply is refused, with a sentence saying why, when the text is empty, the thread is closed
or someone else has claimed it, the resident opted out (STOP) or cannot be reached, or an SMS
reply is over ``SMS_MAX_SEGMENTS`` segments. Sending claims the thread for whoever answers
(one conditional UPDATE, so of two coordinators answering at once only one sends), stores the
reply in the thread's outbox (:mod:`bot.store.replies`), sends it through the resident's
channel and records the provider's answer; a provider that is down delays the reply, which the
worker sends when it answers again (:mod:`bot.outreach.replies`), as for the bot's own
replies. ``by`` names who acts: ``"telegram:<user id>"`` or a name given on the command line.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from bot.channels.base import ChannelError, Retryable, Sender
from bot.core.decision import Channel, Reply
from bot.core.phones import mask
from bot.core.segments import SegmentInfo, count_segments
from bot.core.telegram_text import TEXT_LIMIT as TELEGRAM_TEXT_LIMIT
from bot.outreach.inbox import Inbox
from bot.store import replies, threads, transcripts
from bot.store.models import ThreadState
from bot.store.replies import Due
from bot.store.threads import Thread
from bot.store.units import Units

log = logging.getLogger(__name__)

# How many earlier messages a coordinator sees with a thread.
HISTORY = 5


class ReplyRefused(Exception):
    """The reply was not sent; the message says why, for the coordinator."""


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread and the resident's last messages both ways (oldest first)."""

    thread: Thread
    lines: list[transcripts.Line]


@dataclass(frozen=True, slots=True)
class Sent:
    """A reply stored in the outbox and handed to the provider: ``error`` is set when it did
    not go; ``later`` when the provider was down, so the worker sends it when it is back."""

    thread_id: int
    channel: Channel
    address: str
    segments: int | None
    error: str | None = None
    later: bool = False


def outcome_line(sent: Sent) -> str | None:
    """What a coordinator is told when the reply did not go at once; None when it went."""
    if sent.later:
        return (
            f"Not sent yet: {sent.error}. The reply is kept; the bot sends it as soon as the "
            "provider answers again."
        )
    if sent.error is not None:
        return f"Not sent: {sent.error}"
    return None


def who(thread: Thread) -> str:
    """The resident as coordinators see them: the masked number, or ``Telegram chat``."""
    if thread.channel == "sms":
        return mask(thread.address)
    return f"Telegram chat {mask(thread.address)}"


def segments_of(channel: Channel, text: str) -> SegmentInfo | None:
    """The SMS segments ``text`` takes, or None on Telegram (free)."""
    return count_segments(text) if channel == "sms" else None


def cost_line(channel: Channel, text: str, max_segments: int) -> str:
    """What sending ``text`` on ``channel`` takes, for the coordinator to see first."""
    info = segments_of(channel, text)
    if info is None:
        return "Telegram (free)"
    line = f"SMS: {info.segments} segment{'s' if info.segments != 1 else ''} ({info.encoding})"
    if info.segments > max_segments:
        line += f", over the limit of {max_segments} (SMS_MAX_SEGMENTS)"
    return line


class Handover:
    """Threads for the coordinators, on the runtime's units, inbox and channel senders."""

    def __init__(
        self,
        units: Units,
        inbox: Inbox,
        senders: Mapping[Channel, Sender],
        *,
        sms_max_segments: int,
    ) -> None:
        self._units = units
        self._inbox = inbox
        self._senders = senders
        self.sms_max_segments = sms_max_segments

    async def list(
        self, states: Collection[ThreadState] = threads.OPEN_STATES, limit: int = 50
    ) -> list[Thread]:
        return await self._units.run(lambda conn: threads.list_threads(conn, states, limit=limit))

    async def page(
        self, offset: int, limit: int
    ) -> tuple[builtins.list[Thread], dict[ThreadState, int]]:
        """A page of all threads, open and claimed ones first, and how many are in each state."""

        def load(conn: Connection) -> tuple[builtins.list[Thread], dict[ThreadState, int]]:
            counts = threads.count_by_state(conn)
            waiting = sum(counts.get(state, 0) for state in threads.OPEN_STATES)
            found = threads.open_first(conn, offset=offset, limit=limit, open_count=waiting)
            return found, counts

        return await self._units.run(load)

    async def show(self, thread_id: int, history: int = HISTORY) -> ThreadView | None:
        """The thread with the resident's last ``history`` messages, or None."""

        def load(conn: Connection) -> ThreadView | None:
            found = threads.get(conn, thread_id)
            if found is None:
                return None
            return ThreadView(found, transcripts.history(conn, found.contact_id, limit=history))

        return await self._units.run(load)

    def problem(self, thread: Thread, text: str) -> str | None:
        """Why ``text`` cannot go to ``thread``'s resident now, or None when it can."""
        if not text.strip():
            return "The reply is empty."
        if thread.state == "closed":
            return f"Thread #{thread.id} is closed."
        if thread.contact_status == "opted_out":
            return "The resident opted out (STOP): nothing may be sent to them."
        if thread.contact_status != "active":
            return f"The resident cannot be reached ({thread.contact_status})."
        if thread.channel == "telegram" and len(text) > TELEGRAM_TEXT_LIMIT:
            return f"Telegram takes at most {TELEGRAM_TEXT_LIMIT} characters ({len(text)})."
        info = segments_of(thread.channel, text)
        if info is not None and info.segments > self.sms_max_segments:
            return (
                f"This SMS takes {info.segments} segments ({info.encoding}); at most "
                f"{self.sms_max_segments} are allowed (SMS_MAX_SEGMENTS). Write a shorter one."
            )
        return None

    async def claim(self, thread_id: int, by: str, now: datetime) -> threads.Claim:
        """Make ``by`` the one who answers the thread (see :func:`bot.store.threads.claim`)."""
        return await self._units.run(lambda conn: threads.claim(conn, thread_id, by, now))

    async def reply(self, thread_id: int, text: str, by: str, now: datetime) -> Sent:
        """Send ``text`` to the thread's resident; raises :class:`ReplyRefused` saying why not.

        The checks, the claim and the stored reply are one transaction; the send follows it,
        and checks the opt-out once more (a STOP may arrive in between).
        """
        text = text.strip()

        def store(conn: Connection) -> tuple[Thread, Due, int | None]:
            found = threads.get(conn, thread_id)
            if found is None:
                raise ReplyRefused(f"There is no thread #{thread_id}.")
            problem = self.problem(found, text)
            if problem is not None:
                raise ReplyRefused(problem)
            claim = threads.claim(conn, thread_id, by, now)
            if claim.outcome == "taken":
                raise ReplyRefused(f"Thread #{thread_id} is being answered by {claim.holder}.")
            info = segments_of(found.channel, text)
            segments = info.segments if info is not None else None
            reply = Reply(text)
            message_id = replies.store(
                conn,
                found.contact_id,
                found.channel,
                reply,
                now,
                self._inbox.replies.lease,
                reply_to=None,
                segments=segments,
                thread_id=thread_id,
            )
            threads.mark_answered(conn, thread_id, by, now)
            due = Due(message_id, found.contact_id, found.channel, found.address, reply, 1, False)
            return found, due, segments

        found, due, segments = await self._units.run(store)
        sent = Sent(thread_id, found.channel, found.address, segments)
        try:
            delivered = await self._inbox.replies.send(due, self._senders[found.channel], now)
        except Retryable as exc:
            log.warning("reply in thread %s to %s waits: %s", thread_id, who(found), exc)
            return dataclasses.replace(sent, error=exc.reason, later=True)
        except ChannelError as exc:
            log.warning("reply in thread %s to %s not sent: %s", thread_id, who(found), exc)
            return dataclasses.replace(sent, error=exc.reason)
        if not delivered:
            return dataclasses.replace(sent, error="opted out")
        log.info("reply in thread %s sent to %s by %s", thread_id, who(found), by)
        return sent

    async def close(self, thread_id: int, by: str, now: datetime) -> bool:
        """Close the thread; False when it is closed already or does not exist."""
        return await self._units.run(lambda conn: threads.close(conn, thread_id, by, now))
