"""The sandbox channel: records what would have been sent, sends nothing.

Used whenever a provider has no credentials, so the whole pipeline runs end to end on a
laptop; ``outreach chat`` reads the replies back from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from bot.core.decision import Channel, Reply
from bot.core.segments import count_segments

from .base import SendResult


@dataclass(frozen=True, slots=True)
class Sent:
    to: str
    reply: Reply
    provider_id: str


@dataclass
class SimulatorChannel:
    """Keeps every reply in ``outbox`` (newest last) and answers like an accepting provider."""

    channel: Channel
    outbox: list[Sent] = field(default_factory=list)

    async def send(self, to: str, reply: Reply) -> SendResult:
        # Unique across processes: the store keeps provider ids unique per channel.
        provider_id = f"sim-{uuid.uuid4().hex}"
        self.outbox.append(Sent(to=to, reply=reply, provider_id=provider_id))
        segments = count_segments(reply.text).segments if self.channel == "sms" else None
        return SendResult(provider_id=provider_id, status="simulated", segments=segments)
