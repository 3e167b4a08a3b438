"""python-telegram-bot wired to the inbox: handlers, webhook or long polling, command menus.

Text, commands and button presses all go through :class:`bot.outreach.inbox.Inbox`, so the same
question gets the same answer as over SMS, every update is stored once (its ``update_id``
is the provider id) and replies go out through :class:`TelegramChannel`. What only Telegram
has lives here: the subscribe keyboard, the shared phone number, and blocks/unblocks.

A handler that fails is logged (chat id masked) by the error handler; the bot carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection
from telegram import (
    ChatMember,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.base import ChannelError, scrub_phone_numbers
from bot.channels.telegram import TelegramChannel, build_bot
from bot.clock import SYSTEM, Clock
from bot.config import Settings
from bot.core.catalog import Catalog, Lang
from bot.core.names import NAME_MAX, clean_name
from bot.core.phones import InvalidPhoneNumber, mask, to_e164
from bot.core.untrusted import fits_bigint
from bot.observe.redact import redact
from bot.outreach.handover import Handover
from bot.outreach.inbound import IncomingMessage, Outcome
from bot.outreach.inbox import Inbox
from bot.outreach.subscribe import choose
from bot.store import contacts, subscribers
from bot.store.contacts import ContactRef
from bot.store.units import Units
from bot.telegram.coordinators import Coordinators
from bot.telegram.handover import Threads
from bot.telegram.webhook import ALLOWED_UPDATES, register, webhook_secret

log = logging.getLogger(__name__)

# A reply waits out Telegram's flood control when it asks for no more than this.
_REPLY_MAX_WAIT = 5.0
# The handler groups of what coordinators write (PTB runs groups in ascending order).
_REPLIES, _DRAFTS = -2, -1

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]

# Errors the handlers hit while one webhook update is processed: PTB hands them to the error
# handler and returns normally, so the route would otherwise answer 200 for an update that
# was never stored, and Telegram would not send it again.
_failures: ContextVar[list[BaseException] | None] = ContextVar("telegram_failures", default=None)


@dataclass(frozen=True, slots=True)
class ChannelState:
    """How the Telegram channel is: ``starting``, ``ok`` or ``degraded`` (with why)."""

    state: Literal["starting", "ok", "degraded"]
    reason: str | None = None


class UpdateNotProcessed(Exception):
    """A handler failed for a reason of ours (not Telegram's answer): ask for a retry."""


def _lang(code: str | None) -> Lang | None:
    if not code:
        return None
    if code.lower().startswith("ur"):
        return "ur"
    if code.lower().startswith("en"):
        return "en"
    return None


def _name(user: User | None) -> str | None:
    """The person's name as their Telegram profile gives it (first and last), cleaned and cut
    to what the store keeps."""
    if user is None:
        return None
    return clean_name(user.first_name, user.last_name, limit=NAME_MAX)


def _now() -> datetime:
    return datetime.now(UTC)


class TelegramBot:
    """The bot, its PTB ``Application`` and the glue to the inbox."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        inbox: Inbox,
        catalog: Catalog,
        channel: TelegramChannel,
        settings: Settings,
        units: Units,
        handover: Handover | None = None,
    ) -> None:
        self.application = application
        self.channel = channel
        # Until start() works, sends wait (Retryable) and webhook updates are refused (503).
        channel.ready = False
        self.state = ChannelState("starting")
        self._inbox = inbox
        self._catalog = catalog
        self._settings = settings
        # Everything here and the coordinators' commands share the runtime's unit runner
        # (one SQLite writer).
        self._units = units
        self.coordinators = Coordinators(units, settings, catalog)
        # Hand-overs: coordinators get each resident message that joins a thread, and answer.
        self.threads: Threads | None = None
        if handover is not None and settings.coordinator_ids:
            self.threads = Threads(
                handover,
                application.bot,
                settings.coordinator_ids,
                self.coordinators.refuse,
                units,
            )
            inbox.on_handover(self.threads.notify)
        self._add_handlers()

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        inbox: Inbox,
        catalog: Catalog,
        units: Units,
        handover: Handover | None = None,
    ) -> TelegramBot:
        """A bot for ``settings`` (webhook mode when ``PUBLIC_BASE_URL`` is set)."""
        bot = build_bot(settings)
        builder = Application.builder().bot(bot).concurrent_updates(64).job_queue(None)
        if settings.public_base_url:
            builder = builder.updater(None)
        return cls(
            builder.build(),
            inbox=inbox,
            catalog=catalog,
            channel=TelegramChannel(bot),
            settings=settings,
            units=units,
            handover=handover,
        )

    @property
    def secret(self) -> str | None:
        return webhook_secret(self._settings)

    # -- life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Initialise, register the menus and the webhook, or start long polling; raises
        ``TelegramError`` (or ``OSError``) when the Bot API can't be reached or refuses the
        token. Called again after a failure, it goes on from where it stopped."""
        await self.application.initialize()
        if not self.application.running:
            await self.application.start()
        try:
            done = await self.setup()
            log.info("telegram ready: %s", "; ".join(done))
        except TelegramError as exc:
            log.error("telegram setup failed (the bot still runs): %s", exc)
        updater = self.application.updater
        if updater is not None and not updater.running:
            await updater.start_polling(allowed_updates=list(ALLOWED_UPDATES))
            log.info("telegram: long polling (no PUBLIC_BASE_URL set)")
        self.channel.ready = True
        self.state = ChannelState("ok")

    async def start_sending(self) -> None:
        """Only what sending needs (a worker, a command): the bot initialised, no updates
        taken; raises like :meth:`start`."""
        await self.application.bot.initialize()
        self.channel.ready = True
        self.state = ChannelState("ok")

    async def try_start(self, *, send_only: bool = False) -> bool:
        """:meth:`start` (or, ``send_only``, :meth:`start_sending`): whether it worked. When
        it did not, :attr:`state` says why (secrets masked), logged once per new reason."""
        try:
            await (self.start_sending() if send_only else self.start())
        except (TelegramError, OSError) as exc:
            reason = self._reason(exc)
            if reason != self.state.reason:
                log.error("telegram unavailable (%s); retrying, SMS goes on", reason)
            self.state = ChannelState("degraded", reason)
            return False
        return True

    def _reason(self, exc: BaseException) -> str:
        """What went wrong, for the log and /healthz: the token never in it, whether or not
        the settings' secrets were registered for masking (tests build their own)."""
        reason = redact(f"{type(exc).__name__}: {exc}")
        token = self._settings.telegram_bot_token
        if token is not None:
            for secret in (token.get_secret_value(), token.get_secret_value().partition(":")[2]):
                if secret:
                    reason = reason.replace(secret, "[secret]")
        return reason

    async def keep_starting(
        self,
        first_wait: float,
        *,
        longest_wait: float = 300.0,
        clock: Clock = SYSTEM,
        send_only: bool = False,
    ) -> None:
        """After a failed :meth:`try_start`: try again after ``first_wait`` seconds, then
        twice as long after each failure, at most ``longest_wait``, until it works. Run it
        as a task: SMS, which doesn't need Telegram, works on meanwhile."""
        wait = first_wait
        while True:
            await clock.sleep(wait)
            if await self.try_start(send_only=send_only):
                return
            wait = min(wait * 2, longest_wait)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        # A start that failed half-way leaves the bot's HTTP sessions open, which the
        # application (never initialised) does not close.
        await self.application.bot.shutdown()

    async def setup(self) -> list[str]:
        """Register the command menus and the webhook; see :func:`register`."""
        return await register(self.application.bot, self._catalog, self._settings)

    async def process(self, data: dict[str, Any]) -> None:
        """Hand one webhook update to the handlers.

        Raises ``ValueError`` if it is not an Update, and :class:`UpdateNotProcessed` when a
        handler failed for a reason of ours (storage, a bug), so the webhook can ask
        Telegram to send it again; Telegram's own refusals are handled, not raised.
        """
        try:
            update = Update.de_json(data, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise ValueError(f"not a Telegram update: {type(exc).__name__}") from exc
        if update is None:
            raise ValueError("not a Telegram update")
        # Stored as a contact's address (and its chat id sent back to): a 64-bit integer.
        for who in (update.effective_chat, update.effective_user):
            if who is not None and not fits_bigint(who.id):
                raise ValueError("not a Telegram update: id out of range")
        failures: list[BaseException] = []
        token = _failures.set(failures)
        try:
            await self.application.process_update(update)
        finally:
            _failures.reset(token)
        ours = [e for e in failures if not isinstance(e, TelegramError | ChannelError)]
        if ours:
            raise UpdateNotProcessed(type(ours[0]).__name__)

    # -- handlers -------------------------------------------------------------------------------

    def _add_handlers(self) -> None:
        private = filters.ChatType.PRIVATE
        app = self.application
        # Groups before the default one: what a coordinator is writing, a reply to a resident
        # and then an /announce draft, is read from the database; an update it takes stops
        # there and never reaches the inbox, any other goes on to the next group. Then, first
        # in the default group, the coordinators' commands and buttons ("co:...").
        if self.threads is not None:
            app.add_handlers(self.threads.handlers(), group=_REPLIES)
        app.add_handlers(self.coordinators.announce.handlers(), group=_DRAFTS)
        app.add_handlers(self.coordinators.handlers())
        app.add_handler(MessageHandler(private & filters.CONTACT, self._on_contact))
        app.add_handler(
            MessageHandler(private & filters.UpdateType.MESSAGE & filters.TEXT, self._on_text)
        )
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_handler(ChatMemberHandler(self._on_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None or message.text is None:
            return
        await self._converse(update, message.chat.id, message.text)

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        # Every press is answered, or the user's app shows a spinner until it times out; a
        # press too old to answer is still handled.
        try:
            await query.answer()
        except TelegramError as exc:
            log.info("callback query not answered: %s", exc)
        message = query.message
        if message is None or not query.data or message.chat.type != ChatType.PRIVATE:
            return
        await self._converse(
            update, message.chat.id, query.data, edit=message.message_id, pressed=True
        )

    async def _converse(
        self,
        update: Update,
        chat_id: int,
        text: str,
        *,
        edit: int | None = None,
        pressed: bool = False,
    ) -> None:
        user = update.effective_user
        now = _now()
        outcome = await self._inbox.handle(
            IncomingMessage(
                "telegram",
                str(chat_id),
                text,
                str(update.update_id),
                now,
                language_hint=_lang(user.language_code if user else None),
                pressed=pressed,
                name=_name(user),
            )
        )
        if outcome.duplicate:
            # Telegram sent it again: its reply goes if it never went (Outcome.due).
            await self._deliver(outcome, now)
            return
        if outcome.decision is None:
            return
        if outcome.decision.action is not None:
            await self._subscribe(outcome, chat_id, outcome.decision.action, edit)
            return
        await self._deliver(outcome, now)

    async def _deliver(self, outcome: Outcome, now: datetime) -> None:
        try:
            await self._inbox.deliver(outcome, self.channel, now, max_wait=_REPLY_MAX_WAIT)
        except ChannelError as exc:
            log.warning(
                "telegram reply to %s not sent: %s: %s",
                mask(outcome.address),
                type(exc).__name__,
                exc,
            )

    async def _subscribe(
        self, outcome: Outcome, chat_id: int, action: str, edit: int | None
    ) -> None:
        """/subscribe and its buttons: follow interests, pick a city, done."""
        contact = outcome.contact
        assert contact is not None and outcome.decision is not None
        lang = outcome.decision.language
        chosen = await choose(self._units, contact.subscriber_id, action, _now())
        reply = chosen.reply(self._catalog, lang)
        bot = self.application.bot
        if chosen.done:
            keyboard = ReplyKeyboardMarkup(
                [[KeyboardButton(self._catalog.label("share_phone", lang), request_contact=True)]],
                one_time_keyboard=True,
                resize_keyboard=True,
            )
            await bot.send_message(chat_id, reply.text, reply_markup=keyboard)
            return
        if edit is not None:
            await bot.edit_message_text(
                reply.text,
                chat_id=chat_id,
                message_id=edit,
                reply_markup=TelegramChannel.keyboard(reply),
            )
            return
        await self.channel.send(str(chat_id), reply)

    async def _on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A shared phone number links this chat to that person's SMS contact: own number only."""
        message = update.message
        user = update.effective_user
        if message is None or message.contact is None or user is None:
            return
        now = _now()
        chat = str(message.chat.id)
        shared = message.contact
        phone = self._own_phone(shared.phone_number) if shared.user_id == user.id else None

        def link(conn: Connection, contact: ContactRef) -> None:
            # In the unit that records the event: linked exactly when it is recorded.
            if phone is not None and contact.status != "opted_out":
                subscribers.link_phone(conn, contact, phone, now)

        contact = await self._inbox.record_event(
            "telegram",
            chat,
            "[contact shared]",
            str(update.update_id),
            now,
            effect=link,
            name=_name(user),
        )
        if contact is None or contact.status == "opted_out":
            return  # a duplicate, or someone who asked us to stop: nothing is linked or sent
        lang = contact.language or _lang(user.language_code) or "en"
        if phone is None:
            await message.reply_text(self._catalog.label("phone_not_own", lang))
            return
        log.info("telegram chat %s linked to sms %s", mask(chat), mask(phone))
        await message.reply_text(
            self._catalog.label("phone_linked", lang), reply_markup=ReplyKeyboardRemove()
        )

    def _own_phone(self, raw: str) -> str | None:
        """The shared number in E.164, or None when it is not a valid phone number."""
        try:
            return to_e164(raw if raw.startswith("+") else "+" + raw, self._settings.phone_region)
        except InvalidPhoneNumber:
            return None

    async def _on_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Blocking the bot marks the chat blocked; unblocking makes it active again."""
        change = update.my_chat_member
        if change is None or change.chat.type != ChatType.PRIVATE:
            return
        new = change.new_chat_member.status
        blocked = new in (ChatMember.BANNED, ChatMember.LEFT)
        now = _now()
        chat = str(change.chat.id)

        def follow(conn: Connection, contact: ContactRef) -> None:
            if blocked and contact.status == "active":
                contacts.set_contact_status(
                    conn, contact.contact_id, "blocked", now, reason="telegram:blocked"
                )
            elif new == ChatMember.MEMBER and contact.status == "blocked":
                contacts.set_contact_status(
                    conn, contact.contact_id, "active", now, reason="telegram:unblocked"
                )

        contact = await self._inbox.record_event(
            "telegram",
            chat,
            "[blocked]" if blocked else f"[{new}]",
            str(update.update_id),
            now,
            effect=follow,
        )
        if contact is not None:
            log.info("telegram chat %s is now %s", mask(chat), new)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = None
        if isinstance(update, Update) and update.effective_chat is not None:
            chat = str(update.effective_chat.id)
        error = context.error
        holder = _failures.get()
        if holder is not None and error is not None:
            holder.append(error)
        log.error(
            "telegram update for chat %s failed: %s: %s",
            mask(chat) if chat else "-",
            type(error).__name__,
            scrub_phone_numbers(str(error)),
        )
        log.debug("traceback", exc_info=error)
        # No later handler group takes a failed update: a coordinator's answer whose draft
        # could not be read must not reach the inbox as a resident's message. The webhook
        # asks Telegram to send it again.
        raise ApplicationHandlerStop
