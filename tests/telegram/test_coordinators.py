"""Coordinators on Telegram (/announce, /schedules, /report): real Update JSON posted to the
running app's webhook, answers read from the fake Bot API, results read from the database."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.core.audience import Audience
from bot.core.roster import RosterRow
from bot.core.schedule import RuleError, describe, parse_rule, rule_to_dict
from bot.outreach import accounts, coordinate
from bot.store.broadcast_models import Announcement, Broadcast, Delivery, Schedule
from bot.store.coordinator_models import SignInLink
from bot.store.models import Message
from bot.store.roster import import_rows
from bot.store.units import Units
from bot.telegram.coordinators import BUSY, NOT_ALLOWED, STALE
from fakes import telegram_api as tg
from fakes.http import client as http_client
from fakes.telegram_api import FakeTelegram
from tests.routes.conftest import Served
from tests.telegram.conftest import serve_app

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

COORDINATOR = 777001
RESIDENT = 424242
TELEGRAM_RESIDENTS = (5001, 5002)
SMS_RESIDENT = "+923001234567"
HOOK = "/telegram/webhook"
TZ = "Asia/Karachi"
TEXT_EN = "Free web design course at the park from Monday 10:00. Reply JOBS for more."
TEXT_UR = "پارک میں پیر سے ویب ڈیزائن کا مفت کورس۔"


class Person:
    """One Telegram user talking to the bot: sends messages and presses the bot's buttons.

    Their updates go to ``to``: the app, or the web processes at these URLs in turn (as a
    reverse proxy in front of several would send them).
    """

    def __init__(
        self, to: Served | Sequence[str], fake: FakeTelegram, ids: Iterator[int], user_id: int
    ) -> None:
        self.urls = [to.url] if isinstance(to, Served) else list(to)
        self.fake, self.ids, self.id = fake, ids, user_id
        self._turns = itertools.cycle(self.urls)
        self.presses = 0

    async def post(self, update: dict[str, Any]) -> None:
        """Deliver ``update`` to the next web process, as Telegram's webhook call does."""
        assert (await self.fake.post_update(next(self._turns) + HOOK, update)).status_code == 200

    async def say(self, text: str, *, language_code: str = "en") -> None:
        update_id = next(self.ids)
        if text.startswith("/"):
            command, _, args = text[1:].partition(" ")
            update = tg.command_update(
                update_id, self.id, command, args, language_code=language_code
            )
        else:
            update = tg.message_update(update_id, self.id, text, language_code=language_code)
        await self.post(update)

    async def press(self, label: str) -> None:
        """Press the newest button labelled ``label`` (a tick before it is ignored)."""
        message, data = self.button(label)
        await self.press_data(data, message)

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> None:
        message = message or self.fake.add_message(self.id, "An old message")
        update = tg.callback_update(
            next(self.ids),
            self.id,
            data,
            message["message_id"],
            message_text=message["text"],
        )
        self.presses += 1
        await self.post(update)

    def button(self, label: str) -> tuple[dict[str, Any], str]:
        for message in reversed(self.fake.sent_to(self.id)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"].removeprefix("✓ ") == label:
                        return message, button["callback_data"]
        raise AssertionError(f"no button {label!r} in {self.texts}")

    def labels(self) -> list[str]:
        """The labels of the buttons under the newest message that has any."""
        for message in reversed(self.fake.sent_to(self.id)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if rows:
                return [b["text"] for row in rows for b in row]
        return []

    @property
    def texts(self) -> list[str]:
        return self.fake.texts_to(self.id)

    @property
    def last(self) -> str:
        return self.texts[-1]


@pytest.fixture
async def app(db_url: str, fake_telegram: tuple[FakeTelegram, str]) -> AsyncIterator[Served]:
    """The app in webhook mode, with one coordinator (and an id that is not a number)."""
    coordinators = f"{COORDINATOR}, not-a-number"
    async with serve_app(db_url, fake_telegram[1], coordinator_telegram_ids=coordinators) as app:
        yield app


@pytest.fixture
def coordinator(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> Person:
    return Person(app, fake, ids, COORDINATOR)


@pytest.fixture
def resident(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> Person:
    return Person(app, fake, ids, RESIDENT)


@asynccontextmanager
async def units_on(app: Served) -> AsyncIterator[Units]:
    runner = Units(app.runtime.engine)
    try:
        yield runner
    finally:
        runner.close()


async def seed_residents(app: Served, fake: FakeTelegram, ids: Iterator[int]) -> None:
    """Two residents on Telegram (they sent /start), one by SMS (imported)."""
    for chat in TELEGRAM_RESIDENTS:
        await Person(app, fake, ids, chat).say("/start")
    row = RosterRow(row=2, phone=SMS_RESIDENT, language="en", city=None, topics=frozenset())
    now = datetime.now(UTC)
    async with app.runtime.engine.begin() as conn:
        await conn.run_sync(lambda c: import_rows(c, [row], now))


async def counts(app: Served) -> dict[str, int]:
    return {
        model.__tablename__: await app.count(model)
        for model in (Announcement, Schedule, Broadcast, Delivery)
    }


NOTHING = {"announcements": 0, "schedules": 0, "broadcasts": 0, "deliveries": 0}


async def to_preview(
    person: Person,
    *,
    urdu: str | None = None,
    reach: str = "Everyone",
    topics: tuple[str, ...] = (),
) -> None:
    await person.say("/announce")
    assert "English text" in person.last
    await person.say(TEXT_EN)
    assert "Urdu text" in person.last
    if urdu is None:
        await person.press("Skip")
    else:
        await person.say(urdu)
    assert "Who gets it?" in person.last
    await person.press(reach)
    for topic in topics:
        await person.press(topic)
    await person.press("Preview ›")


def all_callback_data(fake: FakeTelegram, chat_id: int) -> list[str]:
    """The callback data of every button the bot sent or edited into ``chat_id``."""
    return [
        b["callback_data"]
        for call in fake.calls_to("sendMessage") + fake.calls_to("editMessageText")
        if call.get("chat_id") == chat_id
        for row in (call.get("reply_markup") or {}).get("inline_keyboard", [])
        for b in row
    ]


async def test_announce_and_send_now_queues_a_broadcast(
    app: Served, fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    await seed_residents(app, fake, ids)
    messages_before = await app.count(Message)
    await to_preview(coordinator)
    preview = coordinator.last
    assert TEXT_EN in preview and "Urdu speakers get the English text" in preview
    assert "Recipients: 1 SMS, 2 Telegram" in preview
    assert "SMS en: 1 segment (GSM-7)" in preview and "Sending time:" in preview
    assert coordinator.labels() == ["Send now", "Schedule…", "Cancel"]
    assert await counts(app) == NOTHING, "nothing is stored before the approval"

    await coordinator.press("Send now")

    async with app.sessions.begin() as s:
        broadcast = (await s.scalars(select(Broadcast))).one()
        announcement = (await s.scalars(select(Announcement))).one()
        channels = sorted((await s.scalars(select(Delivery.channel))).all())
    assert coordinator.last == (
        f"Sent: broadcast #{broadcast.id}, 3 messages queued. "
        f"/report {broadcast.id} shows how it goes."
    )
    assert broadcast.created_by == f"telegram:{COORDINATOR}"
    assert broadcast.key.startswith("manual:")
    assert (announcement.text_en, announcement.text_ur) == (TEXT_EN, None)
    assert channels == ["sms", "telegram", "telegram"]
    assert await app.count(Message) == messages_before, "the coordinator's answers are not inbox"
    assert len(fake.callback_answers) == coordinator.presses, "every press is answered"
    assert coordinator.labels() != ["Send now", "Schedule…", "Cancel"], "the preview is closed"
    data = all_callback_data(fake, COORDINATOR)
    assert data and all(len(d.encode()) <= 64 and d.startswith("co:") for d in data)


async def test_send_now_pressed_twice_at_once_sends_once(
    app: Served, fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    await seed_residents(app, fake, ids)
    await to_preview(coordinator)
    message, data = coordinator.button("Send now")
    await asyncio.gather(
        coordinator.press_data(data, message), coordinator.press_data(data, message)
    )
    assert await app.count(Broadcast) == 1
    assert await app.count(Delivery) == 3
    first, second = sorted(
        (str(a.get("text")) for a in list(fake.callback_answers.values())[-2:]), key=len
    )
    assert first == "None", "the press that sent"
    assert second in (BUSY, STALE), "the other one is turned away"
    assert len(fake.callback_answers) == coordinator.presses


async def test_schedule_creates_a_schedule_with_the_rule(
    app: Served, fake: FakeTelegram, coordinator: Person
) -> None:
    await to_preview(coordinator, urdu=TEXT_UR, reach="Telegram only", topics=("Jobs",))
    assert "Telegram only; only people following Jobs" in coordinator.last
    assert "Nobody in this audience can be reached now" in coordinator.last
    assert coordinator.labels() == ["Schedule…", "Cancel"], "no Send now to nobody"
    await coordinator.press("Schedule…")
    assert "When should it go out?" in coordinator.last and TZ in coordinator.last

    await coordinator.say("every monday at 10:00")
    expected = parse_rule("every monday at 10:00", datetime.now(UTC), TZ)
    confirm = coordinator.last
    assert f"Schedule: {describe(expected)}" in confirm
    assert confirm.count("Mon ") == 3, "the next three times"
    assert await counts(app) == NOTHING

    await coordinator.press("Create schedule")

    async with app.sessions.begin() as s:
        schedule = (await s.scalars(select(Schedule))).one()
        announcement = (await s.scalars(select(Announcement))).one()
    assert schedule.rule == rule_to_dict(expected)
    assert schedule.enabled and schedule.created_by == f"telegram:{COORDINATOR}"
    assert schedule.audience["channels"] == ["telegram"]
    assert schedule.audience["topics"] == ["jobs"]
    assert (announcement.text_ur, announcement.topics) == (TEXT_UR, ["jobs"])
    assert coordinator.last.startswith(f"Schedule #{schedule.id} created: every Monday at 10:00")
    assert await app.count(Broadcast) == 0
    assert len(fake.callback_answers) == coordinator.presses


async def test_a_time_the_parser_does_not_understand_gets_its_message(
    app: Served, fake: FakeTelegram, coordinator: Person
) -> None:
    await to_preview(coordinator)
    await coordinator.press("Schedule…")
    for bad in ("every blursday at 10:00", "cron 99 * * * *", "yesterday at 10:00"):
        with pytest.raises(RuleError) as problem:
            parse_rule(bad, datetime.now(UTC), TZ)
        await coordinator.say(bad)
        assert str(problem.value) in coordinator.last
        assert "try again" in coordinator.last
    await coordinator.say("tomorrow at 10:00")
    assert "Create this schedule?" in coordinator.last
    await coordinator.say("on the 1st of every month at 9am")  # another time replaces it
    await coordinator.press("Create schedule")
    async with app.sessions.begin() as s:
        rule = (await s.scalars(select(Schedule.rule))).one()
    assert rule["kind"] == "monthly"


async def test_cancel_leaves_nothing(app: Served, fake: FakeTelegram, coordinator: Person) -> None:
    await coordinator.say("/announce")
    await coordinator.say(TEXT_EN)
    await coordinator.press("Skip")
    await coordinator.say("/cancel")
    assert coordinator.last == "Cancelled. Nothing was sent or scheduled."
    await coordinator.press("Preview ›")  # a button of the cancelled draft
    assert list(fake.callback_answers.values())[-1]["text"].startswith("That button no longer")

    await to_preview(coordinator)
    await coordinator.press("Cancel")
    assert coordinator.last == "Cancelled. Nothing was sent or scheduled."
    await coordinator.say("/cancel")  # outside a conversation: not the inbox's CANCEL (opt-out)
    assert coordinator.last == "There is nothing to cancel."
    assert await counts(app) == NOTHING
    assert await app.count(Message) == 0

    await coordinator.say("jobs")  # the conversation is over: this is a resident's question
    assert "jobs" in coordinator.last.lower()
    assert await app.count(Message) == 2
    assert len(fake.callback_answers) == coordinator.presses


async def test_whatever_a_coordinator_sends_in_a_conversation_stays_in_it(
    app: Served, fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    await coordinator.say("/announce")
    sticker = tg.sticker_update(next(ids), COORDINATOR)
    assert (await fake.post_update(app.url + HOOK, sticker)).status_code == 200
    assert coordinator.last == "Please send the text as a message, or /cancel."
    await coordinator.say("x" * 1601)
    assert coordinator.last.startswith("That is 1,601 characters; an SMS can carry at most 1,600")
    await coordinator.say("stop")  # the English text, not an opt-out
    await coordinator.press("Skip")
    await coordinator.say("everyone please")
    assert coordinator.last == "Please tap one of the buttons above, or /cancel."
    await coordinator.press("Preview ›")
    assert "English:\nstop\n" in coordinator.last
    await coordinator.say("send it")
    assert coordinator.last == "Please tap one of the buttons above, or /cancel."
    assert await app.count(Message) == 0, "none of it reached the inbox"
    assert await counts(app) == NOTHING


async def test_a_button_of_an_earlier_draft_does_nothing(
    app: Served, fake: FakeTelegram, coordinator: Person
) -> None:
    await coordinator.say("/announce")
    await coordinator.say("First draft")
    old_message, old_skip = coordinator.button("Skip")
    await coordinator.say("/announce")  # start again
    await coordinator.say("Second draft")
    await coordinator.press_data(old_skip, old_message)
    assert list(fake.callback_answers.values())[-1]["text"].startswith("That button no longer")
    await coordinator.press("Skip")  # the second draft's own button
    await coordinator.press("Preview ›")
    assert "English:\nSecond draft\n" in coordinator.last
    assert len(fake.callback_answers) == coordinator.presses


async def test_a_draft_left_too_long_is_dropped(
    app: Served, fake: FakeTelegram, coordinator: Person
) -> None:
    telegram = app.runtime.telegram
    assert telegram is not None
    telegram.coordinators.announce.timeout = timedelta(0)
    await coordinator.say("/announce")
    await coordinator.say(TEXT_EN)
    assert "dropped; nothing was sent" in coordinator.last
    await coordinator.say("jobs")
    assert "jobs" in coordinator.last.lower(), "the next message is the inbox's again"
    assert await counts(app) == NOTHING


@pytest.mark.parametrize(
    ("language", "refusal"), [("en", NOT_ALLOWED.en), ("ur", NOT_ALLOWED.ur)], ids=["en", "ur"]
)
async def test_anyone_else_is_refused_and_nothing_changes(
    app: Served, fake: FakeTelegram, resident: Person, language: str, refusal: str
) -> None:
    async with units_on(app) as units:
        audience = Audience()
        draft = coordinate.Draft(TEXT_EN, None, audience)
        now = datetime.now(UTC)
        info = await coordinate.add_schedule(
            units, draft, parse_rule("daily 9am", now, TZ), now, by="cli"
        )
    before = await counts(app)

    for command in ("/announce", "/schedules", "/report", f"/report {info.id}"):
        await resident.say(command, language_code=language)
    assert resident.texts == [refusal] * 4
    for data in (f"co:s:y:{info.id}", f"co:s:p:{info.id}", "co:0123abcd:send"):
        await resident.press_data(data)
    assert [a.get("text") for a in fake.callback_answers.values()] == [NOT_ALLOWED.en] * 3
    await resident.say("some text after /announce")  # no conversation was opened
    assert await app.count(Message) == 2, "only that message and its answer are stored"

    assert await counts(app) == before
    async with app.sessions.begin() as s:
        assert (await s.scalars(select(Schedule.enabled))).one() is True


async def test_schedules_buttons_pause_resume_and_remove(
    app: Served, fake: FakeTelegram, coordinator: Person
) -> None:
    await coordinator.say("/schedules")
    assert coordinator.last == "No schedules. /announce makes one."
    now = datetime.now(UTC)
    async with units_on(app) as units:
        draft = coordinate.Draft("Weekly meetup at the park.", None, Audience())
        rule = parse_rule("every monday at 10:00", now, TZ)
        info = await coordinate.add_schedule(units, draft, rule, now, by="cli")

    async def enabled() -> bool | None:
        async with app.sessions.begin() as s:
            return await s.scalar(select(Schedule.enabled).where(Schedule.id == info.id))

    await coordinator.say("/schedules")
    assert f"#{info.id} Weekly meetup at the park." in coordinator.last
    assert "every Monday at 10:00 PKT · on" in coordinator.last
    assert coordinator.labels() == [f"Pause #{info.id}", f"Remove #{info.id}"]

    await coordinator.press(f"Pause #{info.id}")
    assert await enabled() is False
    assert "every Monday at 10:00 PKT · paused" in coordinator.last
    assert list(fake.callback_answers.values())[-1]["text"] == f"Schedule #{info.id} paused."

    await coordinator.press(f"Resume #{info.id}")
    assert await enabled() is True

    await coordinator.press(f"Remove #{info.id}")
    assert coordinator.last.startswith(f"Remove schedule #{info.id}")
    await coordinator.press("No, keep it")
    assert await enabled() is True
    await coordinator.press(f"Remove #{info.id}")
    await coordinator.press(f"Yes, remove #{info.id}")
    assert await app.count(Schedule) == 0
    assert coordinator.last.startswith(f"Schedule #{info.id} removed.")
    assert len(fake.sent_to(COORDINATOR)) == 2, "the list is edited in place"
    await coordinator.press_data(f"co:s:p:{info.id}")  # an old button of a removed schedule
    assert list(fake.callback_answers.values())[-1]["text"].endswith("no longer exists.")
    assert len(fake.callback_answers) == coordinator.presses


async def test_report_shows_counts(
    app: Served, fake: FakeTelegram, ids: Iterator[int], coordinator: Person
) -> None:
    await coordinator.say("/report")
    assert coordinator.last == "No broadcasts yet."
    await seed_residents(app, fake, ids)
    async with units_on(app) as units:
        sent = await coordinate.send_now(
            units,
            app.runtime.settings,
            coordinate.Draft(TEXT_EN, None, Audience()),
            datetime.now(UTC),
            by="cli",
        )

    await coordinator.say("/report")
    latest = coordinator.last
    assert latest.startswith("Latest broadcasts, newest first")
    assert f"#{sent.broadcast_id} Free web design course" in latest
    assert "Recipients: 3 (1 SMS, 2 Telegram)" in latest
    assert "Delivered 0, sent 0, failed 0, skipped 0, waiting 3" in latest

    await coordinator.say(f"/report {sent.broadcast_id}")
    assert coordinator.last.startswith(f"#{sent.broadcast_id} ")
    assert "Recipients: 3" in coordinator.last
    await coordinator.say("/report 999")
    assert coordinator.last == "There is no broadcast #999."
    await coordinator.say("/report soon")
    assert coordinator.last.startswith("Send /report for the latest")


async def test_coordinator_commands_are_in_the_coordinators_menu_only(
    app: Served, fake: FakeTelegram
) -> None:
    for language in ("", "ur"):
        everyone = [c["command"] for c in fake.commands_for(language)]
        mine = [
            c["command"]
            for c in fake.commands_for(language, scope={"type": "chat", "chat_id": COORDINATOR})
        ]
        assert "announce" not in everyone and "report" not in everyone
        assert mine == [*everyone, "announce", "schedules", "report", "login"]


async def test_residents_flows_are_unchanged(
    app: Served, fake: FakeTelegram, resident: Person, coordinator: Person
) -> None:
    await resident.say("/start")
    menu, data = resident.button(resident.labels()[0])
    await resident.press_data(data, menu)
    assert len(resident.texts) == 2
    await coordinator.say("/start")  # a coordinator is a resident too
    await coordinator.say("naukri")
    assert "jobs" in coordinator.last.lower()
    assert await app.count(Message) == 8


async def test_login_gives_a_console_account_a_one_time_link_and_no_one_else(
    app: Served, resident: Person, coordinator: Person
) -> None:
    async with units_on(app) as units:
        await accounts.add_coordinator(
            units, "Amina", telegram_id=COORDINATOR, admin=False, by="tests", now=datetime.now(UTC)
        )
    await coordinator.say("/login")
    found = re.search(r"https://outreach\.example\.org/console/login/(\S+)", coordinator.last)
    assert found is not None, coordinator.last
    assert "works once, for 15 minutes" in coordinator.last
    async with http_client(base_url=app.url) as client:
        shown = await client.get(f"/console/login/{found.group(1)}")
        assert shown.status_code == 200 and "Amina" in shown.text

    await resident.say("/login")
    assert resident.texts == [NOT_ALLOWED.en]
    async with app.sessions.begin() as s:
        assert await s.scalar(select(func.count()).select_from(SignInLink)) == 1


async def test_a_coordinator_message_whose_draft_cannot_be_read_goes_no_further(
    app: Served, fake: FakeTelegram, ids: Iterator[int]
) -> None:
    async with app.runtime.engine.begin() as conn:
        await conn.execute(text("DROP TABLE reply_drafts"))  # the first thing read fails

    update = tg.message_update(next(ids), COORDINATOR, "jobs")
    response = await fake.post_update(app.url + HOOK, update)

    assert response.status_code == 503, "Telegram is asked to send it again"
    assert await app.count(Message) == 0, "it never reached the inbox as a resident's message"
    assert fake.texts_to(COORDINATOR) == []
