"""``/announce``: a coordinator writes an announcement on Telegram, then sends or schedules it.

A :class:`~telegram.ext.ConversationHandler`, one per user::

    /announce -> English text -> Urdu text or [Skip] -> audience buttons -> [Preview]
      -> preview (recipients, SMS segments and cost, sending time)
           [Send now]   -> coordinate.send_now: the broadcast id and how many were queued
           [Schedule…]  -> a time in words or a cron -> its description and next 3 times
                           -> [Create schedule] -> coordinate.add_schedule
    /cancel or [Cancel], at any step -> nothing stored

Nothing is stored before "Send now" or "Create schedule". While a conversation is open every
message from that coordinator is an answer to it (never a resident's message for the
inbox); other commands (``/start``, ``/schedules``, …) still work. A draft left alone for
:data:`DRAFT_TIMEOUT` expires: the next answer is told so and ends it. The expiry is checked
when the coordinator comes back rather than by a timer, because this bot's ``Application`` runs
without a ``JobQueue`` (PTB's ``conversation_timeout`` needs one).

The draft lives in this process's memory: a restart forgets it (the coordinator starts again),
and several web processes behind a load balancer would each hold their own conversations.

Its buttons' data is ``co:<draft>:<step>[:n]`` (see :mod:`bot.telegram.coordinators`).

The state machine, its texts and its steps stay in one module (about 450 lines), so that each
step reads beside the states that route to it.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.config import Settings
from bot.core.audience import Audience
from bot.core.catalog import Catalog
from bot.core.decision import Button, Channel
from bot.core.schedule import Rule, RuleError, describe, format_fire, next_fires, parse_rule
from bot.outreach import coordinate
from bot.store.units import Units
from bot.telegram import _chat
from bot.telegram._chat import Context, Handler

Step = Callable[[Update, "_Draft"], Coroutine[Any, Any, int | None]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, int | None]]

# How long a draft waits for the coordinator's next answer.
DRAFT_TIMEOUT = timedelta(minutes=30)
# Twilio refuses longer bodies; the announcement may go by SMS.
TEXT_MAX = 1600
NEXT_SHOWN = 3

TEXT_EN, TEXT_UR, AUDIENCE, PREVIEW, WHEN, CONFIRM = range(6)
END: Final = ConversationHandler.END

_REACH: dict[str, tuple[frozenset[Channel], str, str]] = {
    "all": (
        frozenset({"sms", "telegram"}),
        "Everyone",
        "everyone: Telegram if they use it, else SMS",
    ),
    "telegram": (frozenset({"telegram"}), "Telegram only", "Telegram only"),
    "sms": (frozenset({"sms"}), "SMS only", "SMS only, to every active number"),
}
_TICK = "✓ "
_PRIVATE = filters.ChatType.PRIVATE
_ANY_MESSAGE = _PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND
_TEXT = _ANY_MESSAGE & filters.TEXT
_DRAFT = "co:[0-9a-f]{8}:"

ASK_EN = (
    "New announcement. Send the English text (at most {max:,} characters).\n"
    "Nothing goes out before you approve it; /cancel stops at any time."
)
ASK_UR = "Now send the Urdu text, or tap Skip: Urdu speakers then get the English text."
ASK_AUDIENCE = (
    "Who gets it? Each person gets it once. Tap topics to send only to people who follow "
    "them (no topic ticked: everyone)."
)
ASK_WHEN = (
    "When should it go out? For example: tomorrow at 10:00, every Monday at 10:00, "
    "on 5 December 09:00, or a cron expression such as cron 0 10 * * 1. Times are {tz}."
)
TOO_LONG = "That is {n:,} characters; an SMS can carry at most {max:,}. Please send a shorter text."
TEXT_ONLY = "Please send the text as a message, or /cancel."
USE_BUTTONS = "Please tap one of the buttons above, or /cancel."
NEVER_FIRES = "That gives no time to go out ({rule}). Please type another time, or /cancel."
CANCELLED = "Cancelled. Nothing was sent or scheduled."
EXPIRED = (
    "This announcement waited more than {minutes} minutes for an answer and was dropped; "
    "nothing was sent. Start again with /announce."
)
STALE = "That button no longer works: its announcement was sent, cancelled or dropped."
NO_DRAFT = "There is no announcement open. Start one with /announce."
BUSY = "Still working on your last answer."
BUSY_MESSAGE = "Still working on your last answer; please send that again in a moment."
NOTHING_TO_CANCEL = "There is nothing to cancel."


@dataclass
class _Draft:
    """One coordinator's announcement while it is being written; ``touched`` is the last step."""

    token: str
    touched: datetime
    text_en: str = ""
    text_ur: str | None = None
    reach: str = "all"
    topics: set[str] = field(default_factory=set)
    rule: Rule | None = None
    busy: bool = False


