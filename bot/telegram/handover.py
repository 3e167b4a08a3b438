"""Hand-overs on Telegram: each coordinator gets the resident's message, and answers or closes.

:meth:`Threads.notify` is called by the inbox for every resident message that joins a thread
(:meth:`bot.outreach.inbox.Inbox.on_handover`). Each coordinator in
``COORDINATOR_TELEGRAM_IDS`` gets: the thread number, channel, language, the resident's
masked number (or Telegram chat), the last few messages, and **Reply** and **Close**.

**Reply** claims the thread for that coordinator (the first one wins; a second is told who
has it), then the coordinator writes the answer. The bot shows what sending takes (SMS
segments, or Telegram) with **Send** and **Cancel**: an SMS over ``SMS_MAX_SEGMENTS`` is
refused before that, and the coordinator writes a shorter one. **Send** goes through
:class:`bot.outreach.handover.Handover`, on the resident's own channel; **Close** ends the
thread. ``/cancel`` stops a reply being written.

Callback data, under ``co:t:`` (``co:`` is the coordinators' prefix): ``co:t:r:<id>`` reply,
``co:t:c:<id>`` close, ``co:t:s:<id>`` send, ``co:t:x:<id>`` cancel.

Like an /announce draft, a reply being written lives in the memory of the process that
answers the webhook (one web process for the Telegram webhook); a restart drops it and the
coordinator presses Reply again. The thread and its claim are in the database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Bot, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.core.decision import Button
from bot.core.menus import shorten
from bot.core.phones import mask
from bot.outreach.handover import (
    Handover,
    ReplyRefused,
    ThreadView,
    cost_line,
    outcome_line,
    who,
)
from bot.telegram import _chat
from bot.telegram._chat import Context, Handler

log = logging.getLogger(__name__)

_DATA = re.compile(r"co:t:([rcsx]):([0-9]{1,18})")
LANGUAGES = {"en": "English", "ur": "Urdu", "ur-Latn": "Roman Urdu"}
CHANNELS = {"sms": "SMS", "telegram": "Telegram"}
STALE_REPLY = "That button no longer works: write the reply again after pressing Reply."


@dataclass
class _Writing:
    """A reply a coordinator is writing: its thread, and the text once written."""

    thread_id: int
    text: str | None = None


def by(user_id: int) -> str:
    """Who a coordinator is in the threads' records."""
    return f"telegram:{user_id}"


def thread_text(view: ThreadView) -> str:
    """The notice a coordinator gets: who, where, in which language, and the last messages."""
    t = view.thread
    language = LANGUAGES.get(t.language or "", t.language or "unknown language")
    head = f"Thread #{t.id} · {CHANNELS[t.channel]} · {language} · {who(t)}"
    state = {
        "open": "Waiting for a person.",
        "claimed": f"Being answered by {t.claimed_by}.",
        "closed": f"Closed by {t.closed_by}.",
    }[t.state]
    if t.reason == "missed":
        state += " The bot could not answer twice in a row."
    lines = [
        f"{'Resident' if line.direction == 'in' else 'Sent'}: {shorten(line.text, 300)}"
        for line in view.lines
    ]
    return "\n".join([head, state, "", *lines])


