"""Every resident message, from any channel, goes through :class:`Inbox`.

(Over 400 lines: it is the one pipeline every message takes, store -> decide -> effects ->
reply -> send, and reads best whole; the hand-over rule lives in :mod:`bot.outreach.handoff`.)

One transaction stores the sender and the message, asks the pure core what to do, records its
effects (opt-out, opt-in, language) and the reply in the outbox (``queued``, claimed by this
process for a lease: :mod:`bot.store.replies`). Sending happens after the transaction, so no
database lock is held across a network call; :meth:`Inbox.deliver` sends it at once and
records what the channel said (:mod:`bot.outreach.replies`: a transient error is retried
later, by the worker's sweeper, as is a reply whose process died before it was sent).

Hand-over: a message for a person (:mod:`bot.outreach.handoff` says which) joins a thread in
the same transaction, and the reply says a person will answer. The callbacks given to
:meth:`Inbox.on_handover` (the coordinators' Telegram notice) are then called with the thread
id, in the background, so a slow notice never holds up the webhook; one that fails is logged.

What can go wrong: a repeated provider id is a duplicate (``Outcome.duplicate``): nothing is
stored again, and its reply is sent only if it is still unsent and no send of it is in flight
(``Outcome.due``), else nothing; an SMS sender that is not a phone number is stored with status
``invalid`` and not answered; a channel error is recorded on the reply and re-raised.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection

from bot.channels.base import Sender
from bot.core.catalog import Catalog, Lang
from bot.core.conversation import decide, render_sms
from bot.core.decision import Channel, Decision, Inbound, Reply
from bot.core.guards import COMPLIANCE_INTENTS, GUARDS, Guard, GuardLimits, hold_reply
from bot.core.keywords import Matcher
from bot.core.phones import InvalidPhoneNumber, mask, to_e164
from bot.core.segments import count_segments
from bot.core.windows import OfficeHours
from bot.observe.metrics import INBOUND, child
from bot.outreach.answers import LiveCatalog
from bot.outreach.guard_notice import guard_notice
from bot.outreach.handoff import CANDIDATES, Handoff
from bot.outreach.replies import Replies
from bot.store import contacts, messages, replies, subscribers
from bot.store.replies import ALWAYS_SENT, Due
from bot.store.units import Units

log = logging.getLogger(__name__)

# The cost guard's window.
_HOUR = timedelta(hours=1)

# An address we could not parse is kept (so the message is not lost) but cut to this length.
_MAX_RAW_ADDRESS = 64


# Not frozen: one is built for every message, and a frozen dataclass sets each field through
# object.__setattr__, at four times the cost. Nothing changes one once built.
@dataclass(slots=True)
class IncomingMessage:
    """A message as a channel adapter received it; ``sender`` is the provider's raw address."""

    channel: Channel
    sender: str
    text: str
    provider_id: str | None
    received_at: datetime
    # The language the provider says the person uses (Telegram's language_code); only used
    # for someone new.
    language_hint: Lang | None = None
    # A Telegram button press (``text`` is its callback data), not typed words.
    pressed: bool = False
    # The sender's name as the provider gives it (Telegram's first and last name), cleaned
    # (bot.core.names.clean_name): kept on the subscriber, updated when it changes. Personal
    # data: never logged.
    name: str | None = None


# Not frozen, as IncomingMessage.
@dataclass(slots=True)
class Outcome:
    """What the inbox did with one message.

    ``reply_text`` is the text to send as rendered for the channel (an SMS is fitted to the
    configured number of segments); ``reply`` keeps the buttons for Telegram. Both are None
    when nothing is to be sent. ``held`` says why the reply the core decided on was held back
    (``"cost_guard"``, ``"loop_guard"``, ``"provider_handles_compliance"``); when a guard
    first holds a number, ``reply`` is its one notice instead. :attr:`reason` says why the
    message got no answer of its own.
    """

    duplicate: bool
    address: str
    contact: contacts.ContactRef | None = None
    decision: Decision | None = None
    reply: Reply | None = None
    outbound_id: int | None = None
    segments: int | None = None
    held: str | None = None
    # The hand-over thread the message joined, if any.
    thread_id: int | None = None
    # The reply as claimed for sending (None when there is nothing to send).
    due: Due | None = None

    @property
    def reply_text(self) -> str | None:
        return self.reply.text if self.reply else None

    @property
    def reason(self) -> str | None:
        """Why the message got no answer of its own, or None when it did: ``"duplicate"``,
        ``"invalid_sender"``, a guard (``"cost_guard"``, ``"loop_guard"``: the reply, if any,
        is its notice), ``"provider_handles_compliance"``, ``"opted_out"`` (nothing is sent to
        a contact who opted out), ``"courtesy"`` (thanks, ok: no SMS spent on them),
        ``"subscribe"`` (the Telegram caller answers) or ``"no_reply"``."""
        if self.duplicate:
            return "duplicate"
        d = self.decision
        if d is None:
            return "invalid_sender"
        if self.held is not None:
            return self.held
        if self.reply is not None:
            return None
        if self.contact is not None and self.contact.status == "opted_out":
            return "opted_out"
        if d.intent == "courtesy":
            return "courtesy"
        if d.action is not None:
            return "subscribe"
        return "no_reply"


