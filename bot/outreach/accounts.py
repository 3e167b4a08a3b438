"""Coordinators' accounts: passwords (argon2), one-time sign-in links, slowing guessers.

What the console, the ``outreach coordinators`` commands and the bot's ``/login`` share. A
link's token is shown once and only its SHA-256 is stored; it is good for ``minutes`` and
for one sign-in. A password sign-in that fails is recorded against the name tried and the
client's address; past a few failures in :data:`WINDOW` the next try must wait, longer each
time (:func:`wait_after`), whether or not the password would be right.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.store import coordinators as store
from bot.store.coordinators import Account, CoordinatorExists
from bot.store.units import Units

__all__ = ["Account", "CoordinatorExists", "SignIn", "Slowed"]

# OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane): about 30 ms of one core a
# check. argon2-cffi's default (64 MiB, 3 passes, 4 lanes) costs 0.2 s of CPU, which a 2-core
# server answering a guesser can't spare; guessers are slowed by the failure count instead.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def prepare() -> None:
    """Make the dummy hash now (``serve`` does, in a thread at start-up), so that the first
    sign-in naming no account takes as long as every other."""
    _dummy_hash()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong
    password. Made on first use: hashing costs 30 ms of CPU, which every process that imports
    this module (`serve`, most commands) paid at start-up."""
    return _hasher.hash("not a password anyone has")


MIN_PASSWORD = 10
NAME_MAX = 64
WINDOW = timedelta(minutes=15)
FREE_PER_ACCOUNT = 5
FREE_PER_ADDRESS = 20
LONGEST_WAIT = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Slowed:
    """Too many failed sign-ins: try again after ``wait``."""

    wait: timedelta


SignIn = Account | Slowed | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name(name: str) -> str:
    """The name stripped; ``ValueError`` saying what is wrong with it."""
    name = name.strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise ValueError(f"a coordinator's name is 1 to {NAME_MAX} printable characters")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")


def wait_after(failures: list[datetime], free: int, now: datetime) -> timedelta:
    """How long the next try must wait after ``failures`` (oldest first) within the window.

    The first ``free`` cost nothing; each one after doubles the wait from 2 s, counted from
    the last failure, up to :data:`LONGEST_WAIT`.
    """
    extra = len(failures) - free
    if extra <= 0:
        return timedelta(0)
    wait = min(timedelta(seconds=2**extra), LONGEST_WAIT)
    return max(failures[-1] + wait - now, timedelta(0))


async def add_coordinator(
    units: Units, name: str, *, telegram_id: int | None, admin: bool, by: str, now: datetime
) -> Account:
    """A new coordinator; ``ValueError`` for a bad name, :class:`CoordinatorExists`."""
    name = check_name(name)
    return await units.run(
        lambda c: store.add(c, name, telegram_id=telegram_id, is_admin=admin, by=by, now=now)
    )


async def set_password(units: Units, name: str, password: str) -> None:
    """Set ``name``'s password (their other sessions end); ``ValueError`` when too short,
    ``NotFound`` when there is no such coordinator."""
    check_password(password)
    hashed = _hasher.hash(password)
    await units.run(lambda c: store.set_password_hash(c, name, hashed))


async def make_link(units: Units, account: Account, now: datetime, minutes: float) -> str:
    """A new one-time sign-in token for ``account``, good for ``minutes``."""
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(minutes=minutes)
    digest = token_hash(token)
    await units.run(lambda c: store.add_link(c, account.id, digest, now=now, expires=expires))
    return token


async def link_owner(units: Units, token: str, now: datetime) -> Account | None:
    """Whose usable link ``token`` is (the link stays unused)."""
    digest = token_hash(token)
    return await units.run(lambda c: store.link_owner(c, digest, now))


async def use_link(units: Units, token: str, now: datetime) -> Account | None:
    """Sign in with a link: its coordinator, once; None when unknown, used or expired."""
    digest = token_hash(token)
    return await units.run(lambda c: store.use_link(c, digest, now))


async def sign_in(units: Units, name: str, password: str, address: str, now: datetime) -> SignIn:
    """The coordinator when ``password`` is theirs; :class:`Slowed` when this name or address
    failed too often lately (the password is then not even checked); None when wrong."""
    name = name.strip()[:NAME_MAX]
    since = now - WINDOW
    by_name, by_address = await units.run(lambda c: store.failures_since(c, name, address, since))
    wait = max(
        wait_after(by_name, FREE_PER_ACCOUNT, now), wait_after(by_address, FREE_PER_ADDRESS, now)
    )
    if wait > timedelta(0):
        return Slowed(wait)
    found = await units.run(lambda c: store.password_hash(c, name))
    account, hashed = found if found is not None else (None, None)
    try:
        _hasher.verify(hashed or _dummy_hash(), password)
        ok = account is not None and hashed is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None:
        await units.run(lambda c: store.add_failure(c, name, address, now))
        return None
    await units.run(lambda c: store.forget_failures(c, name, since))
    return account


async def cookie_key(units: Units, now: datetime) -> str:
    """The key the console signs cookies with when none is configured (made once, stored)."""
    made = secrets.token_urlsafe(48)
    return await units.run(lambda c: store.cookie_key(c, made, now))
