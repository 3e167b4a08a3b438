"""Telegram commands for the park's coordinators: ``/announce``, ``/schedules``, ``/report``.

Only Telegram users in ``COORDINATOR_TELEGRAM_IDS`` may use them. Anyone else who sends one of
these commands, or presses one of these buttons, gets a short refusal (in their language) and
nothing is stored. The commands are in the coordinators' own command menus only (a per-chat
scope), never in the residents'. The work itself is :mod:`bot.outreach.coordinate`, shared
with the CLI; this module asks, shows and passes on, with ``now`` read here at the edge.

``/announce`` is a :class:`~telegram.ext.ConversationHandler`, one per user::

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

Callback data, all ASCII and at most 64 bytes, under the prefix ``co:``, which
:mod:`bot.core.menus` (``menu``, ``a:``, ``l:``, ``lang:``, ``sub:``) never uses:

=========================  =====================================================
``co:<draft>:<step>[:n]``  a button of one /announce draft (``<draft>``: 8 hex
                           digits, new for each draft and each time typed, so a
                           button left over from before never acts on what
                           the coordinator sees now):
                           ``skip``, ``ch:all|telegram|sms``, ``t:<interest #>``,
                           ``preview``, ``send``, ``when``, ``create``, ``cancel``
``co:s:<p|r|x|y>:<id>``    pause, resume, ask to remove, remove a schedule
``co:s:list``              back to the schedules list
=========================  =====================================================

The coordinators' screens are in English only: they are park staff working in English, and
the preview, schedule and report lines they show come from the English-only service layer and
rule parser (as in the CLI). What a non-coordinator may see, the refusal, is in English and
Urdu.
"""

from __future__ import annotations

import logging
import re
import secrets
import warnings
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from telegram import Bot, BotCommandScopeChat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.core.audience import Audience
from bot.core.catalog import Catalog, Lang, LocalText
from bot.core.decision import Button, Channel, Reply
from bot.core.menus import commands_for, shorten
from bot.core.phones import mask
from bot.core.schedule import Rule, RuleError, describe, format_fire, next_fires, parse_rule
from bot.core.telegram_text import split_text
from bot.core.windows import SendWindow, in_send_window, next_window_open
from bot.outreach import coordinate
from bot.store import contacts
from bot.store.units import Units

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
Handler = BaseHandler[Update, Context, Any]
Step = Callable[[Update, "_Draft"], Coroutine[Any, Any, int | None]]
Callback = Callable[[Update, Context], Coroutine[Any, Any, int | None]]

# How long a draft waits for the coordinator's next answer.
DRAFT_TIMEOUT = timedelta(minutes=30)
# Twilio refuses longer bodies; the announcement may go by SMS.
TEXT_MAX = 1600
SCHEDULES_SHOWN = 20
REPORTS_SHOWN = 5
NEXT_SHOWN = 3

COMMANDS: Final = (
    ("announce", "Write an announcement, then send or schedule it"),
    ("schedules", "Scheduled announcements: pause, resume, remove"),
    ("report", "What the latest broadcasts delivered (/report ID: one)"),
)
NOT_ALLOWED = LocalText(
    "Sorry, this command is only for the park's coordinators.",
    "معذرت، یہ کمانڈ صرف پارک کے کوآرڈینیٹرز کے لیے ہے۔",
)

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
_SCHEDULE_DATA = re.compile(r"co:s:([prxy]):([0-9]{1,18})")

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


def coordinator_commands(catalog: Catalog, lang: Lang) -> list[tuple[str, str]]:
    """A coordinator's command menu in ``lang``: the residents' commands, then theirs."""
    return [*commands_for(catalog, lang), *COMMANDS]


async def register_menus(bot: Bot, catalog: Catalog, coordinator_ids: frozenset[int]) -> list[str]:
    """Give each coordinator's private chat a menu with the coordinator commands.

    Residents' menus (the default scope) never list them. A coordinator who has not opened a
    chat with the bot yet cannot have a menu; that is logged and the others still get theirs.
    """
    done = 0
    for user_id in sorted(coordinator_ids):
        scope = BotCommandScopeChat(user_id)
        try:
            await bot.set_my_commands(coordinator_commands(catalog, "en"), scope=scope)
            await bot.set_my_commands(
                coordinator_commands(catalog, "ur"), scope=scope, language_code="ur"
            )
        except TelegramError as exc:
            log.warning("coordinator menu for user %s not set: %s", mask(str(user_id)), exc)
        else:
            done += 1
    return [f"coordinator menus for {done} of {len(coordinator_ids)}"] if coordinator_ids else []


def _now() -> datetime:
    return datetime.now(UTC)


def _user_id(update: Update) -> int | None:
    user = update.effective_user
    return user.id if user is not None else None


