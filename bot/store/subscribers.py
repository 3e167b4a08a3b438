"""Subscribers: a person's language, interests, city and source, and linking their contacts.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; none of
them commits, and ``now`` must be timezone-aware. :func:`set_language` and
:func:`set_source_once` run in a resident message's unit, so they are
:class:`~bot.store.prepared.Prepared`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, case, delete, exists, func, select, true, update
from sqlalchemy.sql.elements import BindParameter

from bot.core.catalog import Lang
from bot.store.contacts import ContactRef, get_contact
from bot.store.models import NotFound, require_aware
from bot.store.prepared import Prepared
from bot.store.tables import contacts as _contacts
from bot.store.tables import subscribers as _subscribers

_SOURCE_MAX = 128  # the length of subscribers.source

_NOW: BindParameter[datetime] = bindparam("now")
_SET_LANGUAGE = Prepared(
    update(_subscribers)
    .where(_subscribers.c.id == bindparam("subscriber_id"))
    .values(language=bindparam("language"), updated_at=_NOW)
)
_SET_SOURCE = Prepared(
    update(_subscribers)
    .where(_subscribers.c.id == bindparam("subscriber_id"), _subscribers.c.source.is_(None))
    .values(source=bindparam("source"), updated_at=_NOW)
)


@dataclass(frozen=True, slots=True)
class Profile:
    subscriber_id: int
    language: Lang | None
    city: str | None
    topics: frozenset[str]
    source: str | None


def set_language(conn: Connection, subscriber_id: int, lang: Lang, now: datetime) -> None:
    """Store the subscriber's language; :class:`NotFound` for an unknown subscriber."""
    require_aware(now)
    changed = _SET_LANGUAGE.rowcount(
        conn, {"subscriber_id": subscriber_id, "language": lang, "now": now}
    )
    if changed == 0:
        raise NotFound(f"no subscriber with id {subscriber_id}")


def set_source_once(conn: Connection, subscriber_id: int, source: str, now: datetime) -> bool:
    """Record where the subscriber came from (a deep-link payload) unless already known."""
    require_aware(now)
    changed = _SET_SOURCE.rowcount(
        conn, {"subscriber_id": subscriber_id, "source": source[:_SOURCE_MAX], "now": now}
    )
    return changed > 0


