"""Builds the running parts once, from settings, for the web app and the CLI alike."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.base import Sender
from bot.channels.simulator import SimulatorChannel
from bot.config import Settings
from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.decision import Channel
from bot.core.guards import GuardLimits
from bot.core.keywords import Matcher
from bot.outreach.answers import LiveCatalog
from bot.outreach.handover import Handover
from bot.outreach.inbox import Inbox
from bot.outreach.providers import Providers
from bot.outreach.replies import build_replies
from bot.store.engine import create_engine
from bot.store.units import Units


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    catalog: Catalog
    matcher: Matcher
    inbox: Inbox
    units: Units
    senders: dict[Channel, Sender]
    handover: Handover
    telegram: TelegramBot | None = None
    # Counts the sends and keeps each provider's health (/healthz); the worker run beside the
    # web endpoints shares it.
    providers: Providers = field(default_factory=Providers)


if TYPE_CHECKING:
    from bot.telegram.residents import TelegramBot

log = logging.getLogger(__name__)


def sandbox_senders() -> dict[Channel, Sender]:
    """Simulator channels for every channel: what sandbox mode sends through."""
    return {"sms": SimulatorChannel("sms"), "telegram": SimulatorChannel("telegram")}


async def _sms_sender(settings: Settings, stack: AsyncExitStack) -> Sender:
    """The SMS provider the settings choose; clients are closed when ``stack`` closes."""
    choice = settings.sms_sender
    if choice == "twilio":
        from bot.channels.twilio import TwilioSMS, build_twilio_client, close_twilio_client

        client = await build_twilio_client(settings)
        stack.push_async_callback(close_twilio_client, client)
        return TwilioSMS.from_settings(client, settings)
    if choice == "smsgate":
        from bot.channels.smsgate import SMSGate, build_smsgate_client, close_smsgate_client

        gate = build_smsgate_client(settings)
        stack.push_async_callback(close_smsgate_client, gate)
        return SMSGate(gate)
    return SimulatorChannel("sms")


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    simulate: bool = False,
    catalog: Catalog | None = None,
    matcher: Matcher | None = None,
) -> AsyncIterator[Runtime]:
    """Load content (raises ``ContentError`` when invalid), connect the database, wire the inbox.

    The database must already be migrated (``outreach db upgrade``). With ``simulate`` every
    channel is the simulator whatever the credentials (``outreach chat`` never texts anyone).
    A ``catalog`` the caller already loaded is used as it is, and so is its ``matcher``.
    """
    if catalog is None:
        catalog, matcher = load_catalog(settings.content_dir), None
    if matcher is None:
        matcher = Matcher.from_catalog(catalog)
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        senders = sandbox_senders()
        if not simulate:
            senders["sms"] = await _sms_sender(settings, stack)
            log.info("sms replies go through %s", settings.sms_sender)
        units = Units(engine)
        stack.callback(units.close)
        providers = Providers()
        inbox = Inbox(
            units,
            catalog,
            matcher,
            sms_max_segments=settings.sms_max_segments,
            contact_line=settings.park_contact_line,
            phone_region=settings.phone_region,
            limits=GuardLimits(
                replies_per_hour=settings.sms_replies_per_hour,
                loop_repeats=settings.loop_guard_repeats,
            ),
            loop_window=timedelta(minutes=settings.loop_guard_minutes),
            live=LiveCatalog(catalog, matcher),
            office=settings.office,
            outbox=build_replies(units, settings, providers),
        )
        # Coordinators' replies go out on the resident's channel: the senders dict is shared,
        # so the Telegram channel added below is the one they use.
        handover = Handover(units, inbox, senders, sms_max_segments=settings.sms_max_segments)
        telegram = None
        if not simulate and settings.telegram_bot_token is not None:
            # Imported here: python-telegram-bot is heavy, and `outreach chat` never needs it.
            from bot.telegram.residents import TelegramBot

            telegram = TelegramBot.create(
                settings, inbox=inbox, catalog=catalog, units=units, handover=handover
            )
            senders["telegram"] = telegram.channel
        elif not simulate:
            log.info("telegram is off: TELEGRAM_BOT_TOKEN is not set")
        yield Runtime(
            settings=settings,
            telegram=telegram,
            engine=engine,
            catalog=catalog,
            matcher=matcher,
            inbox=inbox,
            units=units,
            senders=senders,
            handover=handover,
            providers=providers,
        )
