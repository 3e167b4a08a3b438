"""Subscribers: a person's name, language, interests, city and source, and linking their
contacts; finding people for the console.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; none of
them commits, and ``now`` must be timezone-aware. :func:`set_language` and
:func:`set_source_once` run in a resident message's unit, so they are
:class:`~bot.store.prepared.Prepared`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from bot.core.catalog import Lang
from bot.core.decision import Channel, ContactStatus
from bot.core.lookup import Lookup
from bot.store.contacts import ContactRef, get_contact, named
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
    name: str | None = None


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
        select(s.c.language, s.c.city, s.c.topics, s.c.source, s.c.name).where(
            s.c.id == subscriber_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no subscriber with id {subscriber_id}")
    language, city, topics, source, name = row
    return Profile(subscriber_id, language, city, frozenset(topics or ()), source, name)


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
    interests are added, and its language, city, source and name fill what this one lacks;
    then it is deleted. Each contact keeps its own status, so an SMS opt-out survives the merge.
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
        **named(a.name or b.name),
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


# Finding people, for the console ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactLine:
    """One of a person's contacts as the console shows it: its status, since when and why."""

    contact_id: int
    channel: Channel
    address: str
    status: ContactStatus
    status_changed_at: datetime
    status_reason: str | None
    status_words: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Card:
    """A person: their profile and every contact (oldest first)."""

    subscriber_id: int
    name: str | None
    language: Lang | None
    city: str | None
    topics: tuple[str, ...]
    source: str | None
    created_at: datetime
    contacts: tuple[ContactLine, ...]


def count_subscribers(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(_subscribers)).scalar_one())


def find(
    conn: Connection,
    lookup: Lookup,
    *,
    cities: Collection[str] = (),
    before: int | None = None,
    limit: int,
) -> list[Card]:
    """The people ``lookup`` names, newest first, at most ``limit``, with ids below
    ``before`` (the next page starts below the last id of this one). A word matches the
    people whose city is one of ``cities`` (the city ids the caller found for it), and
    those whose folded name holds the lookup's ``name`` anywhere.

    The start of a number common to much of the town (``0300``) matches thousands: then the
    newest :data:`_WALK` people are asked one by one first, which fills a page in a few
    steps; only when they hold too few matches is every match collected and sorted. A part
    of a name is looked for so too: a common one (``ali``) fills the page from the newest,
    and a rare one is looked for in the names alone (the partial index on ``name_folded``,
    a seventh of the table's size; no index finds a text inside another).
    """
    s = _subscribers
    newest = select(s.c.id).order_by(s.c.id.desc())
    if before is not None:
        newest = newest.where(s.c.id < before)

    def ids_where(condition: ColumnElement[bool]) -> list[int]:
        return list(conn.execute(newest.where(condition).limit(limit)).scalars())

    if lookup.empty:
        return _cards(conn, list(conn.execute(newest.limit(limit)).scalars()))
    if lookup.name or _dense(conn, lookup):
        floor = conn.execute(newest.offset(_WALK).limit(1)).scalar_one_or_none()
        window = s.c.id > floor if floor is not None else true()
        ids = ids_where(and_(window, _matching(lookup, cities, walk=True)))
        if len(ids) == limit or floor is None:
            return _cards(conn, ids)
    return _cards(conn, ids_where(_matching(lookup, cities, walk=False)))


def card(conn: Connection, subscriber_id: int) -> Card | None:
    """The person ``subscriber_id``, or None if there is no such person."""
    found = _cards(conn, [subscriber_id])
    return found[0] if found else None


# A prefix matching at least this many contacts is common: its people are looked for among
# the newest _WALK subscribers first (see find).
_DENSE = 2000
_WALK = 5000
# The subscribers whose name is searched for everyone (see _matching).
_NAMED = _subscribers.alias("named")


def _prefixes(lookup: Lookup) -> list[tuple[str, str]]:
    """The (channel, address prefix) pairs the lookup has."""
    pairs = (("sms", lookup.phone_prefix), ("telegram", lookup.chat_prefix))
    return [(channel, prefix) for channel, prefix in pairs if prefix]


