"""Which resident messages are handed over to a person, decided inside the inbox's unit.

A message joins a hand-over thread (:mod:`bot.store.threads`) when the resident asks for a person
(intent ``staff``) or about what the content does not say and no coordinator has answered yet
(intent ``no_answer``: fees, the address), when the bot cannot answer it right after another message
it could not answer (within ``miss_window``), or when the bot cannot answer it while the resident's
thread is open. The reply then says a person will answer, in office hours when the office is closed
(:func:`bot.core.conversation.hand_over`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.core.catalog import Catalog
from bot.core.conversation import decide, hand_over
from bot.core.decision import Channel, Decision, Inbound, Intent
from bot.core.keywords import Matcher
from bot.core.windows import OfficeHours, in_office_hours
from bot.store import threads
from bot.store.contacts import ContactRef
from bot.store.models import ThreadReason

# The intents of a message that may be handed over; ``unknown`` only as a second miss.
CANDIDATES: frozenset[Intent] = frozenset({"staff", "no_answer", "unknown"})


class Handoff:
    """The hand-over rule; see the module docstring."""

    def __init__(self, office: OfficeHours, miss_window: timedelta) -> None:
        self._office = office
        self._miss_window = miss_window

    def apply(
        self,
        conn: Connection,
        contact: ContactRef,
        decision: Decision,
        channel: Channel,
        inbound_id: int,
        now: datetime,
        catalog: Catalog,
        matcher: Matcher,
    ) -> tuple[Decision, int | None]:
        """``decision`` (one of :data:`CANDIDATES`, with a reply) handed over, and the thread
        the message joined; or ``decision`` unchanged and None (a first miss, no thread open).
        ``catalog`` and ``matcher`` are the ones the message was decided with."""
        thread_id = threads.current(conn, contact.contact_id)
        reason: ThreadReason = "missed" if decision.intent == "unknown" else "asked"
        if thread_id is None and reason == "missed":
            before = threads.previous_inbound(
                conn, contact.contact_id, inbound_id, now - self._miss_window
            )
            if before is None or not _missed(before, channel, contact, catalog, matcher):
                return decision, None
        if thread_id is None:
            thread_id = threads.open_thread(
                conn, contact.contact_id, decision.language, reason, now
            )
        threads.set_thread(conn, inbound_id, thread_id)
        office_open = in_office_hours(self._office, now)
        return hand_over(decision, catalog, office_open=office_open), thread_id

    def join_open(self, conn: Connection, contact: ContactRef, inbound_id: int) -> int | None:
        """Put a message that needs no answer (thanks, ok) in the resident's open thread, so
        the coordinator sees it; the thread's id, or None when none is open."""
        thread_id = threads.current(conn, contact.contact_id)
        if thread_id is not None:
            threads.set_thread(conn, inbound_id, thread_id)
        return thread_id


def _missed(
    text: str, channel: Channel, contact: ContactRef, catalog: Catalog, matcher: Matcher
) -> bool:
    """Whether the bot could not answer ``text`` either."""
    inbound = Inbound(text, channel, contact.language, contact.status)
    return decide(inbound, catalog, matcher).intent == "unknown"
