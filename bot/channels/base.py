"""The one interface every outbound channel implements, and its error family.

Adapters translate their provider's exceptions into these, so retries, pacing and logging are
written once::

    ChannelError
    ├── Retryable(after=seconds | None,   429, 5xx, time-outs, throttling: try again later
    │             throttled=bool)         (throttled: the provider's rate limit, a 429)
    └── Permanent(reason)                 this message will never go through
        └── RecipientGone(reason, status) the contact itself is unreachable: blocked the bot,
                                          opted out at the carrier, invalid number
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.decision import Channel, ContactStatus, Reply
from bot.core.phones import mask


@dataclass(frozen=True, slots=True)
class SendResult:
    """The provider accepted the message. ``status`` is what we store: ``sent`` or ``simulated``."""

    provider_id: str | None
    status: Literal["sent", "simulated"] = "sent"
    segments: int | None = None


class ChannelError(Exception):
    """A send did not go through."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Retryable(ChannelError):
    """Try again later; ``after`` is the provider's requested wait in seconds, if it gave one;
    ``throttled`` when the provider said we send too fast (a 429, flood control), not that it
    is unwell."""

    def __init__(self, reason: str, *, after: float | None = None, throttled: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.throttled = throttled


class Permanent(ChannelError):
    """This message will never be accepted; do not retry it."""


class RecipientGone(Permanent):
    """The contact is unreachable; ``status`` is the contact status to record."""

    def __init__(self, reason: str, *, status: ContactStatus) -> None:
        super().__init__(reason)
        self.status = status


class Sender(Protocol):
    """What the inbox and the dispatcher need of a channel."""

    channel: Channel

    async def send(self, to: str, reply: Reply) -> SendResult:
        """Send ``reply`` to ``to``; raise a :class:`ChannelError` when it does not go through."""
        ...


_PHONE_LIKE = re.compile(r"\+?\d[\d ()-]{6,}\d")


def scrub_phone_numbers(text: str) -> str:
    """``text`` with anything that looks like a phone number masked, for reasons and logs."""
    return _PHONE_LIKE.sub(lambda match: mask(re.sub(r"[ ()-]", "", match.group())), text)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; None when absent, negative or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