def thread_buttons(thread_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((Button("Reply", f"co:t:r:{thread_id}"), Button("Close", f"co:t:c:{thread_id}")),)


class _WritingFilter(filters.MessageFilter):
    """Messages from a coordinator who is writing a reply."""

    def __init__(self, writing: dict[int, _Writing]) -> None:
        super().__init__(name="writing a reply")
        self._writing = writing

    def filter(self, message: Message) -> bool:
        user = message.from_user
        return user is not None and user.id in self._writing


class Threads:
    """The coordinators' hand-over screens; add :meth:`handlers` with the coordinators' ones."""

    def __init__(
        self,
        handover: Handover,
        bot: Bot,
        coordinator_ids: frozenset[int],
        refuse: Callable[[Update, Context], Awaitable[None]],
    ) -> None:
        self._handover = handover
        self._bot = bot
        self._ids = coordinator_ids
        self._refuse = refuse
        self._writing: dict[int, _Writing] = {}

    def handlers(self) -> list[Handler]:
        """Before the residents' handlers: a reply being written never reaches the inbox."""
        writing = filters.ChatType.PRIVATE & _WritingFilter(self._writing)
        return [
            CommandHandler("cancel", self._cancel_command, filters=writing),
            MessageHandler(writing & filters.TEXT & ~filters.COMMAND, self._text),
            CallbackQueryHandler(self._button, pattern=r"^co:t:"),
        ]

    async def notify(self, thread_id: int) -> None:
        """Send the thread's notice, with Reply and Close, to every coordinator."""
        view = await self._handover.show(thread_id)
        if view is None:
            return
        text, markup = thread_text(view), _chat.markup(thread_buttons(thread_id))
        for user_id in sorted(self._ids):
            try:
                await self._bot.send_message(user_id, text, reply_markup=markup)
            except TelegramError as exc:
                log.warning("thread %s notice to %s failed: %s", thread_id, mask(str(user_id)), exc)

    async def _button(self, update: Update, context: Context) -> None:
        query, user_id = update.callback_query, _chat.user_id(update)
        if query is None or user_id is None:
            return
        if user_id not in self._ids:
            await self._refuse(update, context)
            return
        found = _DATA.fullmatch(query.data or "")
        if found is None:
            await _chat.answer(update, STALE_REPLY)
            return
        action, thread_id = found.group(1), int(found.group(2))
        if action == "r":
            await self._start_reply(update, user_id, thread_id)
        elif action == "c":
            closed = await self._handover.close(thread_id, by(user_id), _chat.now())
            self._writing.pop(user_id, None)
            note = f"Thread #{thread_id} " + ("closed." if closed else "was already closed.")
            await _chat.answer(update, note)
            await _chat.close(update)
            await _chat.say(update, note)
        else:
            await self._finish_reply(update, user_id, thread_id, send=action == "s")

    async def _start_reply(self, update: Update, user_id: int, thread_id: int) -> None:
        claim = await self._handover.claim(thread_id, by(user_id), _chat.now())
        if not claim.ok:
            why = {
                "taken": f"Thread #{thread_id} is being answered by {claim.holder}.",
                "closed": f"Thread #{thread_id} is closed.",
                "missing": f"There is no thread #{thread_id}.",
            }[claim.outcome]
            await _chat.answer(update, why)
            await _chat.say(update, why)
            return
        self._writing[user_id] = _Writing(thread_id)
        view = await self._handover.show(thread_id)
        channel = CHANNELS[view.thread.channel] if view else "their channel"
        limit = ""
        if view is not None and view.thread.channel == "sms":
            limit = f", at most {self._handover.sms_max_segments} SMS segments"
        await _chat.answer(update, None)
        await _chat.say(
            update,
            f"Write your reply to thread #{thread_id} ({channel}{limit}). /cancel stops.",
        )

    async def _text(self, update: Update, context: Context) -> None:
        user_id = _chat.user_id(update)
        writing = self._writing.get(user_id) if user_id is not None else None
        if writing is None:
            return
        text = _chat.text_of(update)
        view = await self._handover.show(writing.thread_id)
        if view is None:
            self._writing.pop(user_id or 0, None)
            await _chat.say(update, f"There is no thread #{writing.thread_id}.")
            return
        problem = self._handover.problem(view.thread, text)
        if problem is not None:
            if view.thread.state == "closed" or view.thread.contact_status != "active":
                self._writing.pop(user_id or 0, None)
            await _chat.say(update, problem)
            return
        writing.text = text
        cost = cost_line(view.thread.channel, text, self._handover.sms_max_segments)
        tid = writing.thread_id
        await _chat.say(
            update,
            f"To {who(view.thread)} · {cost}\n\n{text}",
            ((Button("Send", f"co:t:s:{tid}"), Button("Cancel", f"co:t:x:{tid}")),),
        )

    async def _finish_reply(
        self, update: Update, user_id: int, thread_id: int, *, send: bool
    ) -> None:
        writing = self._writing.get(user_id)
        if writing is None or writing.thread_id != thread_id or writing.text is None:
            await _chat.answer(update, STALE_REPLY)
            return
        del self._writing[user_id]
        await _chat.answer(update, None)
        await _chat.close(update)
        if not send:
            await _chat.say(update, "Not sent.")
            return
        try:
            sent = await self._handover.reply(thread_id, writing.text, by(user_id), _chat.now())
        except ReplyRefused as exc:
            await _chat.say(update, f"Not sent: {exc}")
            return
        problem = outcome_line(sent)
        if problem is not None:
            await _chat.say(update, problem)
            return
        how = CHANNELS[sent.channel]
        if sent.segments is not None:
            how += f", {sent.segments} segment{'s' if sent.segments != 1 else ''}"
        await _chat.say(
            update, f"Sent to thread #{thread_id} ({how}).", thread_buttons(thread_id)[:1]
        )

    async def _cancel_command(self, update: Update, context: Context) -> None:
        user_id = _chat.user_id(update)
        if user_id is not None:
            self._writing.pop(user_id, None)
        await _chat.say(update, "Not sent.")