class Announce:
    """The ``/announce`` conversation of the coordinators in ``ids``."""

    def __init__(
        self,
        units: Units,
        settings: Settings,
        catalog: Catalog,
        *,
        timeout: timedelta = DRAFT_TIMEOUT,
    ) -> None:
        self.ids = settings.coordinator_ids
        # Public so a deployment (or a test) can shorten it; read at every step.
        self.timeout = timeout
        self._units = units
        self._settings = settings
        self._catalog = catalog
        self._drafts: dict[int, _Draft] = {}

    def conversation(self) -> Handler:
        """The conversation handler, to add before the residents' handlers (a coordinator's
        answers never reach the inbox)."""
        coordinators = _PRIVATE & filters.User(user_id=self.ids)
        step = self._step
        cancel_button: Handler = CallbackQueryHandler(
            step(self._cancel), pattern=f"^{_DRAFT}cancel$"
        )
        # PTB warns that with per_message=False a CallbackQueryHandler follows the chat, not
        # each message; that is what we want (the draft id in the data tells drafts apart).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*CallbackQueryHandler", PTBUserWarning)
            conversation: ConversationHandler[Context] = ConversationHandler(
                entry_points=[CommandHandler("announce", self._start, filters=coordinators)],
                states={
                    TEXT_EN: [
                        MessageHandler(_TEXT, step(self._got_english)),
                        MessageHandler(_ANY_MESSAGE, step(self._text_only)),
                    ],
                    TEXT_UR: [
                        MessageHandler(_TEXT, step(self._got_urdu)),
                        CallbackQueryHandler(step(self._skip_urdu), pattern=f"^{_DRAFT}skip$"),
                        MessageHandler(_ANY_MESSAGE, step(self._text_only)),
                    ],
                    AUDIENCE: [
                        CallbackQueryHandler(
                            step(self._audience), pattern=f"^{_DRAFT}(ch:[a-z]+|t:[0-9]+)$"
                        ),
                        CallbackQueryHandler(step(self._preview), pattern=f"^{_DRAFT}preview$"),
                        MessageHandler(_ANY_MESSAGE, step(self._use_buttons)),
                    ],
                    PREVIEW: [
                        CallbackQueryHandler(step(self._send_now), pattern=f"^{_DRAFT}send$"),
                        CallbackQueryHandler(step(self._ask_when), pattern=f"^{_DRAFT}when$"),
                        MessageHandler(_ANY_MESSAGE, step(self._use_buttons)),
                    ],
                    WHEN: [
                        MessageHandler(_TEXT, step(self._got_when)),
                        MessageHandler(_ANY_MESSAGE, step(self._text_only)),
                    ],
                    CONFIRM: [
                        CallbackQueryHandler(step(self._create), pattern=f"^{_DRAFT}create$"),
                        # Typing another time instead of confirming replaces the time.
                        MessageHandler(_TEXT, step(self._got_when)),
                        MessageHandler(_ANY_MESSAGE, step(self._use_buttons)),
                    ],
                },
                fallbacks=[CommandHandler("cancel", step(self._cancel)), cancel_button],
                allow_reentry=True,
                name="announce",
            )
        return conversation

    async def _start(self, update: Update, context: Context) -> int | None:
        user_id, message = _chat.user_id(update), update.effective_message
        if user_id is None or message is None:
            return END
        current = self._drafts.get(user_id)
        if current is not None and current.busy:  # its ending would end the new one too
            await _chat.say(update, BUSY_MESSAGE)
            return None
        self._drafts[user_id] = _Draft(secrets.token_hex(4), _chat.now())
        await message.reply_text(ASK_EN.format(max=TEXT_MAX))
        return TEXT_EN

    def _step(self, fn: Step) -> Callback:
        """``fn`` run on the caller's open draft, one step at a time; returns the next state
        (None: stay where it is).

        Every press is answered, once. A button of another draft is turned away; a draft left
        alone too long is dropped. A press or message that comes while the previous step still
        runs (updates are handled concurrently) is turned away, so "Send now" pressed twice
        sends once.
        """

        async def run(update: Update, context: Context) -> int | None:
            user_id, query, now = _chat.user_id(update), update.callback_query, _chat.now()
            draft = self._drafts.get(user_id) if user_id is not None else None
            if draft is None or user_id is None:
                await (_chat.answer(update, STALE) if query else _chat.say(update, NO_DRAFT))
                return END
            if now - draft.touched > self.timeout:
                del self._drafts[user_id]
                await _chat.answer(update, None)
                await _chat.close(update)
                minutes = int(self.timeout.total_seconds() // 60)
                await _chat.say(update, EXPIRED.format(minutes=minutes))
                return END
            if query is not None and not (query.data or "").startswith(f"co:{draft.token}:"):
                await _chat.answer(update, STALE)
                return None
            if draft.busy:
                await (_chat.answer(update, BUSY) if query else _chat.say(update, BUSY_MESSAGE))
                return None
            draft.busy, draft.touched = True, now  # no await between the check and this
            try:
                await _chat.answer(update, None)
                return await fn(update, draft)
            finally:
                draft.busy = False

        return run

    async def _got_english(self, update: Update, draft: _Draft) -> int | None:
        text = _chat.text_of(update)
        if len(text) > TEXT_MAX:
            await _chat.say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_en = text
        await _chat.say(update, ASK_UR, ((Button("Skip", f"co:{draft.token}:skip"),),))
        return TEXT_UR

    async def _got_urdu(self, update: Update, draft: _Draft) -> int | None:
        text = _chat.text_of(update)
        if len(text) > TEXT_MAX:
            await _chat.say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_ur = text
        await _chat.say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _skip_urdu(self, update: Update, draft: _Draft) -> int:
        draft.text_ur = None
        await _chat.edit(update, "Urdu: skipped (Urdu speakers get the English text).")
        await _chat.say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _audience(self, update: Update, draft: _Draft) -> int:
        _, what, arg = _draft_parts(update)
        if what == "ch" and arg in _REACH:
            draft.reach = arg
        elif what == "t" and arg.isdigit() and int(arg) < len(self._catalog.interests):
            draft.topics ^= {self._catalog.interests[int(arg)].id}
        await _chat.edit(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    def _audience_buttons(self, draft: _Draft) -> tuple[tuple[Button, ...], ...]:
        token = draft.token
        reach = tuple(
            Button(_ticked(label, draft.reach == key), f"co:{token}:ch:{key}")
            for key, (_, label, _) in _REACH.items()
        )
        topics = [
            Button(_ticked(choice.label.en, choice.id in draft.topics), f"co:{token}:t:{i}")
            for i, choice in enumerate(self._catalog.interests)
        ]
        return (
            reach,
            *(tuple(topics[i : i + 2]) for i in range(0, len(topics), 2)),
            (Button("Preview ›", f"co:{token}:preview"), Button("Cancel", f"co:{token}:cancel")),
        )

    def _as_draft(self, draft: _Draft) -> coordinate.Draft:
        topics = tuple(c.id for c in self._catalog.interests if c.id in draft.topics)
        audience = Audience(
            channels=_REACH[draft.reach][0],
            topics=frozenset(topics),
            both_channels=self._settings.broadcast_both_channels,
        )
        return coordinate.Draft(draft.text_en, draft.text_ur, audience, topics)

    def _audience_text(self, draft: _Draft) -> str:
        names = [c.label.en for c in self._catalog.interests if c.id in draft.topics]
        topics = f"; only people following {', '.join(names)}" if names else ""
        reach = _REACH[draft.reach][2]
        if draft.reach == "all" and self._settings.broadcast_both_channels:
            reach = "everyone, on Telegram and by SMS"
        return f"To: {reach}{topics}"

    async def _preview(self, update: Update, draft: _Draft) -> int:
        found = await coordinate.preview(self._units, self._settings, self._as_draft(draft))
        urdu = draft.text_ur or "(none: Urdu speakers get the English text)"
        lines = [
            "Preview (nothing has been sent):",
            "",
            "English:",
            draft.text_en,
            "",
            "Urdu:",
            urdu,
            "",
            self._audience_text(draft),
            *found.lines,
        ]
        if "sms" in found.recipients:
            lines.extend(coordinate.quiet_note(self._settings, _chat.now()))
        token = draft.token
        first: tuple[Button, ...] = (Button("Schedule…", f"co:{token}:when"),)
        if found.total:
            first = (Button("Send now", f"co:{token}:send"), *first)
        else:
            lines.append("Nobody in this audience can be reached now; you can still schedule it.")
        await _chat.edit(update, self._audience_text(draft))
        await _chat.say(
            update, "\n".join(lines), (first, (Button("Cancel", f"co:{token}:cancel"),))
        )
        return PREVIEW

    async def _send_now(self, update: Update, draft: _Draft) -> int:
        user_id = _chat.user_id(update)
        sent = await coordinate.send_now(
            self._units,
            self._settings,
            self._as_draft(draft),
            _chat.now(),
            by=f"telegram:{user_id}",
        )
        self._drop(draft)
        await _chat.close(update)
        await _chat.say(
            update,
            f"Sent: broadcast #{sent.broadcast_id}, {sent.queued:,} messages queued. "
            f"/report {sent.broadcast_id} shows how it goes.",
        )
        return END

    async def _ask_when(self, update: Update, draft: _Draft) -> int:
        await _chat.close(update)
        await _chat.say(update, ASK_WHEN.format(tz=self._settings.timezone))
        return WHEN

    async def _got_when(self, update: Update, draft: _Draft) -> int | None:
        now = _chat.now()
        try:
            rule = parse_rule(_chat.text_of(update), now, self._settings.timezone)
        except RuleError as exc:
            await _chat.say(update, f"{exc}\nPlease try again, or /cancel.")
            return None
        times = next_fires(rule, now, NEXT_SHOWN)
        if not times:
            await _chat.say(update, NEVER_FIRES.format(rule=describe(rule)))
            return None
        draft.rule = rule
        # A new token: the Create button under an earlier time no longer works.
        draft.token = secrets.token_hex(4)
        text = "\n".join(
            [
                f"Schedule: {describe(rule)}",
                f"Next: {', '.join(format_fire(t) for t in times)}",
                self._audience_text(draft),
                "Create this schedule? (Or type another time.)",
            ]
        )
        token = draft.token
        buttons = (
            (Button("Create schedule", f"co:{token}:create"),),
            (Button("Cancel", f"co:{token}:cancel"),),
        )
        await _chat.say(update, text, buttons)
        return CONFIRM

    async def _create(self, update: Update, draft: _Draft) -> int:
        user_id, rule = _chat.user_id(update), draft.rule
        assert rule is not None  # CONFIRM is reached only with a rule
        info = await coordinate.add_schedule(
            self._units, self._as_draft(draft), rule, _chat.now(), by=f"telegram:{user_id}"
        )
        self._drop(draft)
        await _chat.close(update)
        upcoming = ", ".join(format_fire(t) for t in info.next_times) or "none"
        await _chat.say(
            update,
            f"Schedule #{info.id} created: {info.description}.\nNext: {upcoming}\n"
            "/schedules pauses or removes it.",
        )
        return END

    async def _cancel(self, update: Update, draft: _Draft) -> int:
        self._drop(draft)
        await _chat.close(update)
        await _chat.say(update, CANCELLED)
        return END

    def _drop(self, draft: _Draft) -> None:
        """Forget ``draft`` (and not a newer one of the same coordinator)."""
        for user_id, held in list(self._drafts.items()):
            if held is draft:
                del self._drafts[user_id]

    async def _text_only(self, update: Update, draft: _Draft) -> None:
        await _chat.say(update, TEXT_ONLY)

    async def _use_buttons(self, update: Update, draft: _Draft) -> None:
        await _chat.say(update, USE_BUTTONS)


def _ticked(label: str, ticked: bool) -> str:
    return _TICK + label if ticked else label


def _draft_parts(update: Update) -> tuple[str, str, str]:
    """``(draft, step, argument)`` of a ``co:<draft>:<step>[:<argument>]`` button."""
    data = update.callback_query.data if update.callback_query else None
    _, token, rest = (data or "").split(":", 2)
    step, _, arg = rest.partition(":")
    return token, step, arg
