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

Like an /announce draft, a reply being written is kept in the database
(:mod:`bot.store.drafts`), so any web process can take the coordinator's next update, and is
dropped when left for :data:`~bot.telegram.announce.DRAFT_TIMEOUT` (the next message says so).
The thread and its claim are in the database too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

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
from bot.store import drafts
from bot.store.units import Units
from bot.telegram import _chat
from bot.telegram._chat import Context, Handler
from bot.telegram.announce import DRAFT_TIMEOUT

log = logging.getLogger(__name__)

_DATA = re.compile(r"co:t:([rcsx]):([0-9]{1,18})")
LANGUAGES = {"en": "English", "ur": "Urdu", "ur-Latn": "Roman Urdu"}
CHANNELS = {"sms": "SMS", "telegram": "Telegram"}
STALE_REPLY = "That button no longer works: write the reply again after pressing Reply."
REPLY_EXPIRED = (
    "Your reply to thread #{thread} waited more than {minutes} minutes and was dropped; "
    "nothing was sent. Press Reply to write it again."
)


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


class Threads:
    """The coordinators' hand-over screens; add :meth:`handlers` in a group of their own, before
    the coordinators' and the residents' handlers."""

    def __init__(
        self,
        handover: Handover,
        bot: Bot,
        coordinator_ids: frozenset[int],
        refuse: Callable[[Update, Context], Awaitable[None]],
        units: Units,
        *,
        timeout: timedelta = DRAFT_TIMEOUT,
    ) -> None:
        self._handover = handover
        self._bot = bot
        self._ids = coordinator_ids
        self._refuse = refuse
        self._units = units
        # Public, as Announce.timeout: read at every update.
        self.timeout = timeout

    def handlers(self) -> list[Handler]:
        """The thread buttons, and the text or ``/cancel`` of a coordinator writing a reply:
        handled here, they never reach the inbox or an /announce draft. A coordinator's
        message while not writing one goes on to the next group."""
        coordinators = filters.ChatType.PRIVATE & filters.User(user_id=self._ids)
        return [
            CommandHandler("cancel", self._cancel_command, filters=coordinators),
            MessageHandler(coordinators & filters.TEXT & ~filters.COMMAND, self._text),
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
            raise ApplicationHandlerStop
        if user_id not in self._ids:
            await self._refuse(update, context)
            raise ApplicationHandlerStop
        found = _DATA.fullmatch(query.data or "")
        if found is None:
            await _chat.answer(update, STALE_REPLY)
            raise ApplicationHandlerStop
        action, thread_id = found.group(1), int(found.group(2))
        if action == "r":
            await self._start_reply(update, user_id, thread_id)
        elif action == "c":
            closed = await self._handover.close(thread_id, by(user_id), _chat.now())
            await self._units.run(lambda conn: drafts.drop_reply(conn, user_id))
            note = f"Thread #{thread_id} " + ("closed." if closed else "was already closed.")
            await _chat.answer(update, note)
            await _chat.close(update)
            await _chat.say(update, note)
        else:
            await self._finish_reply(update, user_id, thread_id, send=action == "s")
        raise ApplicationHandlerStop

    async def _writing(self, update: Update, user_id: int) -> drafts.ReplyDraft | None:
        """The reply ``user_id`` is writing; None when none, or when it waited too long (then
        it is dropped, and they are told)."""
        writing = await self._units.run(lambda conn: drafts.get_reply(conn, user_id))
        if writing is None or _chat.now() - writing.touched_at <= self.timeout:
            return writing
        await self._units.run(lambda conn: drafts.drop_reply(conn, user_id))
        await _chat.answer(update, None)
        minutes = int(self.timeout.total_seconds() // 60)
        await _chat.say(update, REPLY_EXPIRED.format(thread=writing.thread_id, minutes=minutes))
        raise ApplicationHandlerStop

    async def _start_reply(self, update: Update, user_id: int, thread_id: int) -> None:
        now = _chat.now()
        claim = await self._handover.claim(thread_id, by(user_id), now)
        if not claim.ok:
            why = {
                "taken": f"Thread #{thread_id} is being answered by {claim.holder}.",
                "closed": f"Thread #{thread_id} is closed.",
                "missing": f"There is no thread #{thread_id}.",
            }[claim.outcome]
            await _chat.answer(update, why)
            await _chat.say(update, why)
            return
        await self._units.run(lambda conn: drafts.start_reply(conn, user_id, thread_id, now))
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
        writing = await self._writing(update, user_id) if user_id is not None else None
        if user_id is None or writing is None:
            return  # not writing a reply: the next group's
        text, tid = _chat.text_of(update), writing.thread_id
        view = await self._handover.show(tid)
        if view is None:
            await self._units.run(lambda conn: drafts.drop_reply(conn, user_id))
            await _chat.say(update, f"There is no thread #{tid}.")
            raise ApplicationHandlerStop
        problem = self._handover.problem(view.thread, text)
        if problem is not None:
            if view.thread.state == "closed" or view.thread.contact_status != "active":
                await self._units.run(lambda conn: drafts.drop_reply(conn, user_id))
            await _chat.say(update, problem)
            raise ApplicationHandlerStop
        now = _chat.now()
        await self._units.run(lambda conn: drafts.write_reply(conn, user_id, tid, text, now))
        cost = cost_line(view.thread.channel, text, self._handover.sms_max_segments)
        await _chat.say(
            update,
            f"To {who(view.thread)} · {cost}\n\n{text}",
            ((Button("Send", f"co:t:s:{tid}"), Button("Cancel", f"co:t:x:{tid}")),),
        )
        raise ApplicationHandlerStop

    async def _finish_reply(
        self, update: Update, user_id: int, thread_id: int, *, send: bool
    ) -> None:
        if await self._writing(update, user_id) is None:
            await _chat.answer(update, STALE_REPLY)
            return
        text = await self._units.run(lambda conn: drafts.take_reply(conn, user_id, thread_id))
        if text is None:  # another reply, none written yet, or taken by a press just before
            await _chat.answer(update, STALE_REPLY)
            return
        await _chat.answer(update, None)
        await _chat.close(update)
        if not send:
            await _chat.say(update, "Not sent.")
            return
        try:
            sent = await self._handover.reply(thread_id, text, by(user_id), _chat.now())
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
        dropped = user_id is not None and await self._units.run(
            lambda conn: drafts.drop_reply(conn, user_id)
        )
        if not dropped:
            return  # not writing a reply: an /announce draft's, or nothing to cancel
        await _chat.say(update, "Not sent.")
        raise ApplicationHandlerStop
