"""``/announce``: a coordinator writes an announcement on Telegram, then sends or schedules it.

A small state machine, one draft per coordinator::

    /announce -> English text -> Urdu text or [Skip] -> audience buttons -> [Preview]
      -> preview (recipients, SMS segments and cost, sending time)
           [Send now]   -> coordinate.send_now: the broadcast id and how many were queued
           [Schedule…]  -> a time in words or a cron -> its description and next 3 times
                           -> [Create schedule] -> coordinate.add_schedule
    /cancel or [Cancel], at any step -> nothing stored

Nothing but the draft is stored before "Send now" or "Create schedule". While a draft is open
every message from that coordinator is an answer to it (never a resident's message for the
inbox); other commands (``/start``, ``/schedules``, …) still work. A draft left alone for
:data:`DRAFT_TIMEOUT` expires: the next answer is told so and ends it. The expiry is checked
when the coordinator comes back, not by a timer, so no process has to stay up to keep one.

The draft lives in the database (:mod:`bot.store.drafts`), so any web process can take the
coordinator's next update. Each update reads the draft, finds what its step takes
(:attr:`Announce.steps`; what no step takes goes on to the other handlers), claims the draft
(one conditional UPDATE: of two updates at once, in one process or two, one goes on and the
other is told to wait), runs the step and stores the draft as the step left it. "Send now"
and "Create schedule" end the draft in the transaction that stores the broadcast or the
schedule, so a draft goes out once. A process that dies during a step leaves the draft busy
for :data:`BUSY_LEASE`.

Its buttons' data is ``co:<draft>:<step>[:n]`` (see :mod:`bot.telegram.coordinators`).

The state machine, its texts and its steps stay in one module (about 520 lines), so that each
step reads beside the states that route to it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Final, Literal, cast

from sqlalchemy import Connection
from telegram import Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.core.audience import Audience
from bot.core.catalog import Catalog
from bot.core.decision import Button, Channel
from bot.core.phones import mask
from bot.core.schedule import (
    RuleError,
    describe,
    format_fire,
    next_fires,
    parse_rule,
    rule_from_dict,
    rule_to_dict,
)
from bot.outreach import coordinate
from bot.store import drafts
from bot.store.draft_models import DraftReach, DraftStep
from bot.store.drafts import AnnounceDraft
from bot.store.units import Units
from bot.telegram import _chat
from bot.telegram._chat import Context, Handler

log = logging.getLogger(__name__)

END: Final = "end"
Next = DraftStep | Literal["end"] | None  # the step to go to; None: stay at this one
Step = Callable[[Update, AnnounceDraft], Coroutine[Any, Any, Next]]
Match = Callable[[Update], bool]

# How long a draft waits for the coordinator's next answer.
DRAFT_TIMEOUT = timedelta(minutes=30)
# How long one step may hold a draft: longer than any step takes (queueing a broadcast to a
# whole town, a slow Bot API), short enough that a process dying mid-step holds it up little.
BUSY_LEASE = timedelta(minutes=2)
# Twilio refuses longer bodies; the announcement may go by SMS.
TEXT_MAX = 1600
NEXT_SHOWN = 3

TEXT_EN: Final = "text_en"
TEXT_UR: Final = "text_ur"
AUDIENCE: Final = "audience"
PREVIEW: Final = "preview"
WHEN: Final = "when"
CONFIRM: Final = "confirm"

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
BUSY = "Still working on your last answer."
BUSY_MESSAGE = "Still working on your last answer; please send that again in a moment."
NOTHING_TO_CANCEL = "There is nothing to cancel."


class _Gone(Exception):
    """The draft was ended or replaced while a step was taking it."""


def _message(kind: filters.BaseFilter) -> Match:
    return lambda update: update.callback_query is None and bool(kind.check_update(update))


def _button(action: str) -> Match:
    """A press of this draft step's button (``co:<draft>:<action>``, ``action`` a regex)."""
    pattern = re.compile(f"{_DRAFT}(?:{action})")

    def match(update: Update) -> bool:
        query = update.callback_query
        return query is not None and pattern.fullmatch(query.data or "") is not None

    return match


async def _nothing(update: Update, context: Context) -> None:
    """Never called: :data:`_CANCEL` only tells a ``/cancel`` as PTB reads commands."""


_CANCEL: Handler = CommandHandler("cancel", _nothing, filters=_PRIVATE)


