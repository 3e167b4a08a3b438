"""The one notice a resident gets when the cost guard or the loop guard first holds their
replies, decided inside the inbox's unit (:class:`bot.outreach.inbox.Inbox`).

Whether a hold is new, and when replies resume, is read from the stored messages
(:func:`bot.store.messages.hold_state`), so every process agrees: a notice is stored as an
outbound message marked with its guard, and a second process sees it. The rules are
:mod:`bot.core.guards`'.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from bot.core.catalog import Catalog
from bot.core.decision import Decision
from bot.core.guards import Guard, GuardLimits, notice_due, notice_text, resume_in
from bot.store import messages
from bot.store.contacts import ContactRef

# The cost guard's window.
HOUR = timedelta(hours=1)


def guard_notice(
    conn: Connection,
    contact: ContactRef,
    decision: Decision,
    text: str,
    now: datetime,
    held: str,
    catalog: Catalog,
    limits: GuardLimits,
    loop_window: timedelta,
) -> str | None:
    """The notice for a message (``text``, at ``now``) whose reply ``held`` holds back, in
    the reply's language; None when this hold was announced already, or the notice is not ours
    to give (an opt-out, a contact who opted out, a provider's own compliance replies)."""
    if held not in ("cost_guard", "loop_guard"):
        return None
    if decision.intent == "opt_out" or contact.status == "opted_out":
        return None
    guard: Guard = "cost_guard" if held == "cost_guard" else "loop_guard"
    state = messages.hold_state(
        conn, contact.contact_id, replies_since=now - HOUR, text=text, same_since=now - loop_window
    )
    due = notice_due(
        guard,
        last_notice=state.last_notice.get(guard),
        last_reply=state.last_reply,
        now=now,
        loop_window=loop_window,
    )
    if not due:
        return None
    if guard == "cost_guard":
        minutes = resume_in(state.reply_times, limits.replies_per_hour - 1, HOUR, now)
    else:
        minutes = resume_in(state.same_times, limits.loop_repeats - 2, loop_window, now)
    return notice_text(catalog, guard, decision.language, minutes)
