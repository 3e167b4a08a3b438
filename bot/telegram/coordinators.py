"""Telegram commands for the park's coordinators: ``/announce``, ``/schedules``, ``/report``,
``/login`` (a one-time link to the web console, for a console account with this Telegram id).

Only Telegram users in ``COORDINATOR_TELEGRAM_IDS`` may use them. Anyone else who sends one of
these commands, or presses one of these buttons, gets a short refusal (in their language) and
nothing is stored. The commands are in the coordinators' own command menus only (a per-chat
scope), never in the residents'. The work itself is :mod:`bot.outreach.coordinate`, shared
with the CLI; these modules ask, show and pass on, with ``now`` read at the edge.
``/announce`` is its own conversation, in :mod:`bot.telegram.announce`.

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
from datetime import datetime, timedelta
from typing import Final

from telegram import Bot, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.config import Settings
from bot.core.catalog import Catalog, Lang, LocalText
from bot.core.decision import Button
from bot.core.menus import commands_for, shorten
from bot.core.phones import mask
from bot.core.schedule import format_fire
from bot.outreach import accounts, coordinate, reporting
from bot.store import contacts
from bot.store import coordinators as coordinator_accounts
from bot.store.units import Units
from bot.telegram import _chat
from bot.telegram._chat import Context, Handler
from bot.telegram.announce import BUSY, DRAFT_TIMEOUT, NOTHING_TO_CANCEL, STALE, Announce

__all__ = ["BUSY", "NOT_ALLOWED", "STALE", "Coordinators", "register_menus"]

log = logging.getLogger(__name__)

SCHEDULES_SHOWN = 20
REPORTS_SHOWN = 5

COMMANDS: Final = (
    ("announce", "Write an announcement, then send or schedule it"),
    ("schedules", "Scheduled announcements: pause, resume, remove"),
    ("report", "What the latest broadcasts delivered (/report ID: one)"),
    ("login", "A one-time link to sign in to the web console"),
)
NOT_ALLOWED = LocalText(
    "Sorry, this command is only for the park's coordinators.",
    "معذرت، یہ کمانڈ صرف پارک کے کوآرڈینیٹرز کے لیے ہے۔",
)

_PRIVATE = filters.ChatType.PRIVATE
_SCHEDULE_DATA = re.compile(r"co:s:([prxy]):([0-9]{1,18})")


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
        self.announce = Announce(units, settings, catalog, timeout=timeout)
        self._units = units
        self._settings = settings

    def handlers(self) -> list[Handler]:
        """Handlers for one group, in order, to add before the residents' handlers (and after
        :attr:`announce`'s, in a group of their own before this one, so a coordinator's
        answers to a draft never reach the inbox).

        The refusals come last, so only commands and buttons of ours that no one else took
        get one.
        """
        coordinators = _PRIVATE & filters.User(user_id=self.ids)
        return [
            # Outside a draft /cancel is still ours for a coordinator: the inbox would
            # read it as CANCEL, an opt-out.
            CommandHandler("cancel", self._nothing_to_cancel, filters=coordinators),
            CommandHandler("schedules", self._schedules, filters=coordinators),
            CommandHandler("report", self._report, filters=coordinators),
            # Console accounts may differ from COORDINATOR_TELEGRAM_IDS: the account decides.
            CommandHandler("login", self._login, filters=_PRIVATE),
            CallbackQueryHandler(self._schedule_button, pattern=r"^co:s:"),
            CallbackQueryHandler(self._stale_button, pattern=r"^co:"),
            CommandHandler(["announce", "schedules", "report"], self.refuse, filters=_PRIVATE),
        ]

    # -- /announce --------------------------------------------------------------------------

    async def _nothing_to_cancel(self, update: Update, context: Context) -> None:
        await _chat.say(update, NOTHING_TO_CANCEL)

    async def _stale_button(self, update: Update, context: Context) -> None:
        """A ``co:`` button no open draft took: an old draft's, or not a coordinator's."""
        if _chat.user_id(update) in self.ids:
            await _chat.answer(update, STALE)
        else:
            await self.refuse(update, context)

    # -- /schedules -------------------------------------------------------------------------

    async def _schedules(self, update: Update, context: Context) -> None:
        text, buttons = await self._schedule_list(_chat.now())
        await _chat.say(update, text, buttons)

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
        query, user_id = update.callback_query, _chat.user_id(update)
        if query is None:
            return
        if user_id not in self.ids:
            await self.refuse(update, context)
            return
        now = _chat.now()
        found = _SCHEDULE_DATA.fullmatch(query.data or "")
        if found is None:  # co:s:list, or data we never sent
            await _chat.answer(update, None)
            await _chat.edit(update, *await self._schedule_list(now))
            return
        action, schedule_id = found.group(1), int(found.group(2))
        if action == "x":
            info = await coordinate.get_schedule(self._units, schedule_id, now)
            if info is not None:
                await _chat.answer(update, None)
                await _chat.edit(
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
            removed = await coordinate.remove_schedule(
                self._units, schedule_id, by=f"telegram:{user_id}"
            )
            note = f"Schedule #{schedule_id} " + ("removed." if removed else "no longer exists.")
        else:
            enabled = action == "r"
            changed = await coordinate.set_schedule_enabled(
                self._units, schedule_id, enabled, now, by=f"telegram:{user_id}"
            )
            done = "resumed" if enabled else "paused"
            note = f"Schedule #{schedule_id} " + (done if changed else "no longer exists") + "."
        await _chat.answer(update, note)
        await _chat.edit(update, *await self._schedule_list(now, note))

    # -- /report ----------------------------------------------------------------------------

    async def _report(self, update: Update, context: Context) -> None:
        args = context.args or []
        tz = self._settings.timezone
        if not args:
            reports = await reporting.list_reports(self._units, limit=REPORTS_SHOWN)
            if not reports:
                await _chat.say(update, "No broadcasts yet.")
                return
            blocks = ["\n".join(reporting.report_lines(r, tz)) for r in reports]
            head = "Latest broadcasts, newest first (/report ID shows one):"
            await _chat.say(update, "\n\n".join([head, *blocks]))
            return
        wanted = args[0].lstrip("#")
        if len(args) > 1 or not wanted.isdigit() or len(wanted) > 18:
            await _chat.say(
                update, "Send /report for the latest broadcasts, or /report 12 for one."
            )
            return
        report = await reporting.get_report(self._units, int(wanted))
        if report is None:
            await _chat.say(update, f"There is no broadcast #{int(wanted)}.")
            return
        await _chat.say(update, "\n".join(reporting.report_lines(report, tz)))

    # -- /login -----------------------------------------------------------------------------

    async def _login(self, update: Update, context: Context) -> None:
        """A one-time console link for the coordinator account with this Telegram id."""
        user = _chat.user_id(update)
        account = None
        if user is not None:
            account = await self._units.run(lambda c: coordinator_accounts.by_telegram_id(c, user))
        if account is None:
            await self.refuse(update, context)
            return
        minutes = self._settings.console_link_minutes
        token = await accounts.make_link(self._units, account, _chat.now(), minutes)
        path = f"/login/{token}"
        root = self._settings.console_url
        where = f"{root}{path}" if root else f"/console{path} on the console's address"
        log.info("console sign-in link sent to coordinator %s", mask(str(user)))
        await _chat.say(
            update,
            f"Your sign-in link for the console (works once, for {minutes:g} minutes):\n{where}",
        )

    # -- everyone else ----------------------------------------------------------------------

    async def refuse(self, update: Update, context: Context) -> None:
        """The refusal, in the person's language; nothing is stored."""
        user = update.effective_user
        chat = update.effective_chat
        log.info("coordinator command refused for user %s", mask(str(user.id) if user else "-"))
        if update.callback_query is not None:
            await _chat.answer(update, NOT_ALLOWED.get(_lang(user.language_code if user else None)))
            return
        lang = _lang(user.language_code if user else None)
        if chat is not None:
            address = str(chat.id)
            contact = await self._units.run(
                lambda conn: contacts.get_contact(conn, "telegram", address)
            )
            if contact is not None and contact.language is not None:
                lang = contact.language
        await _chat.say(update, NOT_ALLOWED.get(lang))


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