def _cancel_command(update: Update) -> bool:
    check = _CANCEL.check_update(update)
    return not (check is None or check is False)


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
        text, anything = _message(_TEXT), _message(_ANY_MESSAGE)
        # What each step takes, in order; then, at any step, /cancel and Cancel.
        self.steps: dict[DraftStep, tuple[tuple[Match, Step], ...]] = {
            TEXT_EN: ((text, self._got_english), (anything, self._text_only)),
            TEXT_UR: (
                (text, self._got_urdu),
                (_button("skip"), self._skip_urdu),
                (anything, self._text_only),
            ),
            AUDIENCE: (
                (_button("ch:[a-z]+|t:[0-9]+"), self._audience),
                (_button("preview"), self._preview),
                (anything, self._use_buttons),
            ),
            PREVIEW: (
                (_button("send"), self._send_now),
                (_button("when"), self._ask_when),
                (anything, self._use_buttons),
            ),
            WHEN: ((text, self._got_when), (anything, self._text_only)),
            CONFIRM: (
                (_button("create"), self._create),
                # Typing another time instead of confirming replaces the time.
                (text, self._got_when),
                (anything, self._use_buttons),
            ),
        }
        self._anywhere: tuple[tuple[Match, Step], ...] = (
            (_cancel_command, self._cancel),
            (_button("cancel"), self._cancel),
        )

    def handlers(self) -> list[Handler]:
        """For a group of their own, before the other coordinator and resident handlers:
        ``/announce``, and every update of a coordinator with a draft open that its step
        takes (handled there: it never reaches the inbox). Anything else goes on to the next
        group."""
        coordinators = _PRIVATE & filters.User(user_id=self.ids)
        return [
            CommandHandler("announce", self._start, filters=coordinators),
            MessageHandler(coordinators & filters.UpdateType.MESSAGE, self._on_update),
            CallbackQueryHandler(self._on_update, pattern=f"^{_DRAFT}"),
        ]

    async def _start(self, update: Update, context: Context) -> None:
        user_id, message = _chat.user_id(update), update.effective_message
        if user_id is None or message is None:
            return
        token, now = secrets.token_hex(4), _chat.now()
        started = await self._units.run(
            lambda conn: drafts.start_draft(conn, user_id, token, TEXT_EN, now)
        )
        if not started:  # its step, when it ends, would end the new one too
            await _chat.say(update, BUSY_MESSAGE)
        else:
            await message.reply_text(ASK_EN.format(max=TEXT_MAX))
        raise ApplicationHandlerStop

    async def _on_update(self, update: Update, context: Context) -> None:
        user_id = _chat.user_id(update)
        if user_id is None or user_id not in self.ids:
            return  # a draft's button pressed by someone else: refused by a later group
        draft = await self._units.run(lambda conn: drafts.get_draft(conn, user_id))
        step = self._step_for(update, draft) if draft is not None else None
        if draft is None or step is None:
            return
        await self._take(update, draft, step)
        raise ApplicationHandlerStop

    def _step_for(self, update: Update, draft: AnnounceDraft) -> Step | None:
        for match, step in (*self.steps[draft.step], *self._anywhere):
            if match(update):
                return step
        return None

    async def _take(self, update: Update, draft: AnnounceDraft, step: Step) -> None:
        """Run ``step`` on the caller's draft, and store what it made of it.

        Every press is answered, once. A button of another draft is turned away; a draft left
        alone too long is dropped. A press or message that comes while a step still runs (in
        this process or another) is turned away, so "Send now" pressed twice sends once.
        """
        query, now = update.callback_query, _chat.now()
        if now - draft.touched_at > self.timeout:
            await self._drop(draft)
            await _chat.answer(update, None)
            await _chat.close(update)
            minutes = int(self.timeout.total_seconds() // 60)
            await _chat.say(update, EXPIRED.format(minutes=minutes))
            return
        if query is not None and not (query.data or "").startswith(f"co:{draft.token}:"):
            await _chat.answer(update, STALE)
            return
        until = now + BUSY_LEASE
        if draft.busy(now) or not await self._units.run(
            lambda conn: drafts.claim_draft(conn, draft, now, until)
        ):
            await (_chat.answer(update, BUSY) if query else _chat.say(update, BUSY_MESSAGE))
            return
        try:
            await _chat.answer(update, None)
            to = await step(update, draft)
        except _Gone:  # ended or replaced while the step ran (its lease ran out): nothing stored
            await _chat.say(update, STALE)
            return
        except Exception:
            await self._release(draft)
            raise
        if to != END:
            draft.step = to or draft.step
            await self._units.run(lambda conn: drafts.save_draft(conn, draft))

    async def _release(self, draft: AnnounceDraft) -> None:
        """Free the draft as it was before a step that failed (its lease frees it otherwise)."""
        try:
            await self._units.run(lambda conn: drafts.release_draft(conn, draft))
        except Exception as exc:
            log.warning(
                "the draft of %s stays busy until %s: %s",
                mask(str(draft.user_id)),
                draft.busy_until,
                type(exc).__name__,
            )

    async def _drop(self, draft: AnnounceDraft) -> None:
        """End ``draft`` (and not a newer one of the same coordinator)."""
        await self._units.run(lambda conn: drafts.drop_draft(conn, draft))

    def _ends(self, draft: AnnounceDraft) -> Callable[[Connection], None]:
        """What ends ``draft`` in the transaction that stores what it made; :class:`_Gone`
        when it was ended or replaced meanwhile (then that transaction stores nothing)."""

        def end(conn: Connection) -> None:
            if not drafts.drop_draft(conn, draft):
                raise _Gone

        return end

    async def _got_english(self, update: Update, draft: AnnounceDraft) -> Next:
        text = _chat.text_of(update)
        if len(text) > TEXT_MAX:
            await _chat.say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_en = text
        await _chat.say(update, ASK_UR, ((Button("Skip", f"co:{draft.token}:skip"),),))
        return TEXT_UR

    async def _got_urdu(self, update: Update, draft: AnnounceDraft) -> Next:
        text = _chat.text_of(update)
        if len(text) > TEXT_MAX:
            await _chat.say(update, TOO_LONG.format(n=len(text), max=TEXT_MAX))
            return None
        draft.text_ur = text
        await _chat.say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _skip_urdu(self, update: Update, draft: AnnounceDraft) -> Next:
        draft.text_ur = None
        await _chat.edit(update, "Urdu: skipped (Urdu speakers get the English text).")
        await _chat.say(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    async def _audience(self, update: Update, draft: AnnounceDraft) -> Next:
        _, what, arg = _draft_parts(update)
        if what == "ch" and arg in _REACH:
            draft.reach = cast(DraftReach, arg)
        elif what == "t" and arg.isdigit() and int(arg) < len(self._catalog.interests):
            draft.topics = sorted(set(draft.topics) ^ {self._catalog.interests[int(arg)].id})
        await _chat.edit(update, ASK_AUDIENCE, self._audience_buttons(draft))
        return AUDIENCE

    def _audience_buttons(self, draft: AnnounceDraft) -> tuple[tuple[Button, ...], ...]:
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

    def _as_draft(self, draft: AnnounceDraft) -> coordinate.Draft:
        topics = tuple(c.id for c in self._catalog.interests if c.id in draft.topics)
        audience = Audience(
            channels=_REACH[draft.reach][0],
            topics=frozenset(topics),
            both_channels=self._settings.broadcast_both_channels,
        )
        return coordinate.Draft(draft.text_en, draft.text_ur, audience, topics)

    def _audience_text(self, draft: AnnounceDraft) -> str:
        names = [c.label.en for c in self._catalog.interests if c.id in draft.topics]
        topics = f"; only people following {', '.join(names)}" if names else ""
        reach = _REACH[draft.reach][2]
        if draft.reach == "all" and self._settings.broadcast_both_channels:
            reach = "everyone, on Telegram and by SMS"
        return f"To: {reach}{topics}"

    async def _preview(self, update: Update, draft: AnnounceDraft) -> Next:
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

    async def _send_now(self, update: Update, draft: AnnounceDraft) -> Next:
        user_id = _chat.user_id(update)
        sent = await coordinate.send_now(
            self._units,
            self._settings,
            self._as_draft(draft),
            _chat.now(),
            by=f"telegram:{user_id}",
            first=self._ends(draft),
        )
        await _chat.close(update)
        await _chat.say(
            update,
            f"Sent: broadcast #{sent.broadcast_id}, {sent.queued:,} messages queued. "
            f"/report {sent.broadcast_id} shows how it goes.",
        )
        return END

    async def _ask_when(self, update: Update, draft: AnnounceDraft) -> Next:
        await _chat.close(update)
        await _chat.say(update, ASK_WHEN.format(tz=self._settings.timezone))
        return WHEN

    async def _got_when(self, update: Update, draft: AnnounceDraft) -> Next:
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
        draft.rule = rule_to_dict(rule)
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

    async def _create(self, update: Update, draft: AnnounceDraft) -> Next:
        user_id, stored = _chat.user_id(update), draft.rule
        assert stored is not None  # CONFIRM is reached only with a rule
        info = await coordinate.add_schedule(
            self._units,
            self._as_draft(draft),
            rule_from_dict(stored),
            _chat.now(),
            by=f"telegram:{user_id}",
            first=self._ends(draft),
        )
        await _chat.close(update)
        upcoming = ", ".join(format_fire(t) for t in info.next_times) or "none"
        await _chat.say(
            update,
            f"Schedule #{info.id} created: {info.description}.\nNext: {upcoming}\n"
            "/schedules pauses or removes it.",
        )
        return END

    async def _cancel(self, update: Update, draft: AnnounceDraft) -> Next:
        await self._drop(draft)
        await _chat.close(update)
        await _chat.say(update, CANCELLED)
        return END

    async def _text_only(self, update: Update, draft: AnnounceDraft) -> Next:
        await _chat.say(update, TEXT_ONLY)
        return None

    async def _use_buttons(self, update: Update, draft: AnnounceDraft) -> Next:
        await _chat.say(update, USE_BUTTONS)
        return None


def _ticked(label: str, ticked: bool) -> str:
    return _TICK + label if ticked else label


def _draft_parts(update: Update) -> tuple[str, str, str]:
    """``(draft, step, argument)`` of a ``co:<draft>:<step>[:<argument>]`` button."""
    data = update.callback_query.data if update.callback_query else None
    _, token, rest = (data or "").split(":", 2)
    step, _, arg = rest.partition(":")
    return token, step, arg
