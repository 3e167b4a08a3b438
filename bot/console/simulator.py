"""The simulator: a coordinator texts the bot as a resident would, on SMS or Telegram, and
sees its answer on the page, as in RapidPro, to try a new answer before residents do.

Each message goes through the pipeline ``outreach chat`` uses (:func:`bot.outreach.chat.exchange`:
the real :class:`~bot.outreach.inbox.Inbox`, its matcher, guards, hand-over and outbox), but
never through the real residents' records nor out to anyone:

* its own **scratch database**, a SQLite file in a temporary folder made (and migrated) the
  first time the simulator is used and deleted when the app stops. Pretend residents, their
  subscriptions, opt-outs, guards and hand-over threads live there: they never show among
  the real subscribers, audiences, reports or the inbox, and a pretend number that happens
  to be a real resident's touches nothing of theirs. (A reserved range of numbers in the real
  database would have put pretend subscribers into real audiences, which a live broadcast
  would then text, and into every count.)
* its **own senders**: the runtime is opened with ``simulate=True``, so every channel is the
  :class:`~bot.channels.simulator.SimulatorChannel`, whatever providers are configured, and
  no Telegram bot is started (nor the coordinators' hand-over notices);
* the **coordinators' answers** are the real ones: before each message the real database's
  added answers are mirrored into the scratch one (:func:`bot.store.answers.mirror`) and the
  matcher re-read when they changed, so an answer added a second ago is answered at once.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.app.runtime import Runtime, open_runtime
from bot.config import Settings
from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.core.decision import Channel
from bot.core.phones import InvalidPhoneNumber, to_e164
from bot.core.segments import count_segments
from bot.outreach import chat
from bot.outreach.inbound import Outcome
from bot.store import answers, contacts, transcripts
from bot.store.migrate import upgrade

log = logging.getLogger(__name__)

# How many of the pretend resident's messages the page shows.
HISTORY = 20
CHANNELS: dict[str, Channel] = {"sms": "sms", "telegram": "telegram"}


class Simulator:
    """The scratch database and simulator-only runtime, opened on first use."""

    def __init__(self, settings: Settings, real: Runtime) -> None:
        self._settings = settings
        self._real = real
        self._lock = asyncio.Lock()
        self._stack: AsyncExitStack | None = None
        self._folder: Path | None = None
        self._rt: Runtime | None = None

    @property
    def opened(self) -> Runtime | None:
        """The simulator's runtime, if it was used already."""
        return self._rt

    async def runtime(self) -> Runtime:
        async with self._lock:
            if self._rt is None:
                self._rt = await self._open()
            return self._rt

    async def _open(self) -> Runtime:
        folder = Path(tempfile.mkdtemp(prefix="outreach-simulator-"))
        stack = AsyncExitStack()
        try:
            url = f"sqlite+aiosqlite:///{folder / 'simulator.db'}"
            await upgrade(url)
            settings = self._settings.model_copy(update={"database_url": url})
            rt = await stack.enter_async_context(
                open_runtime(settings, simulate=True, catalog=self._real.catalog)
            )
        except BaseException:
            await stack.aclose()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._stack, self._folder = stack, folder
        log.info("simulator: scratch database opened")
        return rt

    async def send(self, channel: Channel, address: str, text: str) -> Outcome:
        """``text`` from the pretend resident at ``address``, answered as a resident would be."""
        sim = await self.runtime()
        now = utcnow()
        real_answers = await self._real.units.run(answers.list_answers)
        live = sim.inbox.live

        def mirror(conn: Connection) -> None:
            if answers.mirror(conn, real_answers, now) and live is not None:
                live.refresh(conn, now)

        await sim.units.run(mirror)
        return await chat.exchange(
            sim.inbox, sim.units, sim.catalog, sim.senders[channel], channel, address, text, now
        )

    async def history(self, channel: Channel, address: str) -> list[transcripts.Line]:
        """The pretend resident's last messages both ways (none before the first message)."""
        sim = self._rt
        if sim is None:
            return []

        def load(conn: Connection) -> list[transcripts.Line]:
            found = contacts.get_contact(conn, channel, address)
            if found is None:
                return []
            return transcripts.history(conn, found.contact_id, limit=HISTORY)

        return await sim.units.run(load)

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._stack = self._folder = self._rt = None


