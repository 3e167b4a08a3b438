"""Guards that keep a conversation from costing more than it should, and the one notice a
resident gets when one of them first holds their replies.

Pure: the caller counts what happened recently and passes the numbers (or the times) in.

A held number is never left silent: the first time a guard holds its replies, it gets one
short notice saying why and when replies resume (:func:`notice_due`, :func:`resume_in`,
:func:`notice_text`); the notice is stored and sent like any reply, but the cost guard does
not count notices, so a notice never extends the hold it announces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.core.catalog import Catalog, Lang
from bot.core.decision import Intent

# Carriers require STOP, START and HELP to be answered, so the cost guard never holds them.
COMPLIANCE_INTENTS: frozenset[Intent] = frozenset({"opt_out", "opt_in", "help"})

# The guards; each is also the system text of its notice and the ``intent`` stored on it.
Guard = Literal["cost_guard", "loop_guard"]
GUARDS: tuple[Guard, ...] = ("cost_guard", "loop_guard")


@dataclass(frozen=True, slots=True)
class GuardLimits:
    replies_per_hour: int = 10
    loop_repeats: int = 3


def hold_reply(
    intent: Intent, *, replies_last_hour: int, same_text_recently: int, limits: GuardLimits
) -> Guard | None:
    """Which guard holds the reply back, or None to send it.

    ``replies_last_hour`` counts replies already sent to this contact in the past hour
    (notices not included); ``same_text_recently`` counts inbound messages with this exact
    text from the contact in the loop window, this one included. A repeat loop holds every
    reply (an auto-responder answering our replies would otherwise ping-pong forever); the
    hourly cap spares compliance replies.
    """
    if same_text_recently >= limits.loop_repeats:
        return "loop_guard"
    if intent not in COMPLIANCE_INTENTS and replies_last_hour >= limits.replies_per_hour:
        return "cost_guard"
    return None


def notice_due(
    guard: Guard,
    *,
    last_notice: datetime | None,
    last_reply: datetime | None,
    now: datetime,
    loop_window: timedelta,
) -> bool:
    """Whether this hold is the first of its kind, so the resident is told (once).

    The cost guard holds a number until enough of its replies are an hour old; the hold
    ended if a reply went out after the last notice, so a new hold gets a new notice. The
    loop guard holds one text while other texts are answered, so it tells a number at most
    once per loop window: an auto-responder that echoes the notice gets no second one.
    """
    if last_notice is None:
        return True
    if guard == "cost_guard":
        return last_reply is not None and last_reply > last_notice
    return last_notice < now - loop_window


def resume_in(times: Sequence[datetime], allowed: int, window: timedelta, now: datetime) -> int:
    """Whole minutes (at least 1) until at most ``allowed`` of ``times`` are within
    ``window`` of the clock, so the guard lets a reply through again.

    ``times`` are the counted events (replies for the cost guard; this text's arrivals for
    the loop guard), in any order.
    """
    ordered = sorted(times)
    gone = len(ordered) - allowed  # how many must leave the window
    if gone <= 0:
        return 1
    free_at = ordered[gone - 1] + window
    return max(1, math.ceil((free_at - now).total_seconds() / 60))


def notice_text(catalog: Catalog, guard: Guard, lang: Lang, minutes: int) -> str:
    """The notice of ``guard`` in ``lang``: why replies are held, and in how many minutes
    they resume."""
    return catalog.text(guard, lang).replace("{minutes}", str(minutes))
