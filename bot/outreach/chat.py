"""A person texts the bot by hand: ``outreach chat`` in a terminal, the console's simulator
in a browser. One message goes through the real pipeline (:class:`bot.outreach.inbox.Inbox`)
and its reply through the channel's sender (the simulator, for both of them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.channels.base import Sender
from bot.core.catalog import Catalog
from bot.core.decision import Channel
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.outreach.inbox import Inbox
from bot.outreach.subscribe import choose
from bot.store.units import Units

# Why a message got no reply, per Outcome.reason, in words for a person.
WHY = {
    "opted_out": "this number has opted out (text START to opt back in)",
    "invalid_sender": "the sender is not a valid phone number",
    "courtesy": "thanks and ok cost no SMS",
    "cost_guard": "the cost guard holds this number's replies (its notice went out already)",
    "loop_guard": "the loop guard holds this text (its notice went out already)",
    "duplicate": "a message seen before",
}


def why(outcome: Outcome) -> str:
    """Why ``outcome`` has no reply, for a person."""
    reason = outcome.reason or "no_reply"
    return WHY.get(reason, reason)


async def exchange(
    inbox: Inbox,
    units: Units,
    catalog: Catalog,
    sender: Sender,
    channel: Channel,
    address: str,
    text: str,
    now: datetime,
) -> Outcome:
    """One message in, its reply recorded and sent through ``sender``.

    ``catalog`` is the content: what the Telegram subscribe screens are rendered from."""
    msg = IncomingMessage(
        channel=channel,
        sender=address,
        text=text,
        provider_id=f"chat-{uuid.uuid4().hex}",
        received_at=now,
    )
    outcome = await inbox.handle(msg)
    d = outcome.decision
    if d is not None and d.action is not None and outcome.contact is not None:
        # /subscribe and its buttons: what the Telegram bot shows (it edits its message in
        # place; the simulator prints it).
        chosen = await choose(units, outcome.contact.subscriber_id, d.action, now)
        outcome.reply = chosen.reply(catalog, d.language)
        return outcome
    await inbox.deliver(outcome, sender, now)
    return outcome
