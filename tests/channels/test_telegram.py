"""The Telegram channel with the real python-telegram-bot against the fake Bot API over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.base import ChannelError, Permanent, RecipientGone, Retryable
from bot.channels.telegram import (
    SECRET_TOKEN_HEADER,
    TelegramChannel,
    build_bot,
    translate_error,
    verify_secret_token,
)
from bot.config import Settings
from bot.core.decision import Button, Reply
from fakes.clock import FakeClock
from fakes.server import aserve
from fakes.telegram_api import (
    FakeTelegram,
    callback_update,
    channel_post_update,
    command_update,
    contact_update,
    edited_message_update,
    message_update,
    my_chat_member_update,
    photo_update,
    sticker_update,
)

TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = 555000111
OTHER = 555000222
WEBHOOK = "https://outreach.example.org/telegram/webhook"
SECRET = "s3cret_Token-2024"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeTelegram:
    """The fake Bot API, counting its flood control on the same fake clock as the channel."""
    return FakeTelegram(TOKEN, clock=clock.monotonic)


@pytest.fixture
async def api_url(fake: FakeTelegram) -> AsyncIterator[str]:
    async with aserve(fake.app) as url:
        yield url


def _settings(api_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"telegram_bot_token": TOKEN, "telegram_api_base_url": api_url}
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def bot(api_url: str) -> AsyncIterator[Bot]:
    async with build_bot(_settings(api_url), timeout=2.0) as bot:
        yield bot


@pytest.fixture
def channel(bot: Bot, clock: FakeClock) -> TelegramChannel:
    return TelegramChannel(bot, clock=clock)


def _sends(fake: FakeTelegram) -> list[dict[str, Any]]:
    return fake.calls_to("sendMessage")


# -- building the bot --------------------------------------------------------------------------


def test_build_bot_calls_root_slash_bot_token() -> None:
    bot = build_bot(_settings("http://127.0.0.1:8081/"))

    assert bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"


def test_build_bot_needs_a_token() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        build_bot(Settings(_env_file=None))


async def test_initialising_the_bot_asks_get_me(bot: Bot, fake: FakeTelegram) -> None:
    assert bot.username == "DhanoteOutreachBot"
    assert bot.id == 7000000001
    assert fake.calls[0].method == "getMe"


# -- sending -----------------------------------------------------------------------------------


async def test_send_records_text_parse_mode_and_buttons(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    reply = Reply(
        "IT support and data entry jobs.",
        buttons=((Button("Apply", "a:jobs_apply"), Button("نوکریاں", "a:jobs")),),
    )

    result = await channel.send(str(CHAT), reply)

    assert result.provider_id == f"{CHAT}:1"
    assert result.status == "sent"
    keyboard = {
        "inline_keyboard": [
            [
                {"text": "Apply", "callback_data": "a:jobs_apply"},
                {"text": "نوکریاں", "callback_data": "a:jobs"},
            ]
        ]
    }
    assert _sends(fake) == [
        {
            "chat_id": CHAT,
            "text": "IT support and data entry jobs.",
            "parse_mode": "HTML",
            "reply_markup": keyboard,
        }
    ]
    [message] = fake.sent_to(CHAT)
    assert message["text"] == "IT support and data entry jobs."
    assert message["reply_markup"] == keyboard
    assert message["from"]["id"] == 7000000001
    assert message["chat"] == {"id": CHAT, "type": "private", "first_name": "Resident"}


async def test_message_ids_count_per_chat(channel: TelegramChannel) -> None:
    first = await channel.send(str(CHAT), Reply("one"))
    second = await channel.send(str(CHAT), Reply("two"))
    other = await channel.send(str(OTHER), Reply("one"))

    assert (first.provider_id, second.provider_id) == (f"{CHAT}:1", f"{CHAT}:2")
    assert other.provider_id == f"{OTHER}:1"


async def test_html_in_content_is_escaped(channel: TelegramChannel, fake: FakeTelegram) -> None:
    await channel.send(str(CHAT), Reply("Fees <b>waived</b> for women & girls <3"))

    assert _sends(fake)[0]["text"] == "Fees &lt;b&gt;waived&lt;/b&gt; for women &amp; girls &lt;3"
    [message] = fake.sent_to(CHAT)
    assert message["text"] == "Fees <b>waived</b> for women & girls <3"
    assert "entities" not in message


async def test_the_fake_refuses_html_that_telegram_cannot_parse(bot: Bot) -> None:
    # What would happen without escaping: Telegram answers 400 and nothing is sent.
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_message(CHAT, "Fees <3 for all", parse_mode=ParseMode.HTML)
    message = await bot.send_message(CHAT, "<b>Jobs</b> & more", parse_mode=ParseMode.HTML)
    assert message.text == "Jobs & more"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 4)]


async def test_a_long_text_goes_as_parts_with_buttons_on_the_last(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    first = ("Freelancing bootcamp for Upwork and Fiverr. " * 71).strip()  # 3123 characters
    second = ("Seed funding for local startups. " * 58).strip()  # 1913 characters
    text = f"{first}\n\n{second}"
    assert 5000 <= len(text) <= 5100

    result = await channel.send(str(CHAT), Reply(text, buttons=((Button("Back", "menu"),),)))

    assert fake.texts_to(CHAT) == [first, second]
    sends = _sends(fake)
    assert "reply_markup" not in sends[0]
    assert sends[1]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Back", "callback_data": "menu"}]]
    }
    assert result.provider_id == f"{CHAT}:2"


async def test_the_limit_counts_characters_after_escaping(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    text = "Q&A " * 1000 + "<end>"  # 4005 characters; far longer once escaped

    await channel.send(str(CHAT), Reply(text))

    assert len(_sends(fake)) == 1
    assert len(_sends(fake)[0]["text"]) > 4096
    assert fake.texts_to(CHAT) == [text.strip()]


async def test_a_later_part_waits_out_flood_control(
    channel: TelegramChannel, fake: FakeTelegram, clock: FakeClock
) -> None:
    fake.enforce_rate(per_second=None, per_chat=1)
    text = "a " * 2500 + "\n\n" + "b " * 100

    result = await channel.send(str(CHAT), Reply(text))

    assert clock.slept == [1.0]  # the retry_after the fake gave for part 2
    assert fake.rate_limited == 1
    assert len(fake.texts_to(CHAT)) == 2
    assert result.provider_id == f"{CHAT}:2"


async def test_a_later_part_gives_up_on_a_long_flood_wait(bot: Bot, fake: FakeTelegram) -> None:
    fake.enforce_rate(per_second=None, per_chat=1)  # part 2 is told to wait 1 s
    channel = TelegramChannel(bot, part_wait=0.5, clock=FakeClock())

    with pytest.raises(Retryable, match="part 2 of 2") as info:
        await channel.send(str(CHAT), Reply("a " * 2500 + "\n\n" + "b " * 100))

    assert info.value.after == 1.0
    assert len(fake.texts_to(CHAT)) == 1


async def test_nine_buttons_make_two_rows(channel: TelegramChannel, fake: FakeTelegram) -> None:
    row = tuple(Button(str(n), f"faq:{n}") for n in range(1, 10))

    await channel.send(str(CHAT), Reply("FAQ", buttons=(row,)))

    keyboard = _sends(fake)[0]["reply_markup"]["inline_keyboard"]
    assert [len(r) for r in keyboard] == [8, 1]


# -- what goes wrong ---------------------------------------------------------------------------


async def test_a_blocked_chat_is_gone_blocked(channel: TelegramChannel, fake: FakeTelegram) -> None:
    fake.block(CHAT)

    with pytest.raises(RecipientGone, match="blocked by the user") as info:
        await channel.send(str(CHAT), Reply("hello"))

    assert info.value.status == "blocked"
    assert fake.sent_to(CHAT) == []


async def test_a_deactivated_user_is_gone_invalid(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    fake.deactivate(CHAT)

    with pytest.raises(RecipientGone) as info:
        await channel.send(str(CHAT), Reply("hello"))

    assert info.value.status == "invalid"


async def test_chat_not_found_is_gone_invalid(channel: TelegramChannel, fake: FakeTelegram) -> None:
    fake.forget(CHAT)

    with pytest.raises(RecipientGone, match="Chat not found") as info:
        await channel.send(str(CHAT), Reply("hello"))

    assert info.value.status == "invalid"


async def test_429_is_retryable_after_retry_after(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    fake.rate_limit_next(retry_after=7)

    with pytest.raises(Retryable) as info:
        await channel.send(str(CHAT), Reply("hello"))

    assert info.value.after == 7.0
    assert isinstance(info.value.after, float)
    assert info.value.throttled
    assert fake.rate_limited == 1
    assert (await channel.send(str(CHAT), Reply("hello"))).provider_id == f"{CHAT}:1"


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retryable(
    channel: TelegramChannel, fake: FakeTelegram, status: int
) -> None:
    fake.fail_next(status=status)

    with pytest.raises(Retryable) as info:
        await channel.send(str(CHAT), Reply("hello"))

    assert info.value.after is None
    assert not info.value.throttled


async def test_a_slow_api_is_retryable(api_url: str, fake: FakeTelegram) -> None:
    fake.delay_next(3.0)
    async with build_bot(_settings(api_url), timeout=0.3) as bot:
        with pytest.raises(Retryable, match="TimedOut"):
            await TelegramChannel(bot).send(str(CHAT), Reply("hello"))


async def test_other_bad_requests_are_permanent(bot: Bot, fake: FakeTelegram) -> None:
    channel = TelegramChannel(bot, text_limit=5000)  # our bug: over Telegram's limit

    with pytest.raises(Permanent, match="Message is too long") as info:
        await channel.send(str(CHAT), Reply("x" * 4097))

    assert not isinstance(info.value, RecipientGone)


async def test_a_wrong_token_fails_at_start_and_is_permanent(api_url: str) -> None:
    bot = build_bot(_settings(api_url, telegram_bot_token="7000000001:revoked"))
    try:
        with pytest.raises(InvalidToken, match="rejected"):
            await bot.initialize()
        with pytest.raises(Permanent, match="InvalidToken"):
            await TelegramChannel(bot).send(str(CHAT), Reply("hello"))
    finally:
        await bot.shutdown()


# Built inside the test: RetryAfter warns at construction unless PTB_TIMEDELTA is set, which
# the autouse fixture does only for the test itself.
TRANSLATED: list[tuple[str, Callable[[], TelegramError], str | type[ChannelError]]] = [
    ("kicked", lambda: Forbidden("Forbidden: bot was kicked from the group chat"), "blocked"),
    (
        "never started",
        lambda: Forbidden("Forbidden: bot can't initiate conversation with a user"),
        "blocked",
    ),
    ("deactivated", lambda: Forbidden("Forbidden: user is deactivated"), "invalid"),
    ("group migrated", lambda: ChatMigrated(-1001234567890), "invalid"),
    ("user not found", lambda: BadRequest("Bad Request: user not found"), "invalid"),
    ("peer id", lambda: BadRequest("Bad Request: PEER_ID_INVALID"), "invalid"),
    ("bad markup", lambda: BadRequest("Bad Request: BUTTON_DATA_INVALID"), Permanent),
    ("conflict", lambda: Conflict("Conflict: terminated by other getUpdates request"), Permanent),
    ("timed out", TimedOut, Retryable),
    ("network", lambda: NetworkError("httpx.ConnectError: connection refused"), Retryable),
    ("flood", lambda: RetryAfter(timedelta(seconds=2.5)), Retryable),
]


@pytest.mark.parametrize(
    ("make", "expected"), [c[1:] for c in TRANSLATED], ids=[c[0] for c in TRANSLATED]
)
def test_translate_error(
    make: Callable[[], TelegramError], expected: str | type[ChannelError]
) -> None:
    exc = make()
    error = translate_error(exc)

    if isinstance(expected, str):
        assert isinstance(error, RecipientGone)
        assert error.status == expected
    else:
        assert type(error) is expected
    assert error.reason.startswith(f"telegram {type(exc).__name__}: ")
    assert "1234567890" not in error.reason
    if isinstance(exc, RetryAfter):
        assert isinstance(error, Retryable)
        assert error.after == 2.5


REFUSED = [
    ("callback data over 64 bytes", Reply("Jobs", ((Button("Jobs", "j" * 65),),)), "1-64 bytes"),
    ("urdu callback data of 66 bytes", Reply("Jobs", ((Button("Jobs", "ب" * 33),),)), "66 bytes"),
    ("no text", Reply("  \n "), "needs text"),
]


@pytest.mark.parametrize(
    ("reply", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
async def test_replies_telegram_would_refuse_raise_before_any_request(
    channel: TelegramChannel, fake: FakeTelegram, reply: Reply, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await channel.send(str(CHAT), reply)

    assert _sends(fake) == []


async def test_an_address_that_is_no_chat_id_is_gone_invalid(
    channel: TelegramChannel, fake: FakeTelegram
) -> None:
    with pytest.raises(RecipientGone) as info:
        await channel.send("+923001234567", Reply("hello"))

    assert info.value.status == "invalid"
    assert "3001234567" not in info.value.reason
    assert _sends(fake) == []


async def test_logs_mask_the_chat_and_leave_out_the_text(
    channel: TelegramChannel, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bot.channels.telegram")
    await channel.send(str(CHAT), Reply("private words"))
    fake.block(CHAT)
    with pytest.raises(RecipientGone):
        await channel.send(str(CHAT), Reply("private words"))

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.channels.telegram"]
    assert len(lines) == 2
    assert all("55****111" in line for line in lines)
    assert not any(str(CHAT) in line or "private words" in line for line in lines)


# -- the fake's broadcast pacing ---------------------------------------------------------------


async def test_enforced_rate_answers_429_over_30_a_second_and_1_per_chat() -> None:
    now = [100.0]
    fake = FakeTelegram(TOKEN, clock=lambda: now[0])
    fake.enforce_rate(per_second=30, per_chat=1)
    async with aserve(fake.app) as url, build_bot(_settings(url)) as bot:
        channel = TelegramChannel(bot)
        for chat in range(1, 31):
            await channel.send(str(CHAT + chat), Reply("news"))
        with pytest.raises(Retryable) as info:
            await channel.send(str(OTHER), Reply("news"))
        assert info.value.after == 1.0

        now[0] += 1.0
        await channel.send(str(OTHER), Reply("news"))
        with pytest.raises(Retryable):
            await channel.send(str(OTHER), Reply("again"))

        assert fake.rate_limited == 2
        assert len(fake.sent) == 31


# -- the fake against PTB: the calls our code makes, read as PTB reads them ------------------


async def test_get_updates_returns_queued_updates_at_once(bot: Bot, fake: FakeTelegram) -> None:
    fake.push_update(message_update(10, CHAT, "jobs"))
    fake.push_update(command_update(11, CHAT, "start", "faq_3"))

    updates = await bot.get_updates(timeout=5)

    assert [u.update_id for u in updates] == [10, 11]
    assert updates[0].message is not None
    assert updates[0].message.text == "jobs"
    assert updates[1].message is not None
    assert updates[1].message.text == "/start faq_3"


async def test_set_my_commands_per_language(bot: Bot, fake: FakeTelegram) -> None:
    english = [BotCommand("start", "Start"), BotCommand("faq", "Questions")]
    urdu = [BotCommand("start", "شروع کریں"), BotCommand("faq", "سوالات")]

    assert await bot.set_my_commands(english)
    assert await bot.set_my_commands(urdu, language_code="ur")
    assert await bot.set_my_commands(english[:1], scope=BotCommandScopeAllPrivateChats())

    assert fake.commands_for() == [
        {"command": "start", "description": "Start"},
        {"command": "faq", "description": "Questions"},
    ]
    assert [c["description"] for c in fake.commands_for("ur")] == ["شروع کریں", "سوالات"]
    assert fake.commands_for(scope={"type": "all_private_chats"}) == [
        {"command": "start", "description": "Start"}
    ]
    assert await bot.get_my_commands(language_code="ur") == tuple(urdu)
    assert await bot.get_my_commands(language_code="de") == ()


async def test_set_webhook_records_url_and_secret(bot: Bot, fake: FakeTelegram) -> None:
    fake.push_update(message_update(1, CHAT, "old"))

    assert await bot.set_webhook(
        WEBHOOK,
        secret_token=SECRET,
        allowed_updates=["message", "callback_query", "my_chat_member"],
        drop_pending_updates=True,
    )

    assert fake.webhook_url == WEBHOOK
    assert fake.webhook_secret == SECRET
    assert fake.pending_updates == []
    info = await bot.get_webhook_info()
    assert info.url == WEBHOOK
    assert info.allowed_updates == ("message", "callback_query", "my_chat_member")
    assert await bot.delete_webhook()
    assert fake.webhook is None


# -- Telegram calling the bot ------------------------------------------------------------------


# (name, Update JSON, what to read from PTB's Update, what it should be)
BUILDERS: list[tuple[str, dict[str, Any], Callable[[Any], object], object]] = [
    ("message", message_update(1, CHAT, "naukri"), lambda u: u.message.text, "naukri"),
    (
        "command",
        command_update(2, CHAT, "start", "faq_3"),
        lambda u: (u.message.text, list(u.message.parse_entities(["bot_command"]).values())),
        ("/start faq_3", ["/start"]),
    ),
    (
        "callback",
        callback_update(3, CHAT, "a:jobs", 7),
        lambda u: (u.callback_query.data, u.callback_query.message.message_id),
        ("a:jobs", 7),
    ),
    (
        "blocked",
        my_chat_member_update(4, CHAT),
        lambda u: u.my_chat_member.new_chat_member.status,
        ChatMemberStatus.BANNED,
    ),
    (
        "unblocked",
        my_chat_member_update(5, CHAT, old="kicked", new="member"),
        lambda u: u.my_chat_member.new_chat_member.status,
        ChatMemberStatus.MEMBER,
    ),
    (
        "own contact",
        contact_update(6, CHAT, "923001234567", CHAT),
        lambda u: (u.message.contact.phone_number, u.message.contact.user_id, u.effective_user.id),
        ("923001234567", CHAT, CHAT),
    ),
    (
        "someone else's contact",
        contact_update(7, CHAT, "923007654321", 999),
        lambda u: (u.message.contact.user_id, u.effective_user.id),
        (999, CHAT),
    ),
    (
        "edited",
        edited_message_update(8, CHAT, "jobs please", message_id=3),
        lambda u: (u.edited_message.text, u.edited_message.message_id, u.message),
        ("jobs please", 3, None),
    ),
    (
        "photo",
        photo_update(9, CHAT),
        lambda u: (u.message.text, len(u.message.photo)),
        (None, 3),
    ),
    (
        "sticker",
        sticker_update(10, CHAT),
        lambda u: (u.message.text, u.message.sticker.emoji),
        (None, "👍"),
    ),
    (
        "channel post",
        channel_post_update(11),
        lambda u: (u.channel_post.chat.type, u.effective_user),
        ("channel", None),
    ),
    (
        "urdu speaker",
        message_update(12, CHAT, "نوکری", language_code="ur"),
        lambda u: (u.effective_user.language_code, u.effective_chat.type),
        ("ur", "private"),
    ),
]


@pytest.mark.parametrize(
    ("data", "read", "expected"), [b[1:] for b in BUILDERS], ids=[b[0] for b in BUILDERS]
)
def test_update_builders_parse_as_ptb_updates(
    data: dict[str, Any], read: Callable[[Any], object], expected: object
) -> None:
    update = Update.de_json(data, None)

    assert update.update_id == data["update_id"]
    assert update.effective_chat is not None
    assert read(update) == expected


async def test_post_update_sends_the_secret_header(bot: Bot, fake: FakeTelegram) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def webhook(request: Request) -> Response:
        received.append((request.headers.get(SECRET_TOKEN_HEADER), await request.json()))
        return Response()

    await bot.set_webhook(WEBHOOK, secret_token=SECRET)
    app = Starlette(routes=[Route("/telegram/webhook", webhook, methods=["POST"])])
    async with aserve(app) as url:
        update = message_update(41, CHAT, "دھنوٹ")
        response = await fake.post_update(f"{url}/telegram/webhook", update)
        await fake.post_update(f"{url}/telegram/webhook", update, secret=None)

    assert response.status_code == 200
    assert received == [(SECRET, update), (None, update)]


VERIFY = [
    ("match", SECRET, SECRET, True),
    ("different", SECRET, "s3cret_Token-2025", False),
    ("prefix", SECRET, SECRET[:-1], False),
    ("longer", SECRET, SECRET + "x", False),
    ("case", SECRET, SECRET.upper(), False),
    ("header missing", SECRET, None, False),
    ("header empty", SECRET, "", False),
    ("no secret configured", None, SECRET, False),
    ("both missing", None, None, False),
    ("both empty", "", "", False),
    ("non-ascii header", SECRET, "sëcret", False),
]


@pytest.mark.parametrize(
    ("expected", "given", "ok"), [c[1:] for c in VERIFY], ids=[c[0] for c in VERIFY]
)
def test_verify_secret_token(expected: str | None, given: str | None, ok: bool) -> None:
    assert verify_secret_token(expected, given) is ok
