"""Console accounts, their one-time sign-in links, failed sign-ins and the cookie key.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. Hashing
passwords and making tokens is :mod:`bot.outreach.accounts`' work; these only keep what it
made. None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.models import NotFound, require_aware
from bot.store.tables import console_keys as _keys
from bot.store.tables import coordinators as _coordinators
from bot.store.tables import sign_in_failures as _failures
from bot.store.tables import sign_in_links as _links


class CoordinatorExists(ValueError):
    """The name or the Telegram id is already another coordinator's."""


@dataclass(frozen=True, slots=True)
class Account:
    """A coordinator as the console and the commands see them (never the password hash)."""

    id: int
    name: str
    telegram_id: int | None
    is_admin: bool
    has_password: bool
    session_epoch: int
    created_by: str
    created_at: datetime


def _account(row: object) -> Account:
    m = row._mapping  # type: ignore[attr-defined]
    return Account(
        id=m["id"],
        name=m["name"],
        telegram_id=m["telegram_id"],
        is_admin=bool(m["is_admin"]),
        has_password=m["password_hash"] is not None,
        session_epoch=m["session_epoch"],
        created_by=m["created_by"],
        created_at=m["created_at"],
    )


def add(
    conn: Connection,
    name: str,
    *,
    telegram_id: int | None,
    is_admin: bool,
    by: str,
    now: datetime,
) -> Account:
    """Store a new coordinator; :class:`CoordinatorExists` when the name or id is taken."""
    require_aware(now)
    if by_name(conn, name) is not None:
        raise CoordinatorExists(f"there is already a coordinator named '{name}'")
    if telegram_id is not None and by_telegram_id(conn, telegram_id) is not None:
        raise CoordinatorExists(f"Telegram id {telegram_id} is already another coordinator's")
    try:
        with conn.begin_nested():
            conn.execute(
                insert(_coordinators).values(
                    name=name,
                    telegram_id=telegram_id,
                    is_admin=is_admin,
                    password_hash=None,
                    session_epoch=0,
                    created_by=by,
                    created_at=now,
                )
            )
    except IntegrityError as exc:  # another process added the same name in between
        raise CoordinatorExists(f"a coordinator named '{name}' exists") from exc
    found = by_name(conn, name)
    assert found is not None
    return found


def everyone(conn: Connection) -> list[Account]:
    """Every coordinator, by name."""
    return [_account(r) for r in conn.execute(select(_coordinators).order_by(_coordinators.c.name))]


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(_coordinators)).scalar_one())


def by_name(conn: Connection, name: str) -> Account | None:
    row = conn.execute(select(_coordinators).where(_coordinators.c.name == name)).first()
    return None if row is None else _account(row)


def by_id(conn: Connection, coordinator_id: int) -> Account | None:
    row = conn.execute(select(_coordinators).where(_coordinators.c.id == coordinator_id)).first()
    return None if row is None else _account(row)


def by_telegram_id(conn: Connection, telegram_id: int) -> Account | None:
    stmt = select(_coordinators).where(_coordinators.c.telegram_id == telegram_id)
    row = conn.execute(stmt).first()
    return None if row is None else _account(row)


def remove(conn: Connection, name: str) -> None:
    """Remove a coordinator with their links; :class:`NotFound` when there is none."""
    found = by_name(conn, name)
    if found is None:
        raise NotFound(f"no coordinator named '{name}'")
    conn.execute(delete(_links).where(_links.c.coordinator_id == found.id))
    conn.execute(delete(_coordinators).where(_coordinators.c.id == found.id))


def password_hash(conn: Connection, name: str) -> tuple[Account, str | None] | None:
    """The coordinator named ``name`` and their password hash, or None."""
    row = conn.execute(select(_coordinators).where(_coordinators.c.name == name)).first()
    return None if row is None else (_account(row), row._mapping["password_hash"])


def set_password_hash(conn: Connection, name: str, hashed: str) -> None:
    """Keep a new password hash; every session signed in before ends. :class:`NotFound`."""
    done = conn.execute(
        update(_coordinators)
        .where(_coordinators.c.name == name)
        .values(password_hash=hashed, session_epoch=_coordinators.c.session_epoch + 1)
    )
    if done.rowcount == 0:
        raise NotFound(f"no coordinator named '{name}'")


def add_link(
    conn: Connection, coordinator_id: int, token_hash: str, *, now: datetime, expires: datetime
) -> None:
    """Keep a sign-in link's token hash until ``expires``."""
    require_aware(now)
    conn.execute(
        insert(_links).values(
            token_hash=token_hash,
            coordinator_id=coordinator_id,
            created_at=now,
            expires_at=expires,
            used_at=None,
        )
    )


def link_owner(conn: Connection, token_hash: str, now: datetime) -> Account | None:
    """Whose link this is, if it is unused and not expired (nothing is changed)."""
    require_aware(now)
    stmt = (
        select(_coordinators)
        .join(_links, _links.c.coordinator_id == _coordinators.c.id)
        .where(_links.c.token_hash == token_hash)
        .where(_links.c.used_at.is_(None), _links.c.expires_at > now)
    )
    row = conn.execute(stmt).first()
    return None if row is None else _account(row)


def use_link(conn: Connection, token_hash: str, now: datetime) -> Account | None:
    """Mark the link used and return its coordinator; None when it is unknown, used or
    expired. One UPDATE decides, so two tabs using one link at once sign in only one."""
    require_aware(now)
    owner = link_owner(conn, token_hash, now)
    if owner is None:
        return None
    used = conn.execute(
        update(_links)
        .where(_links.c.token_hash == token_hash, _links.c.used_at.is_(None))
        .where(_links.c.expires_at > now)
        .values(used_at=now)
    )
    return owner if used.rowcount == 1 else None


def add_failure(conn: Connection, account: str, address: str, now: datetime) -> None:
    """Record a failed sign-in by ``account`` (the name tried) from ``address``."""
    require_aware(now)
    conn.execute(insert(_failures).values(account=account[:64], address=address[:64], at=now))


def failures_since(
    conn: Connection, account: str, address: str, since: datetime
) -> tuple[list[datetime], list[datetime]]:
    """When sign-ins by ``account`` and from ``address`` failed since ``since``, oldest first."""

    def times(column: Column[str], value: str) -> list[datetime]:
        stmt = (
            select(_failures.c.at)
            .where(column == value, _failures.c.at >= since)
            .order_by(_failures.c.at)
        )
        return list(conn.execute(stmt).scalars())

    return times(_failures.c.account, account[:64]), times(_failures.c.address, address[:64])


def forget_failures(conn: Connection, account: str, before: datetime) -> None:
    """Forget ``account``'s failures (after it signs in) and everyone's older than ``before``."""
    conn.execute(
        delete(_failures).where((_failures.c.account == account[:64]) | (_failures.c.at < before))
    )


def cookie_key(conn: Connection, made: str, now: datetime) -> str:
    """The stored cookie key; ``made`` is stored and returned when there is none yet."""
    key = conn.execute(select(_keys.c.key).order_by(_keys.c.id).limit(1)).scalar()
    if key is not None:
        return str(key)
    conn.execute(insert(_keys).values(key=made, created_at=now))
    # Two processes may both have stored one: the first stored wins for both.
    return str(conn.execute(select(_keys.c.key).order_by(_keys.c.id).limit(1)).scalar_one())