def _in_range(channel: str, prefix: str) -> tuple[ColumnElement[bool], ...]:
    """The contacts on ``channel`` whose address starts with ``prefix``, as a range the
    (channel, address) index finds them by; LIKE keeps it exact under any collation.
    Prefixes are digits and +: nothing to escape."""
    c = _contacts
    where = [c.c.channel == channel, c.c.address >= prefix]
    above = after_prefix(prefix)
    if above is not None:
        where.append(c.c.address < above)
    return (*where, c.c.address.like(prefix + "%"))


def after_prefix(prefix: str) -> str | None:
    """The least text above every address that starts with ``prefix`` (digits after an
    optional +), found by adding one to its last digit that is not 9: ``+92339`` gives
    ``+9234``. Digit against digit, so every collation orders it alike (the next character
    after 9, ``:``, sorts before the digits in ICU's). None when every digit is 9."""
    kept = prefix.rstrip("9")
    if not kept or not kept[-1].isdigit():
        return None
    return kept[:-1] + str(int(kept[-1]) + 1)


def _dense(conn: Connection, lookup: Lookup) -> bool:
    """Whether a prefix of ``lookup`` matches at least :data:`_DENSE` contacts (counting
    no further: a cheap walk along the index)."""
    for channel, prefix in _prefixes(lookup):
        some = select(_contacts.c.id).where(*_in_range(channel, prefix)).limit(_DENSE).subquery()
        if conn.execute(select(func.count()).select_from(some)).scalar_one() >= _DENSE:
            return True
    return False


def _matching(lookup: Lookup, cities: Collection[str], *, walk: bool) -> ColumnElement[bool]:
    """Who ``lookup`` names: with ``walk``, each subscriber's contacts and name are asked
    (EXISTS, LIKE); else every matching contact's subscriber, and everyone whose name
    matches, is collected first (IN)."""
    s, c = _subscribers, _contacts
    either: list[ColumnElement[bool]] = []
    for channel, prefix in _prefixes(lookup):
        if walk:
            # Each person's own contacts, by the (subscriber_id, channel, status) index. Not
            # the range: with it SQLite's planner read the prefix's whole range of the
            # (channel, address) index for every person walked (3.7 s for a prefix of 2,500
            # contacts, none among the newest 5,000 people).
            mine = (c.c.subscriber_id == s.c.id, c.c.channel == channel)
            either.append(exists().where(*mine, c.c.address.like(prefix + "%")))
        else:
            either.append(s.c.id.in_(select(c.c.subscriber_id).where(*_in_range(channel, prefix))))
    if lookup.subscriber_id is not None:
        either.append(s.c.id == lookup.subscriber_id)
    if lookup.word and cities:
        either.append(func.lower(s.c.city).in_(sorted({x.lower() for x in cities})))
    if lookup.name:
        if walk:
            either.append(s.c.name_folded.contains(lookup.name, autoescape=True))
        else:
            # IS NOT NULL: the condition of the partial index, so the planner may read it.
            n = _NAMED
            has = (
                n.c.name_folded.is_not(None),
                n.c.name_folded.contains(lookup.name, autoescape=True),
            )
            either.append(s.c.id.in_(select(n.c.id).where(*has)))
    return or_(*either) if either else false()


def _cards(conn: Connection, ids: list[int]) -> list[Card]:
    if not ids:
        return []
    s, c = _subscribers, _contacts
    people = conn.execute(
        select(
            s.c.id, s.c.name, s.c.language, s.c.city, s.c.topics, s.c.source, s.c.created_at
        ).where(s.c.id.in_(ids))
    ).all()
    lines: dict[int, list[ContactLine]] = {i: [] for i in ids}
    for row in conn.execute(
        select(
            c.c.subscriber_id,
            c.c.id,
            c.c.channel,
            c.c.address,
            c.c.status,
            c.c.status_changed_at,
            c.c.status_reason,
            c.c.status_words,
            c.c.created_at,
        )
        .where(c.c.subscriber_id.in_(ids))
        .order_by(c.c.id)
    ):
        lines[row[0]].append(ContactLine(*row[1:]))
    by_id = {
        row.id: Card(
            row.id,
            row.name,
            row.language,
            row.city,
            tuple(row.topics or ()),
            row.source,
            row.created_at,
            tuple(lines[row.id]),
        )
        for row in people
    }
    return [by_id[i] for i in ids if i in by_id]
