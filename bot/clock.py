"""The clock that paced code reads and sleeps on, so that tests can bring their own.

Code that waits for time to pass (the pacer, the dispatcher's spacing between messages to one
chat, the Telegram channel's wait between the parts of a long reply) takes a :class:`Clock`
instead of calling ``time.monotonic`` and ``asyncio.sleep`` itself. In production it is
:data:`SYSTEM`; tests pass ``fakes.clock.FakeClock``, on which waiting takes no real time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds from a fixed point, never going back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...


class SystemClock:
    """The machine's monotonic clock and the event loop's sleep."""

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM: Clock = SystemClock()