@dataclass(frozen=True)
class Pretend:
    """Who the coordinator pretends to be."""

    channel: Channel
    address: str


class Problem(ValueError):
    """What the coordinator typed can't be sent; the message says why."""


def _simulator(request: Request) -> Simulator:
    sim: Simulator = request.app.state.simulator
    return sim


def _default_address(request: Request, channel: Channel) -> str:
    """Each coordinator a pretend resident of their own (in the scratch database only)."""
    n = me(request).id % 100_000
    return f"+9230000{n:05d}" if channel == "sms" else str(900_000_000 + n)


def _defaults(request: Request) -> dict[str, str]:
    return {channel: _default_address(request, channel) for channel in CHANNELS.values()}


def _pretend(request: Request, values: dict[str, str]) -> Pretend:
    channel = CHANNELS.get(values.get("channel") or "sms")
    if channel is None:
        raise Problem("Choose SMS or Telegram.")
    address = values.get("address", "").strip() or _default_address(request, channel)
    if channel == "sms":
        try:
            address = to_e164(address, runtime(request).settings.phone_region)
        except InvalidPhoneNumber as exc:
            raise Problem(f"'{address}' is not a phone number.") from exc
    elif not address.lstrip("-").isdigit() or len(address) > 20:
        raise Problem(f"'{address}' is not a Telegram chat id (digits only).")
    return Pretend(channel, address)


def _htmx(request: Request) -> bool:
    return "hx-request" in request.headers


async def _page(
    request: Request,
    who: Pretend,
    typed: str,
    *,
    outcome: Outcome | None = None,
    sent: str | None = None,
) -> Response:
    lines = await _simulator(request).history(who.channel, who.address)
    info = None
    if outcome is not None and outcome.reply is not None and who.channel == "sms":
        info = count_segments(outcome.reply.text)
    return render(
        request,
        "simulator_result.html" if _htmx(request) else "simulator.html",
        channel=who.channel,
        address=who.address,
        typed=typed,
        defaults=_defaults(request),
        lines=lines,
        outcome=outcome,
        sent=sent,
        info=info,
        why=chat.why(outcome) if outcome is not None else None,
    )


def _refused(request: Request, values: dict[str, str], problem: Problem) -> Response:
    """The form again with the problem; htmx swaps only a 200 in, so it gets one."""
    return render(
        request,
        "simulator_result.html" if _htmx(request) else "simulator.html",
        200 if _htmx(request) else 400,
        channel=values.get("channel") or "sms",
        address=None,
        typed=values.get("address", ""),
        defaults=_defaults(request),
        lines=[],
        error=str(problem),
        text=values.get("text", ""),
    )


@page
async def simulator(request: Request) -> Response:
    values = dict(request.query_params)
    try:
        who = _pretend(request, values)
    except Problem as exc:
        return _refused(request, values, exc)
    return await _page(request, who, values.get("address", ""))


@page
async def send(request: Request) -> Response:
    fields = await form_fields(request)
    try:
        who = _pretend(request, fields)
        if not fields.get("text", "").strip():
            raise Problem("Type a message to send to the bot.")
    except Problem as exc:
        return _refused(request, fields, exc)
    text = fields["text"]
    outcome = await _simulator(request).send(who.channel, who.address, text)
    return await _page(request, who, fields.get("address", ""), outcome=outcome, sent=text)


routes = [
    Route("/simulator", simulator, methods=["GET"]),
    Route("/simulator", send, methods=["POST"]),
]
