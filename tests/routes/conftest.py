"""The running app, served over real HTTP, with fake providers beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from bot.app.runtime import Runtime
from bot.config import Settings
from bot.store.engine import session_factory
from bot.store.models import Contact, Message
from fakes.server import aserve
from fakes.smsgate_api import FakeSMSGate
from fakes.telegram_api import FakeTelegram
from fakes.twilio_api import FakeTwilio
from tests.apps import app_for

REPO = Path(__file__).resolve().parents[2]
PUBLIC = "https://outreach.example.org"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-token"
SIGNING_KEY = "gateway-signing-key"


@dataclass
class Served:
    url: str  # where the app really listens (what a proxy forwards to)
    app: Starlette

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.app.state.runtime
        return rt

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        # Reads for assertions only: the app itself reaches the database through Units.
        return session_factory(self.runtime.engine)

    async def count(self, model: type[Any]) -> int:
        async with self.sessions.begin() as s:
            return await s.scalar(select(func.count()).select_from(model)) or 0

    async def messages(self) -> list[Message]:
        async with self.sessions.begin() as s:
            return list((await s.scalars(select(Message).order_by(Message.id))).all())

    async def contact(self, address: str) -> Contact:
        async with self.sessions.begin() as s:
            return (await s.scalars(select(Contact).where(Contact.address == address))).one()


def make_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "content_dir": REPO / "content",
        "public_base_url": PUBLIC,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_from_number": "+15005550006",
        "smsgate_signing_key": SIGNING_KEY,
        # No quiet hours, so announcement tests pass at any time of day.
        "quiet_hours_start": time(0, 0),
        "quiet_hours_end": time(0, 0),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


ServeApp = Callable[..., Any]


@asynccontextmanager
async def served(db_url: str, **overrides: Any) -> AsyncIterator[Served]:
    """The app with ``make_settings(db_url, **overrides)``, served until the block ends."""
    app = app_for(make_settings(db_url, **overrides))
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)


@pytest.fixture
async def fake_twilio() -> AsyncIterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    async with aserve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def fake_gate() -> AsyncIterator[tuple[FakeSMSGate, str]]:
    fake = FakeSMSGate("gate-user", "gate-pass", SIGNING_KEY)
    async with aserve(fake.app) as url:
        yield fake, url + fake.prefix


@pytest.fixture
async def twilio_app(db_url: str, fake_twilio: tuple[FakeTwilio, str]) -> AsyncIterator[Served]:
    """The app with Twilio as the SMS provider, behind a (pretend) proxy at ``PUBLIC``."""
    _, api = fake_twilio
    app = app_for(make_settings(db_url, twilio_api_base_url=api))
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)


@pytest.fixture
async def gate_app(db_url: str, fake_gate: tuple[FakeSMSGate, str]) -> AsyncIterator[Served]:
    """The app with the SMSGate phone as the SMS provider."""
    _, api = fake_gate
    settings = make_settings(
        db_url,
        twilio_account_sid=None,
        twilio_auth_token=None,
        smsgate_url=api,
        smsgate_username="gate-user",
        smsgate_password="gate-pass",
    )
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)


BOT_TOKEN = "7000000001:AAFakeTokenForTests_0123456789"


@pytest.fixture
async def fake_telegram() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram(BOT_TOKEN)
    async with aserve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def telegram_app(
    db_url: str, fake_telegram: tuple[FakeTelegram, str]
) -> AsyncIterator[Served]:
    """The app with a Telegram bot in webhook mode (``PUBLIC_BASE_URL`` is set)."""
    _, api = fake_telegram
    settings = make_settings(db_url, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=api)
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)
