"""The pacer: at most ``limit`` sends in any window of the sends that went, however the sends
between their turn and their send are held up, and turns that never bunch."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from bot.outreach.pacing import HEADROOM, MIN_GAP, Pacer
from fakes.clock import FakeClock


def test_limit_and_window_follow_the_rate() -> None:
    p = Pacer(30)
    assert (p.limit, p.window) == (30, pytest.approx(1 + HEADROOM))
    assert p.per_second == pytest.approx(30 / (1 + HEADROOM))
    slow = Pacer(0.5, headroom=0)
    assert (slow.limit, slow.window) == (1, pytest.approx(2.0))
    odd = Pacer(2.5, headroom=0)  # 2.5 a second is 2 in any second, not 2 in 0.8 s
    assert (odd.limit, odd.window) == (2, pytest.approx(1.0))


@pytest.mark.parametrize(("rate", "headroom"), [(0, 0.02), (-1, 0.02), (10, -0.1)])
def test_nonsense_is_refused(rate: float, headroom: float) -> None:
    with pytest.raises(ValueError, match="must"):
        Pacer(rate, headroom=headroom)


async def send_through(pacer: Pacer, clock: FakeClock, stall: float, marks: list[float]) -> None:
    """One send as the dispatcher makes it: in the gate, wait for the pace, read the status
    (held up ``stall`` seconds), wait out the window again if that took long, send."""
    async with pacer.gate:
        await pacer.wait()
        await clock.sleep(stall)
        for _ in range(1000):
            wait = pacer.free_in()
            if wait <= 0:
                break
            await clock.sleep(wait)
        pacer.sent()
        marks.append(clock.monotonic())


def assert_paced(pacer: Pacer, marks: list[float]) -> None:
    marks = sorted(marks)
    # No more than `limit` in any window, measured on the sends that went.
    spans = [marks[i + pacer.limit] - marks[i] for i in range(len(marks) - pacer.limit)]
    assert min(spans) >= pacer.window * 0.999
    # Never closer than half the even spacing: no burst, after a stall or a hold either.
    spacing = pacer.window / pacer.limit
    assert min(b - a for a, b in itertools.pairwise(marks)) >= spacing * MIN_GAP * 0.999
    # Held-up sends do not make up for lost time: the bucket of 2 absorbs late wake-ups and
    # no more. Sends i+1..j drew on it after send i went (one at a time through the gate),
    # so j - i of them need at least (j - i - 2) spacings after it.
    for i in range(len(marks)):
        for j in range(i + 3, min(i + 40, len(marks))):
            assert marks[j] - marks[i] >= (j - i - 2) * spacing * 0.999, (i, j)


async def test_with_nothing_in_the_way_sends_go_at_the_pace() -> None:
    clock = FakeClock()
    pacer = Pacer(30, clock=clock)
    marks: list[float] = []

    await asyncio.gather(*(send_through(pacer, clock, 0.0, marks) for _ in range(90)))

    assert_paced(pacer, marks)
    # The first two go half a spacing apart (the bucket starts empty), then one a spacing:
    # the pace is kept, not undershot.
    spacing = pacer.window / pacer.limit
    assert marks[-1] - marks[0] == pytest.approx(88 * spacing)


async def test_stalled_reads_never_overrun_the_window_nor_burst() -> None:
    # Forty senders share a pacer of 50 a second; each send's status read is held up at
    # random, some far longer than the spacing.
    clock = FakeClock()
    pacer = Pacer(50, clock=clock)
    rng = random.Random(7)
    stalls = [rng.choice([0.0, 0.0, 0.001, 0.02, 0.15]) for _ in range(130)]
    marks: list[float] = []

    async def sender(mine: list[float]) -> None:
        for stall in mine:
            await send_through(pacer, clock, stall, marks)

    await asyncio.gather(*(sender(stalls[k::40]) for k in range(40)))
    assert len(marks) == 130
    assert_paced(pacer, marks)


async def test_after_a_hold_the_waiting_sends_do_not_go_together() -> None:
    clock = FakeClock()
    pacer = Pacer(50, clock=clock)
    marks: list[float] = []

    async def send(n: int) -> None:
        await send_through(pacer, clock, 0.0, marks)
        if n == 20:
            pacer.hold(0.4)  # a 429 with retry_after while 40 sends wait their turn

    await asyncio.gather(*(send(n) for n in range(60)))
    assert len(marks) == 60
    assert_paced(pacer, marks)
    gaps = [b - a for a, b in itertools.pairwise(sorted(marks))]
    assert max(gaps) == pytest.approx(0.4), "it held"


async def test_free_in_counts_the_sends_that_went() -> None:
    clock = FakeClock(10.0)
    pacer = Pacer(2, headroom=0, clock=clock)  # two a second
    assert pacer.free_in() == 0
    pacer.sent()
    clock.now = 10.1
    assert pacer.free_in() == pytest.approx(0.15)  # half the even spacing after the last
    clock.now = 10.4
    assert pacer.free_in() == 0
    pacer.sent()
    clock.now = 10.5
    assert pacer.free_in() == pytest.approx(0.5)  # the first send's window ends at 11.0
    clock.now = 11.0
    assert pacer.free_in() == 0


def test_hold_keeps_every_send_back() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(30, clock=clock)
    pacer.hold(2.5)  # a 429 with retry_after 2.5
    assert pacer.free_in() == pytest.approx(2.5)
    pacer.hold(1)  # a shorter one does not shorten it
    clock.now = 2.0
    assert pacer.free_in() == pytest.approx(0.5)
    clock.now = 2.5
    assert pacer.free_in() == 0
