"""Which resident messages are handed over to a person, decided inside the inbox's unit.

A message joins a hand-over thread (:mod:`bot.store.threads`) when the resident asks for a
person (intent ``staff``), when the bot cannot answer it right after another message it could
not answer (within ``miss_window``), or when the bot cannot answer it while the resident's
thread is open. The reply then says a person will answer, in office hours when the office is
closed (:func:`bot.core.conversation.hand_over`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.core.catalog import Catalog
from bot.core.conversation import decide, hand_over
from bot.core.decision import Channel, Decision, Inbound
from bot.core.keywords import Matcher
from bot.core.windows import OfficeHours, in_office_hours
from bot.store import messages, threads
from bot.store.contacts import ContactRef
from bot.store.models import ThreadReason


class Handoff:
    """The hand-over rule for one catalog; see the module docstring."""

    def __init__(
        self, catalog: Catalog, matcher: Matcher, office: OfficeHours, miss_window: timedelta
    ) -> None:
        self._catalog = catalog
        self._matcher = matcher
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
    ) -> tuple[Decision, int | None]:
        """``decision`` (``staff`` or ``unknown``, with a reply) handed over, and the thread
        the message joined; or ``decision`` unchanged and None (a first miss, no thread open)."""
        thread_id = threads.current(conn, contact.contact_id)
        reason: ThreadReason = "asked" if decision.intent == "staff" else "missed"
        if thread_id is None and reason == "missed":
            before = messages.previous_inbound(
                conn, contact.contact_id, inbound_id, now - self._miss_window
            )
            if before is None or not self._missed(before, channel, contact):
                return decision, None
        if thread_id is None:
            thread_id = threads.open_thread(
                conn, contact.contact_id, decision.language, reason, now
            )
        messages.set_thread(conn, inbound_id, thread_id)
        office_open = in_office_hours(self._office, now)
        return hand_over(decision, self._catalog, office_open=office_open), thread_id

    def _missed(self, text: str, channel: Channel, contact: ContactRef) -> bool:
        """Whether the bot could not answer ``text`` either."""
        inbound = Inbound(text, channel, contact.language, contact.status)
        return decide(inbound, self._catalog, self._matcher).intent == "unknown"
