"""Coordinators' accounts: links used once, passwords, and slowing those who guess."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.outreach import accounts
from bot.outreach.accounts import Slowed, wait_after
from bot.store.units import Units

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("label", "failures", "free", "now", "wait"),
    [
        ("none", [], 5, at(0), 0),
        ("all free", [at(0)] * 5, 5, at(1), 0),
        ("one over: 2 s from the last", [at(0)] * 6, 5, at(0), 2),
        ("one over, 1.5 s later", [at(0)] * 6, 5, at(1.5), 0.5),
        ("one over, waited out", [at(0)] * 6, 5, at(3), 0),
        ("three over: 8 s", [at(0)] * 8, 5, at(0), 8),
        ("many over: capped at 15 min", [at(0)] * 40, 5, at(0), 900),
    ],
)
def test_wait_after(
    label: str, failures: list[datetime], free: int, now: datetime, wait: float
) -> None:
    assert wait_after(failures, free, now) == timedelta(seconds=wait), label


async def test_a_link_is_good_once_even_when_two_use_it_at_once(units: Units) -> None:
    amina = await accounts.add_coordinator(
        units, "Amina", telegram_id=None, admin=False, by="t", now=T0
    )
    token = await accounts.make_link(units, amina, T0, 15)
    assert (await accounts.link_owner(units, token, at(60))) == amina
    used = await asyncio.gather(*(accounts.use_link(units, token, at(60)) for _ in range(4)))
    assert [u for u in used if u is not None] == [amina]
    assert await accounts.use_link(units, token, at(61)) is None
    late = await accounts.make_link(units, amina, T0, 15)
    assert await accounts.use_link(units, late, at(15 * 60)) is None, "expired"
    assert await accounts.use_link(units, "made-up", at(1)) is None


async def test_passwords_and_the_failures_they_leave(units: Units) -> None:
    await accounts.add_coordinator(units, "Amina", telegram_id=None, admin=False, by="t", now=T0)
    with pytest.raises(ValueError, match="at least 10"):
        await accounts.set_password(units, "Amina", "short")
    await accounts.set_password(units, "Amina", "a good password")
    ok = await accounts.sign_in(units, "Amina", "a good password", "10.0.0.1", T0)
    assert ok is not None and not isinstance(ok, Slowed) and ok.name == "Amina"

    for i in range(accounts.FREE_PER_ACCOUNT + 1):
        assert await accounts.sign_in(units, "Amina", "wrong", "10.0.0.1", at(i)) is None
    slowed = await accounts.sign_in(units, "Amina", "a good password", "10.0.0.2", at(5))
    assert slowed == Slowed(timedelta(seconds=2))
    # Once the wait is over the right password works, and the failures are forgotten.
    back = await accounts.sign_in(units, "Amina", "a good password", "10.0.0.2", at(8))
    assert back is not None and not isinstance(back, Slowed)
    assert await accounts.sign_in(units, "Amina", "wrong", "10.0.0.2", at(9)) is None
    assert await accounts.sign_in(units, "Amina", "wrong", "10.0.0.2", at(10)) is None


async def test_one_address_trying_many_names_is_slowed(units: Units) -> None:
    await accounts.add_coordinator(units, "Amina", telegram_id=None, admin=False, by="t", now=T0)
    await accounts.set_password(units, "Amina", "a good password")
    for i in range(accounts.FREE_PER_ADDRESS + 1):
        assert await accounts.sign_in(units, f"name{i}", "x", "10.9.9.9", T0) is None
    assert isinstance(
        await accounts.sign_in(units, "Amina", "a good password", "10.9.9.9", T0), Slowed
    )
    other = await accounts.sign_in(units, "Amina", "a good password", "10.0.0.1", T0)
    assert other is not None and not isinstance(other, Slowed)
    # Outside the window the old failures count for nothing.
    later = T0 + accounts.WINDOW + timedelta(seconds=1)
    again = await accounts.sign_in(units, "Amina", "a good password", "10.9.9.9", later)
    assert again is not None and not isinstance(again, Slowed)


async def test_the_cookie_key_is_made_once_and_shared(units: Units) -> None:
    first = await accounts.cookie_key(units, T0)
    assert len(first) >= 48
    assert await accounts.cookie_key(units, at(1)) == first