class Inbox:
    """Turns incoming messages into stored conversations and replies.

    Each message is one synchronous unit of work (:class:`bot.store.units.Units`): stored,
    decided and answered in one transaction and one trip to the database.
    """

    def __init__(
        self,
        units: Units,
        catalog: Catalog,
        matcher: Matcher,
        *,
        sms_max_segments: int = 2,
        contact_line: str | None = None,
        phone_region: str = "PK",
        limits: GuardLimits | None = None,
        loop_window: timedelta = timedelta(minutes=10),
        live: LiveCatalog | None = None,
        office: OfficeHours | None = None,
        miss_window: timedelta = timedelta(minutes=30),
        outbox: Replies | None = None,
    ) -> None:
        self._units = units
        self.replies = outbox or Replies(units)
        self._catalog = catalog
        self._matcher = matcher
        # With ``live``, coordinators' answers from the database are matched too (and
        # ``catalog`` / ``matcher`` are unused); without it, only ``catalog``.
        self._live = live
        self._sms_max_segments = sms_max_segments
        self._contact_line = contact_line
        self._phone_region = phone_region
        self._limits = limits or GuardLimits()
        self._loop_window = loop_window
        self._handoff = Handoff(office or OfficeHours(), miss_window)
        self._watchers: list[Callable[[int], Awaitable[None]]] = []
        self._notices: set[asyncio.Task[None]] = set()

    @property
    def live(self) -> LiveCatalog | None:
        """The content with the coordinators' answers, when they are matched too."""
        return self._live

    def on_handover(self, callback: Callable[[int], Awaitable[None]]) -> None:
        """Call ``callback(thread_id)`` after each message that joins a hand-over thread."""
        self._watchers.append(callback)

    async def handle(
        self,
        msg: IncomingMessage,
        *,
        provider_handles_compliance: bool = False,
    ) -> Outcome:
        """Store ``msg``, decide, store the effects and the reply; send nothing.

        The reply is stored claimed by the caller (``Outcome.due``), who sends it with
        :meth:`deliver`, or answers it in the webhook's own response (TwiML) and then calls
        :meth:`Replies.written`. With ``provider_handles_compliance`` (Twilio Advanced
        Opt-Out) opt-out and opt-in are recorded but not confirmed a second time.
        """
        outcome = await self._units.run(
            partial(self._handle, msg, provider_handles_compliance=provider_handles_compliance)
        )
        child(INBOUND, msg.channel, outcome.reason or "replied").inc()
        d = outcome.decision
        # mask() is not free: only called for a line that is written.
        info = log.isEnabledFor(logging.INFO)
        if outcome.duplicate:
            if info:
                log.info(
                    "duplicate %s message from %s: %s",
                    msg.channel,
                    mask(outcome.address),
                    "its reply was not sent yet: sending it" if outcome.due else "ignored",
                )
        elif d is None:
            log.warning("%s message from an unparseable sender stored, not answered", msg.channel)
        elif info:
            log.info(
                "%s from %s: intent=%s answer=%s matched=%s%s",
                msg.channel,
                mask(outcome.address),
                d.intent,
                d.answer_id,
                d.matched,
                f" reply held ({outcome.held})" if outcome.held else "",
            )
        if outcome.thread_id is not None:
            for watcher in self._watchers:
                task = asyncio.create_task(_notify(watcher, outcome.thread_id))
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)
        return outcome

    def _handle(
        self,
        msg: IncomingMessage,
        conn: Connection,
        *,
        provider_handles_compliance: bool,
    ) -> Outcome:
        now = msg.received_at
        address, valid = self._address(msg)
        # An SMS contact's messages are taken one at a time (on PostgreSQL its row is locked
        # until this unit commits): the cost and loop guards count its recent messages, and two
        # messages of a flood counted at once, by two processes or one, would each miss the
        # other's reply and both be answered.
        contact = contacts.upsert_contact(
            conn,
            msg.channel,
            address,
            now,
            language=msg.language_hint,
            name=msg.name,
            lock=msg.channel == "sms",
        )
        # Decided before the message is stored, so what the bot made of it (a question it
        # could not answer, for `outreach report unanswered`) is stored with it.
        decision = None
        catalog, matcher = self._catalog, self._matcher
        if valid:
            if self._live is not None:
                catalog, matcher = self._live.current(conn, now)
            decision = decide(
                Inbound(
                    text=msg.text,
                    channel=msg.channel,
                    language=contact.language,
                    status=contact.status,
                    pressed=msg.pressed,
                ),
                catalog,
                matcher,
                contact_line=self._contact_line,
            )
        inbound_id = messages.record_inbound(
            conn,
            contact.contact_id,
            msg.channel,
            msg.text,
            msg.provider_id,
            now,
            intent=decision.intent if decision else None,
            language=decision.language if decision else None,
        )
        if inbound_id is None:
            # Sent again by the provider: its reply goes now if it never went (and no send of
            # it is in flight), else nothing does.
            first = replies.inbound_id(conn, msg.channel, msg.provider_id)
            due = None
            if first is not None:
                due = replies.claim_answer(conn, first, now, self.replies.lease)
            return Outcome(
                duplicate=True,
                address=address,
                contact=contact,
                reply=due.reply if due else None,
                outbound_id=due.message_id if due else None,
                due=due,
            )
        if decision is None:
            contacts.set_contact_status(
                conn, contact.contact_id, "invalid", now, reason="unparseable sender"
            )
            return Outcome(duplicate=False, address=address, contact=contact)
        thread_id = None
        if decision.intent in CANDIDATES and decision.reply is not None:
            decision, thread_id = self._handoff.apply(
                conn, contact, decision, msg.channel, inbound_id, now, catalog, matcher
            )
        elif decision.intent == "courtesy":
            thread_id = self._handoff.join_open(conn, contact, inbound_id)
        self._apply(conn, contact, decision, msg)
        reply, segments = self._render(decision, msg.channel)
        held = None
        if reply is not None:
            held = self._hold(conn, contact, decision, msg, provider_handles_compliance)
        notice: Guard | None = None
        if held is not None:
            text = guard_notice(
                conn,
                contact,
                decision,
                msg.text,
                now,
                held,
                catalog,
                self._limits,
                self._loop_window,
            )
            if text is None:
                return Outcome(False, address, contact, decision, held=held, thread_id=thread_id)
            reply, segments = _sms_reply(text, self._sms_max_segments, None)
            notice = held if held in GUARDS else None
        outbound_id = None
        due = None
        if reply is not None:
            outbound_id = replies.store(
                conn,
                contact.contact_id,
                msg.channel,
                reply,
                now,
                self.replies.lease,
                reply_to=inbound_id,
                segments=segments,
                thread_id=thread_id,
                notice=notice,
            )
            due = Due(
                outbound_id,
                contact.contact_id,
                msg.channel,
                address,
                reply,
                attempt=1,
                # A guard's notice is not the confirmation: it goes only to a contact still active.
                confirms=notice is None and decision.intent in ALWAYS_SENT,
            )
        return Outcome(
            duplicate=False,
            address=address,
            contact=contact,
            decision=decision,
            reply=reply,
            outbound_id=outbound_id,
            segments=segments,
            held=held,
            thread_id=thread_id,
            due=due,
        )

    async def deliver(
        self, outcome: Outcome, sender: Sender, now: datetime, *, max_wait: float = 0.0
    ) -> None:
        """Send the reply claimed in ``outcome`` through ``sender`` and record the result on
        its message (:meth:`Replies.send`).

        A provider that asks us to wait at most ``max_wait`` seconds (flood control) is
        waited out once; otherwise the channel error is recorded (a transient one as a retry
        for the sweeper) and raised. A :class:`RecipientGone` also updates the contact's status.
        """
        if outcome.due is None:
            return
        await self.replies.send(outcome.due, sender, now, max_wait=max_wait)

    async def record_event(
        self,
        channel: Channel,
        sender: str,
        text: str,
        provider_id: str,
        now: datetime,
        *,
        effect: Callable[[Connection, contacts.ContactRef], None] | None = None,
        name: str | None = None,
    ) -> contacts.ContactRef | None:
        """Store a non-text event (a shared contact, a block) as an inbound message.

        ``effect`` runs in the same transaction, so the event is never recorded without it.
        ``name`` is the sender's, as for :class:`IncomingMessage`.
        Returns the contact as it was before, or None when ``provider_id`` was seen before
        (process it once).
        """

        def record(conn: Connection) -> contacts.ContactRef | None:
            contact = contacts.upsert_contact(conn, channel, sender, now, name=name)
            if not messages.record_inbound(
                conn, contact.contact_id, channel, text, provider_id, now
            ):
                return None
            if effect is not None:
                effect(conn, contact)
            return contact

        return await self._units.run(record)

    def _hold(
        self,
        conn: Connection,
        contact: contacts.ContactRef,
        decision: Decision,
        msg: IncomingMessage,
        provider_handles_compliance: bool,
    ) -> str | None:
        if provider_handles_compliance and decision.intent in COMPLIANCE_INTENTS - {"help"}:
            return "provider_handles_compliance"
        if msg.channel != "sms":
            return None  # both guards are about SMS cost; Telegram replies are free
        now = msg.received_at
        replies, same = messages.recent_counts(
            conn,
            contact.contact_id,
            replies_since=now - _HOUR,
            text=msg.text,
            same_since=now - self._loop_window,
        )
        return hold_reply(
            decision.intent,
            replies_last_hour=replies,
            same_text_recently=same,
            limits=self._limits,
        )

    def _address(self, msg: IncomingMessage) -> tuple[str, bool]:
        raw = msg.sender.strip()
        if msg.channel != "sms":
            return raw[:_MAX_RAW_ADDRESS], bool(raw)
        try:
            return to_e164(raw, self._phone_region), True
        except InvalidPhoneNumber:
            return raw[:_MAX_RAW_ADDRESS] or "(empty)", False

    def _apply(
        self,
        conn: Connection,
        contact: contacts.ContactRef,
        decision: Decision,
        msg: IncomingMessage,
    ) -> None:
        now = msg.received_at
        words = msg.text.strip()[:160]
        if decision.intent == "opt_out" and contact.status != "opted_out":
            contacts.set_contact_status(
                conn, contact.contact_id, "opted_out", now, reason="keyword", words=words
            )
        elif (decision.intent == "opt_in" or decision.opt_in) and contact.status != "active":
            contacts.set_contact_status(
                conn, contact.contact_id, "active", now, reason="keyword", words=words
            )
        if decision.set_language is not None and decision.set_language != contact.language:
            subscribers.set_language(conn, contact.subscriber_id, decision.set_language, now)
        if decision.source is not None:
            subscribers.set_source_once(conn, contact.subscriber_id, decision.source, now)

    def _render(self, decision: Decision, channel: Channel) -> tuple[Reply | None, int | None]:
        if decision.reply is None:
            return None, None
        if channel != "sms":
            return decision.reply, None
        return _sms_reply(decision.reply.text, self._sms_max_segments, self._contact_line)


async def _notify(watcher: Callable[[int], Awaitable[None]], thread_id: int) -> None:
    try:
        await watcher(thread_id)
    except Exception:
        log.exception("hand-over notice for thread %s failed", thread_id)


# Replies come from the catalog: a few hundred texts, each fitted and counted once.
@functools.lru_cache(maxsize=512)
def _sms_reply(text: str, max_segments: int, contact_line: str | None) -> tuple[Reply, int]:
    """The reply as sent by SMS, cut to ``max_segments`` (keeping its STOP instruction and
    ``contact_line``), and its number of segments."""
    fitted = render_sms(Reply(text=text), max_segments, contact_line)
    return Reply(text=fitted), count_segments(fitted).segments
