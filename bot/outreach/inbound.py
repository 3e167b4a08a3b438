"""What the inbox takes and gives: :class:`IncomingMessage` (a message as a channel adapter
received it) and :class:`Outcome` (what :class:`bot.outreach.inbox.Inbox` did with it), and
the state of a message on its way through the inbox (:class:`Given`, :class:`Turn`,
:class:`Work`, :class:`Answering`), which only the inbox uses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.catalog import Catalog, Lang
from bot.core.decision import Channel, Decision, Reply
from bot.core.guards import Guard
from bot.core.keywords import Matcher
from bot.store import contacts
from bot.store.replies import Due


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


@dataclass(frozen=True, slots=True)
class Given:
    """A message as ``Inbox.handle`` was given it, with its sender's address."""

    msg: IncomingMessage
    compliance: bool  # its provider sends the opt-out and opt-in replies itself
    address: str
    valid: bool  # False: a sender that cannot be answered (stored all the same)


class Turn:
    """One number's turn in ``Inbox._turn``, and how many of its messages want it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


# Not frozen: filled in as a pass goes (Inbox._pass).
@dataclass(slots=True)
class Work:
    """One message on its way through ``Inbox._handle_many``."""

    msg: IncomingMessage
    compliance: bool  # its provider sends the opt-out and opt-in replies itself
    address: str
    valid: bool
    # The content it is answered from.
    catalog: Catalog
    matcher: Matcher
    contact: contacts.ContactRef = field(init=False)
    # What the core decided (None for a sender that cannot be answered).
    decision: Decision | None = None
    # None until done, and for a message whose contact another transaction holds.
    outcome: Outcome | None = None

    def found(self, contact: contacts.ContactRef | None) -> bool:
        """Keep ``contact`` as this message's; False when there is none (held elsewhere)."""
        if contact is None:
            return False
        self.contact = contact
        return True


# Not frozen, as Work.
@dataclass(slots=True)
class Answering:
    """A message stored for the first time, from a sender who can be answered."""

    work: Work
    decision: Decision
    inbound_id: int
    thread_id: int | None = None
    reply: Reply | None = None
    segments: int | None = None
    # Why the reply is held back (see Outcome.held), and the guard whose notice replaces it.
    held: str | None = None
    notice: Guard | None = None