def _lang(code: str | None) -> Lang:
    return "ur" if code and code.lower().startswith("ur") else "en"


class Coordinators:
    """The coordinator commands' handlers; add :meth:`handlers` before the residents' ones."""

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

    def handlers(self) -> list[Handler]:
        """Handlers for one group, in order, to add before the residents' handlers.

        The conversation comes first, so a coordinator's answers never reach the inbox; the
        refusals last, so only commands and buttons of ours that no one else took get one.
        """
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
        return [
            conversation,
            # Outside a conversation /cancel is still ours for a coordinator: the inbox would
            # read it as CANCEL, an opt-out.
            CommandHandler("cancel", self._nothing_to_cancel, filters=coordinators),
            CommandHandler("schedules", self._schedules, filters=coordinators),
            CommandHandler("report", self._report, filters=coordinators),
            CallbackQueryHandler(self._schedule_button, pattern=r"^co:s:"),
            CallbackQueryHandler(self._stale_button, pattern=r"^co:"),
            CommandHandler(["announce", "schedules", "report"], self._refuse, filters=_PRIVATE),
        ]

    # -- /announce --------------------------------------------------------------------------

    async def _start(self, update: Update, context: Context) -> int | None:
        user_id, message = _user_id(update), update.effective_message
        if user_id is None or message is None:
            return END
        current = self._drafts.get(user_id)
        if current is not None and current.busy:  # its ending would end the new one too
            await _say(update, BUSY_MESSAGE)
            return None
        self._drafts[user_id] = _Draft(secrets.token_hex(4), _now())
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
            user_id, query, now = _user_id(update), update.callback_query, _now()
            draft = self._drafts.get(user_id) if user_id is not None else None
            if draft is None or user_id is None:
                await (_answer(update, STALE) if query else _say(update, NO_DRAFT))
                return END
            if now - draft.touched > self.timeout:
                del self._drafts[user_id]
                await _answer(update, None)
                await _close(update)
                minutes = int(self.timeout.total_seconds() // 60)
                await _say(update, EXPIRED.format(minutes=minutes))
                return END
            if query is not None and not (query.data or "").startswith(f"co:{draft.token}:"):
                await _answer(update, STALE)
                return None
            if draft.busy:
                await (_answer(update, BUSY) if query else _say(update, BUSY_MESSAGE))
                return None
            draft.busy, draft.touched = True, now  # no await between the check and this
            try:
                await _answer(update, None)
                return await fn(update, draft)
            finally:
                draft.busy = False

        return run

    async def _got_english(self, update: Update, draft: _Draft) -> int | None:
        text = _text(update)
        if len(text) > TEXT_MAX:
            await _say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_en = text
        await _say(update, ASK_UR, ((Button("Skip", f"co:{draft.token}:skip"),),))
        return TEXT_UR

    async def _got_urdu(self, update: Update, draft: _Draft) -> int | None:
        text = _text(update)
        if len(text) > TEXT_MAX:
            await _say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_ur = text
        await _say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _skip_urdu(self, update: Update, draft: _Draft) -> int:
        draft.text_ur = None
        await _edit(update, "Urdu: skipped (Urdu speakers get the English text).")
        await _say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _audience(self, update: Update, draft: _Draft) -> int:
        _, what, arg = _draft_parts(update)
        if what == "ch" and arg in _REACH:
            draft.reach = arg
        elif what == "t" and arg.isdigit() and int(arg) < len(self._catalog.interests):
            draft.topics ^= {self._catalog.interests[int(arg)].id}
        await _edit(update, ASK_AUDIENCE, self._audience_buttons(draft))
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
            lines.extend(self._quiet_note(_now()))
        token = draft.token
        first: tuple[Button, ...] = (Button("Schedule…", f"co:{token}:when"),)
        if found.total:
            first = (Button("Send now", f"co:{token}:send"), *first)
        else:
            lines.append("Nobody in this audience can be reached now; you can still schedule it.")
        await _edit(update, self._audience_text(draft))
        await _say(update, "\n".join(lines), (first, (Button("Cancel", f"co:{token}:cancel"),)))
        return PREVIEW

    def _quiet_note(self, now: datetime) -> list[str]:
        """What "Send now" means for SMS during quiet hours (they wait; Telegram does not)."""
        settings = self._settings
        window = SendWindow.from_quiet_hours(
            settings.quiet_hours_start, settings.quiet_hours_end, settings.timezone
        )
        if in_send_window(window, now):
            return []
        opens = format_fire(next_window_open(window, now))
        return [f"It is quiet hours: sent now, the SMS wait until {opens}."]

    async def _send_now(self, update: Update, draft: _Draft) -> int:
        user_id = _user_id(update)
        sent = await coordinate.send_now(
            self._units, self._as_draft(draft), _now(), by=f"telegram:{user_id}"
        )
        self._drop(draft)
        await _close(update)
        await _say(
            update,
            f"Sent: broadcast #{sent.broadcast_id}, {sent.queued:,} messages queued. "
            f"/report {sent.broadcast_id} shows how it goes.",
        )
        return END

    async def _ask_when(self, update: Update, draft: _Draft) -> int:
        await _close(update)
        await _say(update, ASK_WHEN.format(tz=self._settings.timezone))
        return WHEN

    async def _got_when(self, update: Update, draft: _Draft) -> int | None:
        now = _now()
        try:
            rule = parse_rule(_text(update), now, self._settings.timezone)
        except RuleError as exc:
            await _say(update, f"{exc}\nPlease try again, or /cancel.")
            return None
        times = next_fires(rule, now, NEXT_SHOWN)
        if not times:
            await _say(update, NEVER_FIRES.format(rule=describe(rule)))
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
        await _say(update, text, buttons)
        return CONFIRM

    async def _create(self, update: Update, draft: _Draft) -> int:
        user_id, rule = _user_id(update), draft.rule
        assert rule is not None  # CONFIRM is reached only with a rule
        info = await coordinate.add_schedule(
            self._units, self._as_draft(draft), rule, _now(), by=f"telegram:{user_id}"
        )
        self._drop(draft)
        await _close(update)
        upcoming = ", ".join(format_fire(t) for t in info.next_times) or "none"
        await _say(
            update,
            f"Schedule #{info.id} created: {info.description}.\nNext: {upcoming}\n"
            "/schedules pauses or removes it.",
        )
        return END

    async def _cancel(self, update: Update, draft: _Draft) -> int:
        self._drop(draft)
        await _close(update)
        await _say(update, CANCELLED)
        return END

    def _drop(self, draft: _Draft) -> None:
        """Forget ``draft`` (and not a newer one of the same coordinator)."""
        for user_id, held in list(self._drafts.items()):
            if held is draft:
                del self._drafts[user_id]

    async def _text_only(self, update: Update, draft: _Draft) -> None:
        await _say(update, TEXT_ONLY)

    async def _use_buttons(self, update: Update, draft: _Draft) -> None:
        await _say(update, USE_BUTTONS)

    async def _nothing_to_cancel(self, update: Update, context: Context) -> None:
        await _say(update, NOTHING_TO_CANCEL)

    async def _stale_button(self, update: Update, context: Context) -> None:
        """A ``co:`` button no open conversation took: an old draft's, or not a coordinator's."""
        if _user_id(update) in self.ids:
            await _answer(update, STALE)
        else:
            await self._refuse(update, context)

    # -- /schedules -------------------------------------------------------------------------

    async def _schedules(self, update: Update, context: Context) -> None:
        text, buttons = await self._schedule_list(_now())
        await _say(update, text, buttons)

    async def _schedule_list(
        self, now: datetime, note: str | None = None
    ) -> tuple[str, tuple[tuple[Button, ...], ...]]:
        found = await coordinate.list_schedules(self._units, now)
        if not found:
            return "\n\n".join(filter(None, [note, "No schedules. /announce makes one."])), ()
        shown = found[-SCHEDULES_SHOWN:]
        head = f"Schedules ({len(found)}):"
        if len(shown) < len(found):
            head = f"Schedules: the newest {len(shown)} of {len(found)}:"
        blocks = [b for b in (note, head) if b]
        rows: list[tuple[Button, ...]] = []
        for info in shown:
            blocks.append(_schedule_text(info))
            toggle = (
                Button(f"Pause #{info.id}", f"co:s:p:{info.id}")
                if info.enabled
                else Button(f"Resume #{info.id}", f"co:s:r:{info.id}")
            )
            rows.append((toggle, Button(f"Remove #{info.id}", f"co:s:x:{info.id}")))
        return "\n\n".join(blocks), tuple(rows)

    async def _schedule_button(self, update: Update, context: Context) -> None:
        query, user_id = update.callback_query, _user_id(update)
        if query is None:
            return
        if user_id not in self.ids:
            await self._refuse(update, context)
            return
        now = _now()
        found = _SCHEDULE_DATA.fullmatch(query.data or "")
        if found is None:  # co:s:list, or data we never sent
            await _answer(update, None)
            await _edit(update, *await self._schedule_list(now))
            return
        action, schedule_id = found.group(1), int(found.group(2))
        if action == "x":
            info = await coordinate.get_schedule(self._units, schedule_id, now)
            if info is not None:
                await _answer(update, None)
                await _edit(
                    update,
                    f"Remove schedule #{info.id}, {shorten(info.title)} ({info.description})?\n"
                    "Broadcasts it already sent, and their reports, stay.",
                    (
                        (
                            Button(f"Yes, remove #{info.id}", f"co:s:y:{info.id}"),
                            Button("No, keep it", "co:s:list"),
                        ),
                    ),
                )
                return
            note = f"Schedule #{schedule_id} no longer exists."
        elif action == "y":
            removed = await coordinate.remove_schedule(self._units, schedule_id)
            note = f"Schedule #{schedule_id} " + ("removed." if removed else "no longer exists.")
        else:
            enabled = action == "r"
            changed = await coordinate.set_schedule_enabled(self._units, schedule_id, enabled, now)
            done = "resumed" if enabled else "paused"
            note = f"Schedule #{schedule_id} " + (done if changed else "no longer exists") + "."
        await _answer(update, note)
        await _edit(update, *await self._schedule_list(now, note))

    # -- /report ----------------------------------------------------------------------------

    async def _report(self, update: Update, context: Context) -> None:
        args = context.args or []
        tz = self._settings.timezone
        if not args:
            reports = await coordinate.list_reports(self._units, limit=REPORTS_SHOWN)
            if not reports:
                await _say(update, "No broadcasts yet.")
                return
            blocks = ["\n".join(coordinate.report_lines(r, tz)) for r in reports]
            head = "Latest broadcasts, newest first (/report ID shows one):"
            await _say(update, "\n\n".join([head, *blocks]))
            return
        wanted = args[0].lstrip("#")
        if len(args) > 1 or not wanted.isdigit() or len(wanted) > 18:
            await _say(update, "Send /report for the latest broadcasts, or /report 12 for one.")
            return
        report = await coordinate.get_report(self._units, int(wanted))
        if report is None:
            await _say(update, f"There is no broadcast #{int(wanted)}.")
            return
        await _say(update, "\n".join(coordinate.report_lines(report, tz)))

    # -- everyone else ----------------------------------------------------------------------

    async def _refuse(self, update: Update, context: Context) -> None:
        """The refusal, in the person's language; nothing is stored."""
        user = update.effective_user
        chat = update.effective_chat
        log.info("coordinator command refused for user %s", mask(str(user.id) if user else "-"))
        if update.callback_query is not None:
            await _answer(update, NOT_ALLOWED.get(_lang(user.language_code if user else None)))
            return
        lang = _lang(user.language_code if user else None)
        if chat is not None:
            address = str(chat.id)
            contact = await self._units.run(
                lambda conn: contacts.get_contact(conn, "telegram", address)
            )
            if contact is not None and contact.language is not None:
                lang = contact.language
        await _say(update, NOT_ALLOWED.get(lang))


def _schedule_text(info: coordinate.ScheduleInfo) -> str:
    state = "on" if info.enabled else "paused"
    lines = [f"#{info.id} {shorten(info.title)}", f"{info.description} · {state}"]
    if info.next_times:
        lines.append(f"Next: {format_fire(info.next_times[0])}")
    elif info.enabled:
        lines.append("No more runs.")
    if info.missed:
        lines.append(f"Missed runs: {len(info.missed)}")
    return "\n".join(lines)


def _ticked(label: str, ticked: bool) -> str:
    return _TICK + label if ticked else label


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "").strip() if message is not None else ""


