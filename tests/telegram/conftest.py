"""The coordinators' commands are driven over the webhook, with the routes' fakes and app."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.apps import app_for
from tests.routes.conftest import BOT_TOKEN, Served, fake_telegram, make_settings

__all__ = ["fake_telegram", "serve_app"]


@pytest.fixture
def fake(fake_telegram: tuple[FakeTelegram, str]) -> FakeTelegram:
    return fake_telegram[0]


@pytest.fixture
def ids() -> Iterator[int]:
    """Update ids, shared by everyone talking to the bot in a test."""
    return itertools.count(1)


@asynccontextmanager
async def serve_app(db_url: str, api: str, **overrides: Any) -> AsyncIterator[Served]:
    """The app in webhook mode against the fake Bot API at ``api``, with no worker: what is
    queued stays queued, and nothing tries to reach an SMS provider."""
    settings = make_settings(
        db_url,
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base_url=api,
        run_worker=False,
        **overrides,
    )
    served = app_for(settings)
    async with aserve(served, lifespan="on") as url:
        yield Served(url, served)
