"""bot.store.subscribers: profiles, linking one person's Telegram chat and phone, and finding
people by name, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from bot.core.lookup import read_lookup
from bot.store import contacts, subscribers
from bot.store.models import NotFound
from bot.store.tables import contacts as contacts_table
from bot.store.tables import subscribers as subscribers_table
from bot.store.units import Units
from tests.store._plans import last_plan, plans

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
PHONE = "+923001234567"


async def test_set_language(units: Units) -> None:
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, NOW))
    await units.run(lambda conn: subscribers.set_language(conn, ref.subscriber_id, "ur", LATER))
    assert await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE)) == (
        contacts.ContactRef(
            ref.contact_id, ref.subscriber_id, "sms", PHONE, "active", "ur", created=False
        )
    )
    s = subscribers_table
    updated_at = await units.run(
        lambda conn: conn.execute(
            select(s.c.updated_at).where(s.c.id == ref.subscriber_id)
        ).scalar_one()
    )
    assert updated_at == LATER
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.set_language(conn, 404, "en", NOW))


async def test_roman_urdu_is_kept_and_a_language_we_do_not_have_refused(units: Units) -> None:
    ref = await units.run(lambda conn: contacts.upsert_contact(conn, "sms", PHONE, NOW))
    await units.run(lambda conn: subscribers.set_language(conn, ref.subscriber_id, "ur-Latn", NOW))
    got = await units.run(lambda conn: contacts.get_contact(conn, "sms", PHONE))
    assert got is not None and got.language == "ur-Latn"
    s = subscribers_table
    with pytest.raises(IntegrityError):  # the CHECK: en, ur or ur-Latn
        await units.run(
            lambda conn: conn.execute(
                s.update().where(s.c.id == ref.subscriber_id).values(language="ur-Arab")
            )
        )


async def test_interests_city_and_source(units: Units) -> None:
    def unit(conn: Connection) -> int:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        subscribers.set_topics(conn, tg.subscriber_id, ["jobs", "training", "jobs"], NOW)
        subscribers.set_city(conn, tg.subscriber_id, "multan", NOW)
        assert subscribers.set_source_once(conn, tg.subscriber_id, "fb_ad", NOW)
        assert not subscribers.set_source_once(conn, tg.subscriber_id, "later", NOW)
        return tg.subscriber_id

    subscriber_id = await units.run(unit)
    profile = await units.run(lambda conn: subscribers.get_profile(conn, subscriber_id))
    assert profile.topics == {"jobs", "training"}
    assert profile.city == "multan"
    assert profile.source == "fb_ad", "the first source is kept"


async def test_an_unknown_subscriber_is_not_found(units: Units) -> None:
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.get_profile(conn, 404))
    with pytest.raises(NotFound):
        await units.run(lambda conn: subscribers.set_city(conn, 404, "multan", NOW))


async def test_sharing_a_new_number_adds_an_sms_contact(units: Units) -> None:
    def unit(conn: Connection) -> tuple[contacts.ContactRef, contacts.ContactRef]:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        return tg, subscribers.link_phone(conn, tg, PHONE, NOW)

    tg, sms = await units.run(unit)
    assert sms.subscriber_id == tg.subscriber_id
    assert sms.channel == "sms" and sms.status == "active"


async def test_sharing_a_known_number_merges_the_two_people(units: Units) -> None:
    def setup(conn: Connection) -> contacts.ContactRef:
        sms = contacts.upsert_contact(conn, "sms", PHONE, NOW, language="ur", name="Ali Raza")
        subscribers.set_topics(conn, sms.subscriber_id, ["women"], NOW)
        subscribers.set_city(conn, sms.subscriber_id, "bahawalpur", NOW)
        contacts.set_contact_status(conn, sms.contact_id, "opted_out", NOW, reason="keyword")
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        subscribers.set_topics(conn, tg.subscriber_id, ["jobs"], NOW)
        return tg

    tg = await units.run(setup)
    linked = await units.run(lambda conn: subscribers.link_phone(conn, tg, PHONE, NOW))
    people = await units.run(
        lambda conn: conn.execute(select(func.count()).select_from(subscribers_table)).scalar()
    )
    profile = await units.run(lambda conn: subscribers.get_profile(conn, tg.subscriber_id))
    both = await units.run(lambda conn: subscribers.subscriber_contacts(conn, tg.subscriber_id))
    assert people == 1
    assert linked.subscriber_id == tg.subscriber_id
    assert profile.topics == {"jobs", "women"}
    assert profile.city == "bahawalpur" and profile.language == "ur"
    assert profile.name == "Ali Raza", "the name the chat lacked"
    assert {(c.channel, c.status) for c in both} == {
        ("telegram", "active"),
        ("sms", "opted_out"),
    }, "the SMS opt-out survives the merge"


async def test_linking_twice_changes_nothing(units: Units) -> None:
    def unit(conn: Connection) -> tuple[contacts.ContactRef, contacts.ContactRef]:
        tg = contacts.upsert_contact(conn, "telegram", "777", NOW)
        first = subscribers.link_phone(conn, tg, PHONE, NOW)
        again = subscribers.link_phone(conn, tg, PHONE, NOW)
        return first, again

    first, again = await units.run(unit)
    assert first == again


async def test_people_are_found_by_any_part_of_their_name(units: Units) -> None:
    names = ("Ali Raza", "ALIYA Khan", "عائشہ قریشی", "علی حسن", None, "Multani Ali")

    def people(conn: Connection) -> list[int]:
        ids = []
        for n, name in enumerate(names):
            ref = contacts.upsert_contact(conn, "sms", f"+9230012345{n:02d}", NOW, name=name)
            ids.append(ref.subscriber_id)
        subscribers.set_city(conn, ids[4], "multan", NOW)
        return ids

    ali, aliya, aisha, ali_urdu, nameless, multani = await units.run(people)

    async def found(typed: str, cities: tuple[str, ...] = ()) -> list[int]:
        lookup = read_lookup(typed)
        cards = await units.run(
            lambda conn: subscribers.find(conn, lookup, cities=cities, limit=10)
        )
        return [c.subscriber_id for c in cards]

    assert await found("ali") == [multani, aliya, ali]  # newest first, anywhere in a name
    assert await found("RAZA") == [ali] == await found("ali raza") == await found("Ali  Raza")
    assert await found("aliya k") == [aliya]
    assert await found("عائشہ") == [aisha] == await found("ئشہ قر")  # the middle of a name
    assert await found("علي") == [ali_urdu], "an Arabic yeh finds the Urdu one"
    assert await found("multan", ("multan",)) == [multani, nameless], "a name or a city"
    # LIKE's wildcards are letters like any other here, not "anything".
    assert await found("%") == [] and await found("_") == [] and await found("a%z") == []
    card = await units.run(lambda conn: subscribers.card(conn, aisha))
    assert card is not None and card.name == "عائشہ قریشی"


async def test_a_rare_name_is_found_beyond_the_newest_and_a_common_one_among_them(
    units: Units,
) -> None:
    """6,000 people named "Person n": a common part fills a page from the newest; a rare name
    (two people, one among the newest 5,000, one older) is looked for in every name."""
    n = 6000

    def many(conn: Connection) -> None:
        rows = [
            {
                "id": i,
                "topics": [],
                "created_at": NOW,
                "updated_at": NOW,
                **contacts.named("Zubair Ahmed" if i in (10, 5990) else f"Person {i}"),
            }
            for i in range(1, n + 1)
        ]
        conn.execute(subscribers_table.insert(), rows)

    await units.run(many)

    async def found(typed: str, before: int | None = None) -> list[int]:
        lookup = read_lookup(typed)
        cards = await units.run(lambda conn: subscribers.find(conn, lookup, before=before, limit=5))
        return [c.subscriber_id for c in cards]

    assert await found("person") == [6000, 5999, 5998, 5997, 5996]
    assert await found("zubair") == [5990, 10]
    assert await found("ahmed", before=5990) == [10]
    assert await found("person 59", before=5950) == [5949, 5948, 5947, 5946, 5945]
    assert await found("zainab") == []


async def test_a_name_is_looked_for_in_the_names_index_on_sqlite(units: Units) -> None:
    """A rare part of a name, not among the newest 5,000, is looked for in the partial index
    of folded names, not the whole table."""
    lookup = read_lookup("zubair")

    def unit(conn: Connection) -> list[str]:
        if conn.dialect.name == "sqlite":  # else skipped by last_plan
            people = [{"topics": [], "created_at": NOW, "updated_at": NOW}] * 5001
            conn.execute(subscribers_table.insert(), people)
        # After the walk of the newest 5,000, the statement that looks in every name.
        return last_plan(conn, lambda c: subscribers.find(c, lookup, limit=5))

    assert any("ix_subscribers_name_folded" in step for step in await units.run(unit))


async def test_a_common_start_walks_each_persons_own_contacts_on_sqlite(units: Units) -> None:
    """The walk of the newest people for a start common to thousands (``0301``) asks each
    person's own contacts, by the (subscriber_id, channel, status) index: with the prefix's
    range there too, SQLite read the whole range for every person walked (3.7 s for 2,500
    matching contacts none of whom was among the newest 5,000)."""
    lookup = read_lookup("0301")

    def unit(conn: Connection) -> list[tuple[str, list[str]]]:
        if conn.dialect.name == "sqlite":  # else skipped by plans
            n = 2100
            people = [
                {"id": i, "topics": [], "created_at": NOW, "updated_at": NOW}
                for i in range(1, n + 1)
            ]
            conn.execute(subscribers_table.insert(), people)
            conn.execute(
                contacts_table.insert(),
                [
                    {
                        "subscriber_id": i,
                        "channel": "sms",
                        "address": f"+92301{i:07d}",
                        "status": "active",
                        "status_changed_at": NOW,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in range(1, n + 1)
                ],
            )
        return plans(conn, lambda c: subscribers.find(c, lookup, limit=5))

    walked = [plan for statement, plan in await units.run(unit) if "EXISTS" in statement]
    assert walked, "a common start is walked"
    contacts_steps = [step for step in walked[0] if "contacts" in step]
    assert contacts_steps, walked
    assert all("ix_contacts_subscriber_id_channel_status" in step for step in contacts_steps), (
        walked
    )


@pytest.mark.parametrize(
    ("prefix", "above"),
    [
        ("+92301", "+92302"),
        ("+92339", "+9234"),
        ("+923999", "+924"),
        ("5000", "5001"),
        ("+999", None),
        ("99", None),
    ],
)
def test_the_end_of_a_prefixs_range_compares_digit_with_digit(
    prefix: str, above: str | None
) -> None:
    assert subscribers.after_prefix(prefix) == above


async def test_a_number_start_ending_in_9_finds_its_people(units: Units) -> None:
    """``0339`` (``+92339``): the end of its range is ``+9234``, not ``+9233:``."""

    def unit(conn: Connection) -> None:
        for n, address in enumerate(("+923391234567", "+923399999999", "+923401234567")):
            contacts.upsert_contact(conn, "sms", address, NOW + timedelta(seconds=n))

    await units.run(unit)
    cards = await units.run(lambda c: subscribers.find(c, read_lookup("0339"), limit=5))
    found = [line.address for card in cards for line in card.contacts]
    assert found == ["+923399999999", "+923391234567"]
