"""The pacer: at most ``limit`` sends in any window of the sends that went, however the sends
between their turn and their send are held up, and turns that never bunch."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import pytest

from bot.outreach.pacing import HEADROOM, MIN_GAP, Pacer


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


async def test_sends_held_up_after_their_turn_never_overrun_the_window() -> None:
    # Forty senders share a pacer of 50 a second; between its turn and its send each is held
    # up at random (a stalled status read), some far longer than the spacing, which lets
    # later ones overtake it. Whatever the order, no 51 sends fall within one window.
    pacer = Pacer(50)
    rng = random.Random(7)
    stalls = [rng.choice([0.0, 0.0, 0.001, 0.02, 0.15]) for _ in range(130)]
    marks: list[float] = []
    queue = list(enumerate(stalls))

    async def sender() -> None:
        while queue:
            _, stall = queue.pop(0)
            await pacer.turn()
            await asyncio.sleep(stall)
            async with pacer.gate:  # as the dispatcher does: wait in turn, then send
                for _ in range(1000):
                    wait = pacer.free_in()
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                pacer.sent()
                marks.append(time.monotonic())

    await asyncio.gather(*(sender() for _ in range(40)))
    assert len(marks) == 130
    marks.sort()
    gaps = [marks[i + pacer.limit] - marks[i] for i in range(len(marks) - pacer.limit)]
    assert min(gaps) >= pacer.window * 0.999
    # Sends held up together by a stall leave one by one, never in a burst.
    spacing = pacer.window / pacer.limit
    assert min(b - a for a, b in itertools.pairwise(marks)) >= spacing * MIN_GAP * 0.999


async def test_turns_never_bunch_more_than_two() -> None:
    pacer = Pacer(100)
    loop = asyncio.get_running_loop()
    turns: list[float] = []

    async def one() -> None:
        await pacer.turn()
        turns.append(loop.time())

    await asyncio.gather(*(one() for _ in range(40)))
    turns.sort()
    spacing = 1 / pacer.per_second
    assert all(turns[i + 2] - turns[i] >= spacing * 0.999 for i in range(len(turns) - 2))


async def test_free_in_counts_the_sends_that_went() -> None:
    now = [10.0]
    pacer = Pacer(2, headroom=0, clock=lambda: now[0])  # two a second
    assert pacer.free_in() == 0
    pacer.sent()
    now[0] = 10.1
    assert pacer.free_in() == pytest.approx(0.15)  # half the even spacing after the last
    now[0] = 10.4
    assert pacer.free_in() == 0
    pacer.sent()
    now[0] = 10.5
    assert pacer.free_in() == pytest.approx(0.5)  # the first send's window ends at 11.0
    now[0] = 11.0
    assert pacer.free_in() == 0


def test_hold_keeps_every_send_back() -> None:
    now = [0.0]
    pacer = Pacer(30, clock=lambda: now[0])
    pacer.hold(2.5)  # a 429 with retry_after 2.5
    assert pacer.free_in() == pytest.approx(2.5)
    pacer.hold(1)  # a shorter one does not shorten it
    now[0] = 2.0
    assert pacer.free_in() == pytest.approx(0.5)
    now[0] = 2.5
    assert pacer.free_in() == 0
