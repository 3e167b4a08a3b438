"""Every resident message, from any channel, goes through :class:`Inbox`.

(Over 400 lines: it is the one pipeline every message takes, store -> decide -> effects ->
reply -> send, and reads best whole; the hand-over rule lives in :mod:`bot.outreach.handoff`,
what it takes and gives, and a message's state on its way, in :mod:`bot.outreach.inbound`.)

One transaction stores the sender and the message, asks the pure core what to do, records its
effects (opt-out, opt-in, language) and the reply in the outbox (``queued``, claimed by this
process for a lease: :mod:`bot.store.replies`). On PostgreSQL the messages that arrive while
one such transaction runs share the next, a few set-wise statements for all of them
(:meth:`Inbox._handle_many`): a transaction per message cost most of a message there. A
number that another transaction holds is not waited for in it (its message goes alone), and
it waits at most a moment for any other lock, so one number never holds up the rest. A
number's messages are handled in the order they came, one at a time, in a process.

Sending happens after the transaction, so no database lock is held across a network call;
:meth:`Inbox.deliver` sends it at once and records what the channel said
(:mod:`bot.outreach.replies`: a transient error is retried later, by the worker's sweeper, as
is a reply whose process died before it was sent).

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
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from bot.channels.base import Sender
from bot.core.catalog import Catalog
from bot.core.conversation import decide, render_sms
from bot.core.decision import Channel, Decision, Inbound, Reply
from bot.core.guards import COMPLIANCE_INTENTS, GUARDS, GuardLimits, hold_reply
from bot.core.keywords import Matcher
from bot.core.phones import InvalidPhoneNumber, mask, to_e164
from bot.core.segments import count_segments
from bot.core.windows import OfficeHours
from bot.observe.metrics import INBOUND, child
from bot.outreach.answers import LiveCatalog
from bot.outreach.guard_notice import guard_notice
from bot.outreach.handoff import CANDIDATES, Handoff
from bot.outreach.inbound import Answering, Given, IncomingMessage, Outcome, Turn, Work
from bot.outreach.replies import Replies
from bot.store import contacts, messages, replies, subscribers
from bot.store.replies import ALWAYS_SENT, Due
from bot.store.units import Together, Units, gave_up_waiting, wait_at_most

log = logging.getLogger(__name__)

# The cost guard's window.
_HOUR = timedelta(hours=1)

# An address we could not parse is kept (so the message is not lost) but cut to this length.
_MAX_RAW_ADDRESS = 64


class Inbox:
    """Turns incoming messages into stored conversations and replies.

    Each message is stored, decided and answered in one synchronous unit of work
    (:class:`bot.store.units.Units`), one transaction; on PostgreSQL together with the
    messages that arrived meanwhile (see the module docstring). ``lock_patience`` is the
    longest such a unit waits for any one lock (a new number or a provider id another unit
    is writing, a subscriber being imported) before each of its messages runs alone.
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
        lock_patience: timedelta = timedelta(milliseconds=200),
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
        # On PostgreSQL the messages that arrive while one unit runs go in the next together
        # (a transaction per message is most of a message's cost there); SQLite's writer
        # commits waiting units together already.
        self._patience = lock_patience
        self._turns: dict[tuple[str, str], Turn] = {}
        self._working: set[asyncio.Future[Outcome]] = set()
        self._together = Together(
            units, partial(self._handle_many, wait=False), gather_on_sqlite=False
        )

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
        address, valid = self._address(msg)
        given = Given(msg, provider_handles_compliance, address, valid)
        # Done to the end even when the caller is cancelled (a webhook's client went away):
        # a message taken is never dropped half-way, and the number's next one waits for it.
        work = asyncio.ensure_future(self._in_turn(given))
        self._working.add(work)
        work.add_done_callback(self._working.discard)
        outcome = await asyncio.shield(work)
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

    def _handle_many(
        self, conn: Connection, given: Sequence[Given], *, wait: bool
    ) -> list[Outcome | None]:
        """Each message of ``given`` stored, decided and answered in ``conn``'s transaction:
        its outcome, in order.

        One pass takes at most one message per number (and per provider id), so the guards
        of a number count its earlier messages' replies; several messages of one number go in
        passes one after the other, in the order they came. Each pass costs a handful of
        statements on PostgreSQL whatever its size (:func:`contacts.upsert_contacts`,
        :func:`messages.record_many`, :func:`messages.recent_counts_many`,
        :func:`replies.store_many`). Unless ``wait``, a message whose contact another
        transaction holds (or is creating) is not waited for: its outcome is None, and the
        ones after it from that number too, for the caller to run alone.
        """
        if not wait:
            wait_at_most(conn, self._patience)
        work = [
            Work(g.msg, g.compliance, g.address, g.valid, self._catalog, self._matcher)
            for g in given
        ]
        blocked: set[tuple[str, str]] = set()
        rest = work
        while rest:
            this: list[Work] = []
            later: list[Work] = []
            taken: set[tuple[str, str, str]] = set()
            for w in rest:
                key = (w.msg.channel, w.address)
                if key in blocked:
                    continue
                ids = [("number", *key)]
                if w.msg.provider_id:
                    ids.append(("provider id", w.msg.channel, w.msg.provider_id))
                if any(k in taken for k in ids):
                    later.append(w)  # and the number's next ones after it
                else:
                    this.append(w)
                taken.update(ids)
            self._pass(conn, this, wait=wait)
            blocked.update((w.msg.channel, w.address) for w in this if w.outcome is None)
            rest = later
        return [w.outcome for w in work]

    async def _in_turn(self, given: Given) -> Outcome:
        """``given`` stored, decided and answered in its number's turn: a number's messages
        are taken in the order they came, one after the other, in this process, so one whose
        unit waits for the number's lock is never overtaken by the next (a question after
        STOP must find the contact opted out)."""
        async with self._turn(given.msg.channel, given.address):
            try:
                found = await self._together(given)
            except DBAPIError as exc:
                if not gave_up_waiting(exc):
                    raise
                found = None  # the unit gave up waiting for a lock
            if found is None:  # its number is busy in another transaction: wait for it, alone
                [found] = await self._units.run(
                    lambda conn: self._handle_many(conn, [given], wait=True)
                )
        assert found is not None, "a unit that waits takes every message"
        return found

    @contextlib.asynccontextmanager
    async def _turn(self, channel: Channel, address: str) -> AsyncIterator[None]:
        """This number's turn in this process: held while one of its messages is handled."""
        key = (channel, address)
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = Turn()
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    def _pass(self, conn: Connection, work: list[Work], *, wait: bool) -> None:
        """One pass of :meth:`_handle_many`: every message of ``work`` from another number."""
        # An SMS contact's messages are taken one at a time (on PostgreSQL its row is locked
        # until this unit commits): the cost and loop guards count its recent messages, and two
        # messages of a flood counted at once, by two processes or one, would each miss the
        # other's reply and both be answered.
        found = contacts.upsert_contacts(
            conn,
            [
                contacts.Wanted(
                    w.msg.channel, w.address, w.msg.received_at, w.msg.language_hint, w.msg.name
                )
                for w in work
            ],
            skip_locked=not wait,
        )
        work = [w for w, contact in zip(work, found, strict=True) if w.found(contact)]
        for w in work:
            # Decided before the message is stored, so what the bot made of it (a question it
            # could not answer, for `outreach report unanswered`) is stored with it.
            if w.valid:
                self._decide(conn, w)
        inbound_ids = messages.record_many(
            conn,
            [
                messages.Received(
                    w.contact.contact_id,
                    w.msg.channel,
                    w.msg.text,
                    w.msg.provider_id,
                    w.msg.received_at,
                    intent=w.decision.intent if w.decision else None,
                    language=w.decision.language if w.decision else None,
                )
                for w in work
            ],
        )
        answering: list[Answering] = []
        for w, inbound_id in zip(work, inbound_ids, strict=True):
            if inbound_id is None:
                w.outcome = self._duplicate(conn, w)
            elif w.decision is None:
                contacts.set_contact_status(
                    conn,
                    w.contact.contact_id,
                    "invalid",
                    w.msg.received_at,
                    reason="unparseable sender",
                )
                w.outcome = Outcome(duplicate=False, address=w.address, contact=w.contact)
            else:
                answering.append(self._effects(conn, Answering(w, w.decision, inbound_id)))
        self._hold(conn, [a for a in answering if a.reply is not None])
        for a in answering:
            if a.held is not None:
                self._notice(conn, a, a.held)
        replying = [(a, a.reply) for a in answering if a.reply is not None]
        outbound_ids = replies.store_many(
            conn,
            [
                replies.Answer(
                    a.work.contact.contact_id,
                    a.work.msg.channel,
                    reply,
                    a.work.msg.received_at,
                    a.inbound_id,
                    segments=a.segments,
                    thread_id=a.thread_id,
                    notice=a.notice,
                )
                for a, reply in replying
            ],
            self.replies.lease,
        )
        dues: dict[int, Due] = {}
        for (a, reply), outbound_id in zip(replying, outbound_ids, strict=True):
            w = a.work
            dues[a.inbound_id] = Due(
                outbound_id,
                w.contact.contact_id,
                w.msg.channel,
                w.address,
                reply,
                attempt=1,
                # A guard's notice is not the confirmation: it goes only to a contact still active.
                confirms=a.notice is None and a.decision.intent in ALWAYS_SENT,
            )
        for a in answering:
            due = dues.get(a.inbound_id)
            a.work.outcome = Outcome(
                duplicate=False,
                address=a.work.address,
                contact=a.work.contact,
                decision=a.decision,
                reply=a.reply,
                outbound_id=due.message_id if due else None,
                segments=a.segments,
                held=a.held,
                thread_id=a.thread_id,
                due=due,
            )

    def _decide(self, conn: Connection, w: Work) -> None:
        if self._live is not None:
            w.catalog, w.matcher = self._live.current(conn, w.msg.received_at)
        w.decision = decide(
            Inbound(
                text=w.msg.text,
                channel=w.msg.channel,
                language=w.contact.language,
                status=w.contact.status,
                pressed=w.msg.pressed,
            ),
            w.catalog,
            w.matcher,
            contact_line=self._contact_line,
        )

    def _duplicate(self, conn: Connection, w: Work) -> Outcome:
        """A message the provider sent again: its reply goes now if it never went (and no send
        of it is in flight), else nothing does."""
        first = replies.inbound_id(conn, w.msg.channel, w.msg.provider_id)
        due = None
        if first is not None:
            due = replies.claim_answer(conn, first, w.msg.received_at, self.replies.lease)
        return Outcome(
            duplicate=True,
            address=w.address,
            contact=w.contact,
            reply=due.reply if due else None,
            outbound_id=due.message_id if due else None,
            due=due,
        )

    def _effects(self, conn: Connection, a: Answering) -> Answering:
        """Hand-over, opt-out and opt-in, language and source; the reply as rendered."""
        w = a.work
        if a.decision.intent in CANDIDATES and a.decision.reply is not None:
            a.decision, a.thread_id = self._handoff.apply(
                conn,
                w.contact,
                a.decision,
                w.msg.channel,
                a.inbound_id,
                w.msg.received_at,
                w.catalog,
                w.matcher,
            )
        elif a.decision.intent == "courtesy":
            a.thread_id = self._handoff.join_open(conn, w.contact, a.inbound_id)
        self._apply(conn, w.contact, a.decision, w.msg)
        a.reply, a.segments = self._render(a.decision, w.msg.channel)
        return a

    def _notice(self, conn: Connection, a: Answering, held: str) -> None:
        """A held reply replaced by its guard's notice, or by nothing."""
        w = a.work
        text = guard_notice(
            conn,
            w.contact,
            a.decision,
            w.msg.text,
            w.msg.received_at,
            held,
            w.catalog,
            self._limits,
            self._loop_window,
        )
        if text is None:
            a.reply, a.segments = None, None
            return
        a.reply, a.segments = _sms_reply(text, self._sms_max_segments, None)
        a.notice = held if held in GUARDS else None

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

    def _hold(self, conn: Connection, answering: list[Answering]) -> None:
        """Why each reply of ``answering`` is held back, if it is (``held``): the provider's
        own compliance replies, or (SMS only: Telegram replies are free) the cost and loop
        guards, counted for all of them in one query."""
        counted: list[Answering] = []
        for a in answering:
            if a.work.compliance and a.decision.intent in COMPLIANCE_INTENTS - {"help"}:
                a.held = "provider_handles_compliance"
            elif a.work.msg.channel == "sms":
                counted.append(a)
        if not counted:
            return
        counts = messages.recent_counts_many(
            conn,
            [
                messages.Counted(
                    a.work.contact.contact_id,
                    a.work.msg.text,
                    replies_since=a.work.msg.received_at - _HOUR,
                    same_since=a.work.msg.received_at - self._loop_window,
                )
                for a in counted
            ],
        )
        for a, (replies_last_hour, same) in zip(counted, counts, strict=True):
            a.held = hold_reply(
                a.decision.intent,
                replies_last_hour=replies_last_hour,
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
