"""``/telegram/webhook`` and long polling, with the real python-telegram-bot against the fake
Bot API: every kind of update a user can cause, posted as real JSON over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from bot.store import subscribers
from bot.store.models import Contact, Message, Subscriber
from fakes import telegram_api as tg
from fakes.http import client as http_client
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.apps import app_for
from tests.conftest import eventually
from tests.routes.conftest import BOT_TOKEN, Served, make_settings

CHAT = 424242
HOOK = "/telegram/webhook"


async def post(app: Served, fake: FakeTelegram, update: dict[str, Any]) -> httpx.Response:
    return await fake.post_update(app.url + HOOK, update)


@pytest.fixture
def fake(fake_telegram: tuple[FakeTelegram, str]) -> FakeTelegram:
    return fake_telegram[0]


async def test_start_registers_menus_and_the_webhook(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    assert fake.webhook_url == "https://outreach.example.org/telegram/webhook"
    assert fake.webhook_secret, "the webhook is always protected by a secret"
    english = [c["command"] for c in fake.commands_for()]
    urdu = [c["command"] for c in fake.commands_for(language_code="ur")]
    for command in (
        "start",
        "menu",
        "faq",
        "programs",
        "jobs",
        "subscribe",
        "language",
        "stop",
        "help",
    ):
        assert command in english and command in urdu
    assert fake.commands_for() != fake.commands_for(language_code="ur"), "Urdu descriptions"


async def test_a_text_message_is_answered_like_sms(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    response = await post(telegram_app, fake, tg.message_update(1, CHAT, "naukri"))
    assert response.status_code == 200
    await eventually(lambda: bool(fake.texts_to(CHAT)), "a reply")
    assert "jobs" in fake.texts_to(CHAT)[0]
    rows = await telegram_app.messages()
    assert (rows[0].direction, rows[0].provider_id) == ("in", "1")
    assert rows[1].status == "sent" and rows[1].provider_id is not None


async def test_a_repeated_update_id_is_processed_once(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    for _ in range(3):
        assert (
            await post(telegram_app, fake, tg.message_update(7, CHAT, "jobs"))
        ).status_code == 200
    assert len(fake.texts_to(CHAT)) == 1
    assert await telegram_app.count(Message) == 2


@pytest.mark.parametrize("secret", [None, "wrong-secret"], ids=["missing", "wrong"])
async def test_a_forged_update_is_refused(
    telegram_app: Served, fake: FakeTelegram, secret: str | None
) -> None:
    response = await fake.post_update(
        telegram_app.url + HOOK, tg.message_update(2, CHAT, "STOP"), secret=secret
    )
    assert response.status_code == 403
    assert await telegram_app.count(Message) == 0
    assert await telegram_app.count(Contact) == 0


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"hello": "world"}', b"\xff\xfe"],
    ids=["garbage", "array", "no-update-id", "undecodable"],
)
async def test_garbage_is_400(telegram_app: Served, fake: FakeTelegram, body: bytes) -> None:
    async with http_client() as client:
        response = await client.post(
            telegram_app.url + HOOK,
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": fake.webhook_secret or ""},
        )
    assert response.status_code == 400
    assert await telegram_app.count(Message) == 0


@pytest.mark.parametrize(
    "update",
    [
        tg.edited_message_update(3, CHAT, "jobs"),
        tg.photo_update(4, CHAT),
        tg.sticker_update(5, CHAT),
        tg.channel_post_update(6),
    ],
    ids=["edited-message", "photo", "sticker", "channel-post"],
)
async def test_updates_we_do_not_handle_are_acknowledged_and_ignored(
    telegram_app: Served, fake: FakeTelegram, update: dict[str, Any]
) -> None:
    assert (await post(telegram_app, fake, update)).status_code == 200
    assert fake.sent == []
    assert await telegram_app.count(Message) == 0


async def test_start_greets_in_the_users_language_with_the_menu(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.command_update(10, CHAT, "start", language_code="ur"))
    await eventually(lambda: bool(fake.sent_to(CHAT)), "a welcome")
    welcome = fake.sent_to(CHAT)[0]
    assert "ڈھنوٹ" in welcome["text"]
    buttons = [b for row in welcome["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) >= 9 and all(b["callback_data"].startswith("a:") for b in buttons)
    assert (await telegram_app.contact(str(CHAT))).status == "active"


async def test_a_deep_link_opens_that_answer(telegram_app: Served, fake: FakeTelegram) -> None:
    await post(telegram_app, fake, tg.command_update(11, CHAT, "start", "faq_3"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the answer")
    assert "Ignite" in fake.texts_to(CHAT)[0]


async def test_another_deep_link_payload_is_recorded_as_the_source(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.command_update(12, CHAT, "start", "fb_ad_2026"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the welcome")
    async with telegram_app.sessions.begin() as s:
        source = await s.scalar(select(Subscriber.source))
    assert source == "fb_ad_2026"


async def test_a_button_press_is_answered_and_replied(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    menu = fake.add_message(CHAT, "Menu")
    await post(telegram_app, fake, tg.callback_update(13, CHAT, "a:jobs", menu["message_id"]))
    await eventually(lambda: len(fake.texts_to(CHAT)) == 2, "the answer")
    assert len(fake.calls_to("answerCallbackQuery")) == 1, "every press is answered"
    answer = fake.sent_to(CHAT)[-1]
    back = answer["reply_markup"]["inline_keyboard"][-1][0]
    assert back["callback_data"] == "menu"


async def test_lists_page_within_telegrams_limits(telegram_app: Served, fake: FakeTelegram) -> None:
    await post(telegram_app, fake, tg.command_update(14, CHAT, "programs"))
    await eventually(lambda: bool(fake.sent_to(CHAT)), "the programs list")
    markup = fake.sent_to(CHAT)[0]["reply_markup"]["inline_keyboard"]
    data = [b["callback_data"] for row in markup for b in row]
    assert any(d.startswith("l:program:") for d in data), "a next-page button"
    assert all(len(d.encode()) <= 64 for d in data) and all(len(row) <= 8 for row in markup)


async def test_stop_and_start_again(telegram_app: Served, fake: FakeTelegram) -> None:
    await post(telegram_app, fake, tg.command_update(15, CHAT, "stop"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the confirmation")
    assert (await telegram_app.contact(str(CHAT))).status == "opted_out"
    confirmation = fake.texts_to(CHAT)[0]
    assert "/start" in confirmation and "Text START" not in confirmation, "Telegram's way back"
    await post(telegram_app, fake, tg.message_update(16, CHAT, "jobs"))
    await post(telegram_app, fake, tg.command_update(17, CHAT, "start"))
    await eventually(lambda: len(fake.texts_to(CHAT)) == 2, "the welcome back")
    assert (await telegram_app.contact(str(CHAT))).status == "active"


@pytest.mark.parametrize("data", ["zz-unknown-data", "a:no_such_answer", "sub:t:no_such_interest"])
async def test_an_unknown_or_stale_button_says_it_expired(
    telegram_app: Served, fake: FakeTelegram, data: str
) -> None:
    old = fake.add_message(CHAT, "An old menu")
    await post(telegram_app, fake, tg.callback_update(40, CHAT, data, old["message_id"]))
    await eventually(lambda: len(fake.texts_to(CHAT)) == 2, "the answer to the press")
    assert len(fake.calls_to("answerCallbackQuery")) == 1, "the press is answered"
    expired = fake.sent_to(CHAT)[-1]
    assert expired["text"] == "This button has expired. Here is the menu."
    buttons = [b for row in expired["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) >= 9 and all(b["callback_data"].startswith("a:") for b in buttons)
    inbound = (await telegram_app.messages())[0]
    assert (inbound.text, inbound.intent) == (data, "menu"), "stored, never unanswered"


async def test_the_same_words_typed_are_read_as_words(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.message_update(41, CHAT, "a:no_such_answer"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "a reply")
    assert "expired" not in fake.texts_to(CHAT)[0]


async def test_thanks_gets_a_short_reply_on_telegram(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.message_update(42, CHAT, "thanks"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "a reply")
    assert fake.texts_to(CHAT) == ["Glad to help! Write any time, or send /menu for topics."]
    # Thanks in Roman Urdu, thanked in Roman Urdu.
    await post(telegram_app, fake, tg.message_update(43, CHAT + 1, "shukriya"))
    await eventually(lambda: bool(fake.texts_to(CHAT + 1)), "a reply")
    assert fake.texts_to(CHAT + 1) == [
        "Khushi hui! Jab chahein likhein, ya mauzoo ke liye /menu bhejein."
    ]


async def test_blocking_and_unblocking_the_bot(telegram_app: Served, fake: FakeTelegram) -> None:
    await post(telegram_app, fake, tg.message_update(18, CHAT, "hi"))
    await post(telegram_app, fake, tg.my_chat_member_update(19, CHAT, old="member", new="kicked"))
    assert (await telegram_app.contact(str(CHAT))).status == "blocked"
    await post(telegram_app, fake, tg.my_chat_member_update(20, CHAT, old="kicked", new="member"))
    assert (await telegram_app.contact(str(CHAT))).status == "active"


async def test_a_403_on_reply_marks_the_chat_blocked(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    fake.block(CHAT)
    assert (await post(telegram_app, fake, tg.message_update(21, CHAT, "jobs"))).status_code == 200
    contact = await telegram_app.contact(str(CHAT))
    assert contact.status == "blocked"
    assert (await telegram_app.messages())[-1].status == "failed"


async def test_flood_control_on_a_reply_is_waited_out(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    fake.rate_limit_next(1, retry_after=1)
    await post(telegram_app, fake, tg.message_update(22, CHAT, "jobs"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the reply after the wait")
    assert fake.rate_limited >= 1
    assert (await telegram_app.messages())[-1].status == "sent"


async def test_a_failing_handler_does_not_stop_the_bot(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    fake.fail_next(1, 500, method="answerCallbackQuery")
    menu = fake.add_message(CHAT, "Menu")
    response = await post(
        telegram_app, fake, tg.callback_update(23, CHAT, "a:jobs", menu["message_id"])
    )
    assert response.status_code == 200
    await post(telegram_app, fake, tg.message_update(24, CHAT, "faq 1"))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the next update is still answered")


async def _name_of(app: Served, chat: int) -> str | None:
    contact = await app.contact(str(chat))
    async with app.sessions.begin() as s:
        return await s.scalar(select(Subscriber.name).where(Subscriber.id == contact.subscriber_id))


async def test_the_residents_name_is_kept_from_their_profile_as_it_changes(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    update = tg.message_update(40, CHAT, "naukri", first_name="Amina", last_name="Bibi")
    await post(telegram_app, fake, update)
    assert await _name_of(telegram_app, CHAT) == "Amina Bibi", "first and last name"
    # Renamed on Telegram, then a button pressed: the name follows.
    menu = fake.add_message(CHAT, "Menu")
    press = tg.callback_update(41, CHAT, "a:jobs", menu["message_id"], first_name="عائشہ")
    await post(telegram_app, fake, press)
    assert await _name_of(telegram_app, CHAT) == "عائشہ"
    # A profile name with nothing a name keeps never empties the one on file (a
    # coordinator's, from a CSV, or the last one Telegram gave).
    await post(telegram_app, fake, tg.message_update(42, CHAT, "menu", first_name=" = "))
    assert await _name_of(telegram_app, CHAT) == "عائشہ"
    await eventually(lambda: len(fake.texts_to(CHAT)) == 4, "every update answered")


async def test_sharing_your_own_number_links_the_sms_contact(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.message_update(25, CHAT, "hi", user_id=CHAT))
    await post(telegram_app, fake, tg.contact_update(26, CHAT, "923001234567", CHAT, user_id=CHAT))
    sms = await telegram_app.contact("+923001234567")
    chat = await telegram_app.contact(str(CHAT))
    assert sms.subscriber_id == chat.subscriber_id
    assert sms.channel == "sms"


async def test_someone_elses_number_is_refused(telegram_app: Served, fake: FakeTelegram) -> None:
    await post(telegram_app, fake, tg.contact_update(27, CHAT, "923001234567", 999, user_id=CHAT))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "a refusal")
    async with telegram_app.sessions.begin() as s:
        assert (await s.scalars(select(Contact).where(Contact.channel == "sms"))).first() is None


async def test_subscribe_toggles_interests_and_picks_a_city(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.command_update(28, CHAT, "subscribe"))
    await eventually(lambda: bool(fake.sent_to(CHAT)), "the subscribe keyboard")
    keyboard = fake.sent_to(CHAT)[0]
    message_id = keyboard["message_id"]
    await post(telegram_app, fake, tg.callback_update(29, CHAT, "sub:t:jobs", message_id))
    await post(telegram_app, fake, tg.callback_update(30, CHAT, "sub:t:women", message_id))
    await post(telegram_app, fake, tg.callback_update(31, CHAT, "sub:t:jobs", message_id))
    await post(telegram_app, fake, tg.callback_update(32, CHAT, "sub:c:multan", message_id))
    assert len(fake.calls_to("editMessageText")) == 4, "the keyboard is updated in place"
    contact = await telegram_app.contact(str(CHAT))
    profile = await telegram_app.runtime.units.run(
        lambda conn: subscribers.get_profile(conn, contact.subscriber_id)
    )
    assert profile.topics == {"women"} and profile.city == "multan"
    await post(telegram_app, fake, tg.callback_update(33, CHAT, "sub:done", message_id))
    await eventually(lambda: len(fake.sent_to(CHAT)) == 2, "the summary")
    # Telegram does not echo reply keyboards in the Message; look at what the bot asked for.
    summary = fake.calls_to("sendMessage")[-1]
    assert summary["reply_markup"]["keyboard"][0][0]["request_contact"] is True


async def test_long_polling_when_there_is_no_public_url(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    fake, api = fake_telegram
    settings = make_settings(
        db_url, public_base_url=None, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=api
    )
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        assert fake.webhook_url is None
        fake.push_update(tg.message_update(40, CHAT, "naukri"))
        await eventually(lambda: bool(fake.texts_to(CHAT)), "a reply through polling")
        assert "jobs" in fake.texts_to(CHAT)[0]
        assert (await Served(url, app).messages())[0].provider_id == "40"


async def test_a_long_polled_update_that_no_database_takes_is_cleaned_and_answered(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> None:
    """A NUL byte (PostgreSQL refuses it) and a lone surrogate (not UTF-8: neither database
    takes it) in polled text, as in a webhook's: cleaned, stored, answered."""
    fake, api = fake_telegram
    settings = make_settings(
        db_url, public_base_url=None, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=api
    )
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        fake.push_update(tg.message_update(41, CHAT, "nau\x00kri \ud800"))
        await eventually(lambda: bool(fake.texts_to(CHAT)), "a reply through polling")
        assert "jobs" in fake.texts_to(CHAT)[0]
        stored = (await Served(url, app).messages())[0]
    assert (stored.direction, stored.provider_id, stored.text) == ("in", "41", "naukri \ufffd")