def _draft_parts(update: Update) -> tuple[str, str, str]:
    """``(draft, step, argument)`` of a ``co:<draft>:<step>[:<argument>]`` button."""
    data = update.callback_query.data if update.callback_query else None
    _, token, rest = (data or "").split(":", 2)
    step, _, arg = rest.partition(":")
    return token, step, arg


def _markup(buttons: Sequence[tuple[Button, ...]]) -> InlineKeyboardMarkup | None:
    return TelegramChannel.keyboard(Reply("-", tuple(buttons)))


async def _answer(update: Update, text: str | None) -> None:
    """Answer the button press, if this is one; a press too old to answer is let go."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text)
    except TelegramError as exc:
        log.info("callback query not answered: %s", exc)


async def _say(update: Update, text: str, buttons: Sequence[tuple[Button, ...]] = ()) -> None:
    """Send ``text`` (in parts if long; buttons under the last) to the update's chat."""
    chat = update.effective_chat
    if chat is None:
        return
    parts = split_text(text)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await chat.send_message(part, reply_markup=_markup(buttons) if last else None)


async def _edit(update: Update, text: str, buttons: Sequence[tuple[Button, ...]] = ()) -> None:
    """Show ``text`` (and ``buttons``) in place of the message whose button was pressed."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        await query.edit_message_text(split_text(text)[0], reply_markup=_markup(buttons))
    except BadRequest as exc:
        if "not modified" not in str(exc):  # two quick presses can ask for the same screen
            raise


async def _close(update: Update) -> None:
    """Take the buttons off the message whose button was pressed (it cannot be pressed again)."""
    query = update.callback_query
    message = query.message if query is not None else None
    if isinstance(message, Message) and message.text:
        await _edit(update, message.text)
