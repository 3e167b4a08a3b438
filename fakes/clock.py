"""A clock for tests: time passes only when someone waits on it, and takes no real time.

``await clock.sleep(s)`` moves the clock ``s`` seconds on and returns (after one turn of the
event loop, so other tasks run as they would). Code that waits its turn one sleeper at a time,
as everything behind the pacer's gate does, sees exactly the times it would see in real life,
with every other step taking no time at all. Sleepers that overlap each move it on in turn, so
elapsed time can only come out longer than in real life, never shorter: a test can assert
that sends kept their distance, not how fast they went. :meth:`FakeClock.advance` moves it by
hand.
"""

from __future__ import annotations

import asyncio


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []  # every wait asked for, in order

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