def get_profile(conn: Connection, subscriber_id: int) -> Profile:
    """The subscriber's profile; :class:`NotFound` for an unknown id."""
    s = _subscribers
    row = conn.execute(
        select(s.c.language, s.c.city, s.c.topics, s.c.source).where(s.c.id == subscriber_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    language, city, topics, source = row
    return Profile(subscriber_id, language, city, frozenset(topics or ()), source)


def set_topics(conn: Connection, subscriber_id: int, topics: Iterable[str], now: datetime) -> None:
    """Replace the subscriber's interests (stored sorted, without repeats)."""
    _update(conn, subscriber_id, now, topics=sorted(set(topics)))


def set_city(conn: Connection, subscriber_id: int, city: str | None, now: datetime) -> None:
    _update(conn, subscriber_id, now, city=city)


def link_phone(
    conn: Connection, telegram: ContactRef, phone_e164: str, now: datetime
) -> ContactRef:
    """Make the SMS contact for ``phone_e164`` belong to the Telegram contact's subscriber.

    A new SMS contact is created (active) when there is none. When the number already belongs
    to another subscriber, the two people are one: that subscriber's contacts move over, its
    interests are added, and its language, city and source fill what this one lacks; then it
    is deleted. Each contact keeps its own status, so an SMS opt-out survives the merge.
    """
    require_aware(now)
    existing = get_contact(conn, "sms", phone_e164)
    keep = telegram.subscriber_id
    if existing is None:
        conn.execute(
            _contacts.insert().values(
                subscriber_id=keep,
                channel="sms",
                address=phone_e164,
                status="active",
                status_changed_at=now,
                status_reason="telegram:contact shared",
                created_at=now,
                updated_at=now,
            )
        )
    elif existing.subscriber_id != keep:
        _merge(conn, keep=keep, gone=existing.subscriber_id, now=now)
    linked = get_contact(conn, "sms", phone_e164)
    assert linked is not None  # inserted or moved in this transaction
    return linked


def _merge(conn: Connection, *, keep: int, gone: int, now: datetime) -> None:
    a = get_profile(conn, keep)
    b = get_profile(conn, gone)
    conn.execute(
        update(_contacts).where(_contacts.c.subscriber_id == gone).values(subscriber_id=keep)
    )
    _update(
        conn,
        keep,
        now,
        topics=sorted(a.topics | b.topics),
        language=a.language or b.language,
        city=a.city or b.city,
        source=a.source or b.source,
    )
    conn.execute(delete(_subscribers).where(_subscribers.c.id == gone))


def _update(conn: Connection, subscriber_id: int, now: datetime, **values: object) -> None:
    require_aware(now)
    result = conn.execute(
        update(_subscribers)
        .where(_subscribers.c.id == subscriber_id)
        .values(**values, updated_at=now)
    )
    if result.rowcount == 0:
        raise NotFound(f"no subscriber with id {subscriber_id}")


def subscriber_contacts(conn: Connection, subscriber_id: int) -> list[ContactRef]:
    """Every contact of the subscriber, SMS and Telegram."""
    rows = conn.execute(
        select(_contacts.c.channel, _contacts.c.address).where(
            _contacts.c.subscriber_id == subscriber_id
        )
    ).all()
    found = [get_contact(conn, channel, address) for channel, address in rows]
    return [c for c in found if c is not None]


# -- what the console's overview counts ------------------------------------------------------

# Someone who can be sent to: a subscriber with at least one active contact.
_REACHABLE = exists().where(
    _contacts.c.subscriber_id == _subscribers.c.id, _contacts.c.status == "active"
)


def by_language(conn: Connection) -> dict[str | None, int]:
    """Reachable subscribers per language (None: not chosen yet)."""
    s = _subscribers
    stmt = select(s.c.language, func.count()).where(_REACHABLE).group_by(s.c.language)
    return {language: int(n) for language, n in conn.execute(stmt)}


def by_city(conn: Connection, limit: int) -> list[tuple[str | None, int]]:
    """The ``limit`` cities with the most reachable subscribers, most first (None: unknown)."""
    s = _subscribers
    n = func.count().label("n")
    stmt = (
        select(s.c.city, n)
        .where(_REACHABLE)
        .group_by(s.c.city)
        .order_by(n.desc(), s.c.city)
        .limit(limit)
    )
    return [(city, int(count)) for city, count in conn.execute(stmt)]


def by_topic(conn: Connection) -> list[tuple[str, int]]:
    """Reachable subscribers following each topic, most followed first."""
    s = _subscribers
    if conn.dialect.name == "postgresql":
        each = func.jsonb_array_elements_text(s.c.topics).table_valued("value")
    else:
        each = func.json_each(s.c.topics).table_valued("value")
    n = func.count().label("n")
    stmt = (
        select(each.c.value, n)
        .select_from(s)
        .join(each, true())
        .where(_REACHABLE)
        .group_by(each.c.value)
        .order_by(n.desc(), each.c.value)
    )
    return [(str(topic), int(count)) for topic, count in conn.execute(stmt)]


def new_per_period(conn: Connection, starts: Sequence[datetime]) -> list[int]:
    """How many subscribers were created in each period: ``starts[i]`` up to ``starts[i+1]``
    (the last period has no end). One pass over the rows since ``starts[0]``."""
    for when in starts:
        require_aware(when)
    if not starts:
        return []
    s = _subscribers
    ends: list[datetime | None] = [*starts[1:], None]
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(s.c.created_at >= start, s.c.created_at < end)
                        if end is not None
                        else s.c.created_at >= start,
                        1,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for start, end in zip(starts, ends, strict=True)
    ]
    row = conn.execute(select(*columns).where(s.c.created_at >= starts[0])).one()
    return [int(n) for n in row]
