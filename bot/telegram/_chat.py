"""What every coordinator screen does with an update: who sent it, its text, answering a
button press, saying, editing and closing a message. Shared by :mod:`bot.telegram.announce` and
:mod:`bot.telegram.coordinators`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, ContextTypes

from bot.channels.telegram import TelegramChannel
from bot.core.decision import Button, Reply
from bot.core.telegram_text import split_text

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Handler = BaseHandler[Update, Context, Any]


def now() -> datetime:
    """The time of this update: read here, at the edge, and passed on."""
    return datetime.now(UTC)


def user_id(update: Update) -> int | None:
    user = update.effective_user
    return user.id if user is not None else None


def text_of(update: Update) -> str:
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


def markup(buttons: Sequence[tuple[Button, ...]]) -> InlineKeyboardMarkup | None:
    return TelegramChannel.keyboard(Reply("-", tuple(buttons)))


async def answer(update: Update, text: str | None) -> None:
    """Answer the button press, if this is one; a press too old to answer is let go."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.info("callback query not answered: %s", exc)


async def say(update: Update, text: str, buttons: Sequence[tuple[Button, ...]] = ()) -> None:
    """Send ``text`` (in parts if long; buttons under the last) to the update's chat."""
    chat = update.effective_chat
    if chat is None:
        return
    parts = split_text(text)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await chat.send_message(part, reply_markup=markup(buttons) if last else None)


async def edit(update: Update, text: str, buttons: Sequence[tuple[Button, ...]] = ()) -> None:
    """Show ``text`` (and ``buttons``) in place of the message whose button was pressed."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(split_text(text)[0], reply_markup=markup(buttons))
    except BadRequest as exc:
        if "not modified" not in str(exc):  # two quick presses can ask for the same screen
            raise


async def close(update: Update) -> None:
    """Take the buttons off the message whose button was pressed (it cannot be pressed again)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.text:
        await edit(update, message.text)
