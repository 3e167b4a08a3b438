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
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, func, select, update
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


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Reachable subscribers (with a contact that is not opted out, blocked or invalid) in
    all, and per language (None: not chosen), city (None: unknown) and topic."""

    total: int
    by_language: dict[str | None, int]
    by_city: dict[str | None, int]
    by_topic: dict[str, int]


_UNREACHABLE: tuple[str, ...] = ("opted_out", "blocked", "invalid")


def breakdown(conn: Connection) -> Breakdown:
    """Who can be reached, by language, city and topic, without visiting each person.

    Everyone is counted per (language, city, topics) from the index on those columns alone;
    then the few no longer reachable (every contact opted out, blocked or invalid: found
    from the contacts' status index, checked for an active contact) are counted the same way
    and taken off. Both give at most one row per combination, so Python only adds those up.
    """
    s, c = _subscribers, _contacts
    keys = (s.c.language, s.c.city, s.c.topics)
    everyone = select(*keys, func.count()).group_by(*keys)
    left = _contacts.alias("active")
    gone = (
        select(*keys, func.count())
        .where(
            s.c.id.in_(select(c.c.subscriber_id).where(c.c.status.in_(_UNREACHABLE))),
            ~exists().where(left.c.subscriber_id == s.c.id, left.c.status == "active"),
        )
        .group_by(*keys)
    )
    total = 0
    languages: dict[str | None, int] = {}
    cities: dict[str | None, int] = {}
    topics: dict[str, int] = {}
    for sign, stmt in ((1, everyone), (-1, gone)):
        for language, city, followed, n in conn.execute(stmt):
            n = sign * int(n)
            total += n
            languages[language] = languages.get(language, 0) + n
            cities[city] = cities.get(city, 0) + n
            for topic in set(followed or ()):
                topics[topic] = topics.get(topic, 0) + n

    def kept(counts: dict[Any, int]) -> dict[Any, int]:
        return {k: n for k, n in counts.items() if n > 0}

    return Breakdown(total, kept(languages), kept(cities), kept(topics))


def new_per_period(conn: Connection, starts: Sequence[datetime]) -> list[int]:
    """How many subscribers were created in each period: ``starts[i]`` up to ``starts[i+1]``
    (the last period has no end). One count per period, each a range of the ``created_at``
    index, in one statement."""
    for when in starts:
        require_aware(when)
    if not starts:
        return []
    s = _subscribers
    ends: list[datetime | None] = [*starts[1:], None]
    counts = [
        select(func.count())
        .where(s.c.created_at >= start, *([s.c.created_at < end] if end is not None else []))
        .scalar_subquery()
        for start, end in zip(starts, ends, strict=True)
    ]
    return [int(n) for n in conn.execute(select(*counts)).one()]
