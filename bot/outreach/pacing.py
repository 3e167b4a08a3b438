"""Pacing sends under a provider's limit, which it counts over a sliding window.

Telegram refuses (429) a send that makes more than 30 in any one second; Twilio and the
gateway phone queue or drop above their rate. Two plain shapes both fall short:

* ``AsyncLimiter(30, 1)`` (a bucket that holds 30) lets 30 go at once whenever it has
  drained: at the start, after any pause. A sliding window refuses that burst.
* ``AsyncLimiter(1, 1 / 30)`` spaces sends evenly, but each wake-up comes about a
  millisecond late and every later send inherits it: about 3% under the rate, for good.

:class:`Pacer` keeps both promises, at most ``limit`` sends in any window with no burst,
and loses no time to late timers. Every send goes through its :attr:`Pacer.gate` (a
first-come-first-served ``asyncio.Lock``), one at a time, and inside it:

1. :meth:`Pacer.wait` waits on a bucket that holds 2 and leaks at the pace. In
   the steady state it is half full, so a wake-up that comes late finds the bucket that much
   emptier and the next send comes that much sooner: lateness is made up, not inherited.
   Being inside the gate, the bucket is only drawn on as sends go: sends held up (a stalled
   read, a provider's ``retry_after``) do not pile up turns that would then go together.
2. It then waits out :meth:`Pacer.free_in`, which checks the window against the times sends
   **actually** went and keeps half the even spacing after the last one.
3. The caller does what must come right before the send (the dispatcher reads the
   contact's status), asks :meth:`Pacer.free_in` again if that took a while, and calls
   :meth:`Pacer.sent`, then sends with no ``await`` in between.

When the provider refuses a send and says when to try again (Telegram's 429 carries
``retry_after``, and its flood control is for the whole bot), :meth:`Pacer.hold` keeps every
send back that long.

The window is the provider's plus ``headroom`` (2% by default): requests reach the
provider a little later than we note them, not all equally late, and the headroom keeps that
jitter inside its window. So the pace is ``per_second / (1 + headroom)``.

The bucket is the leaky bucket of ``aiolimiter.AsyncLimiter`` written out here (ten lines in
:meth:`Pacer._take_turn`) because ``AsyncLimiter`` reads and sleeps on the event loop's clock:
everything here runs on the injected :class:`~bot.clock.Clock`, so tests drive the pacer
with a fake clock and no real waiting.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from bot.clock import SYSTEM, Clock

HEADROOM = 0.02
# What the bucket holds: 1 would add every late wake-up to every later send; 2 makes it up.
BUCKET = 2
# Sends never go closer together than this share of the even spacing (after a stall too).
MIN_GAP = 0.5


class Pacer:
    """At most ``limit`` sends in any ``window`` seconds, spaced out; see the module docstring.

    ``per_second`` is the provider's rate; ``limit`` is its whole part (at least 1) and the
    window at least a second: 2.5 a second is 2 a second, 0.5 a second is 1 in 2 seconds.

    Callers hold :attr:`gate` from :meth:`wait` to :meth:`sent`, so that sends go one by
    one, in order.
    """

    def __init__(
        self,
        per_second: float,
        *,
        headroom: float = HEADROOM,
        clock: Clock = SYSTEM,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        if headroom < 0:
            raise ValueError("headroom must not be negative")
        self.limit = max(1, math.floor(per_second))
        # Never shorter than a second: a provider that takes 2.5 a second counts whole seconds.
        self.window = max(1.0, self.limit / per_second) * (1 + headroom)
        self._clock = clock
        self._level = 0.0  # the bucket: what it holds, as of _level_at
        self._level_at = -math.inf
        self._sent: deque[float] = deque(maxlen=self.limit)
        self._min_gap = self.window / self.limit * MIN_GAP
        self._held_until = -math.inf
        self.gate = asyncio.Lock()

    @property
    def per_second(self) -> float:
        """The pace it keeps: ``limit`` a ``window``."""
        return self.limit / self.window

    async def wait(self) -> None:
        """Holding :attr:`gate`: wait for the next send's turn at the pace, then until
        :meth:`free_in` lets it go."""
        await self._take_turn()
        while (wait := self.free_in()) > 0:
            await self._clock.sleep(wait)

    async def _take_turn(self) -> None:
        """Wait until the bucket has room for one more, and put it in. It leaks ``limit``
        per ``window``."""
        leak = self.limit / self.window
        while True:
            now = self._clock.monotonic()
            self._level = max(0.0, self._level - (now - self._level_at) * leak)
            self._level_at = now
            if self._level + 1 <= BUCKET + 1e-9:  # a wait shorter than the clock's grain
                self._level += 1
                return
            await self._clock.sleep((self._level + 1 - BUCKET) / leak)

    def free_in(self) -> float:
        """Seconds until a send now would keep within ``limit`` per ``window`` of the sends
        that went (0: it may go now)."""
        now = self._clock.monotonic()
        wait = self._held_until - now
        if self._sent:
            wait = max(wait, self._sent[-1] + self._min_gap - now)
            if len(self._sent) == self.limit:
                wait = max(wait, self._sent[0] + self.window - now)
        return max(0.0, wait)

    def hold(self, seconds: float) -> None:
        """No send for ``seconds`` from now (the provider asked us to wait: a 429's
        ``retry_after``)."""
        self._held_until = max(self._held_until, self._clock.monotonic() + seconds)

    def sent(self) -> None:
        """Record a send going out now (right after :meth:`free_in` said 0)."""
        self._sent.append(self._clock.monotonic())
