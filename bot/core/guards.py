"""Guards that keep a conversation from costing more than it should.

Pure: the caller counts what happened recently and passes the numbers in.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.decision import Intent

# Carriers require STOP, START and HELP to be answered, so the cost guard never holds them.
COMPLIANCE_INTENTS: frozenset[Intent] = frozenset({"opt_out", "opt_in", "help"})


@dataclass(frozen=True, slots=True)
class GuardLimits:
    replies_per_hour: int = 10
    loop_repeats: int = 3


def hold_reply(
    intent: Intent, *, replies_last_hour: int, same_text_recently: int, limits: GuardLimits
) -> str | None:
    """Why the reply must be held back, or None to send it.

    ``replies_last_hour`` counts replies already sent to this contact in the past hour;
    ``same_text_recently`` counts inbound messages with this exact text from the contact in
    the loop window, this one included. A repeat loop holds every reply (an auto-responder
    answering our replies would otherwise ping-pong forever); the hourly cap spares
    compliance replies.
    """
    if same_text_recently >= limits.loop_repeats:
        return "loop guard"
    if intent not in COMPLIANCE_INTENTS and replies_last_hour >= limits.replies_per_hour:
        return "cost guard"
    return None