async def test_without_a_token_telegram_is_off(db_url: str) -> None:
    app = app_for(make_settings(db_url))
    async with aserve(app, lifespan="on") as url, http_client() as client:
        response = await client.post(url + HOOK, json={"update_id": 1})
    assert response.status_code == 404


async def test_an_update_that_could_not_be_stored_asks_telegram_to_retry(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    async with telegram_app.sessions.begin() as s:
        await s.execute(text("ALTER TABLE messages RENAME TO messages_away"))
    response = await post(telegram_app, fake, tg.message_update(50, CHAT, "jobs"))
    assert response.status_code == 503, "a 5xx makes Telegram send the update again"
    assert fake.sent == []
    async with telegram_app.sessions.begin() as s:
        await s.execute(text("ALTER TABLE messages_away RENAME TO messages"))
    retry = await post(telegram_app, fake, tg.message_update(50, CHAT, "jobs"))
    assert retry.status_code == 200
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the retried update is answered")


async def test_an_opted_out_user_sharing_a_contact_gets_nothing_linked(
    telegram_app: Served, fake: FakeTelegram
) -> None:
    await post(telegram_app, fake, tg.command_update(51, CHAT, "stop", user_id=CHAT))
    await eventually(lambda: bool(fake.texts_to(CHAT)), "the opt-out confirmation")
    await post(telegram_app, fake, tg.contact_update(52, CHAT, "923001234567", CHAT, user_id=CHAT))
    assert len(fake.texts_to(CHAT)) == 1, "nothing more is sent"
    async with telegram_app.sessions.begin() as s:
        assert (await s.scalars(select(Contact).where(Contact.channel == "sms"))).first() is None
