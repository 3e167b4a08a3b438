"""Each channel stands alone: Telegram down or refusing the token at start-up leaves `serve`
up, SMS answering, and Telegram retried with backoff until it comes back."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from fakes import telegram_api as tg
from fakes.http import client as http_client
from fakes.server import aserve
from fakes.telegram_api import FakeTelegram
from tests.apps import app_for
from tests.conftest import eventually
from tests.routes.conftest import BOT_TOKEN, Served, make_settings
from tests.routes.test_sms_twilio import form, post, reply_of

pytestmark = pytest.mark.sqlite_only


async def health(app: Served) -> dict[str, Any]:
    async with http_client() as client:
        answer = await client.get(app.url + "/healthz")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


async def update(fake: FakeTelegram, app: Served, update_id: int) -> int:
    message = tg.message_update(update_id, 5001, "jobs")
    return (await fake.post_update(app.url + "/telegram/webhook", message)).status_code


@asynccontextmanager
async def serve(db_url: str, api: str) -> AsyncIterator[Served]:
    """The app with Telegram's Bot API at ``api``, retried every 0.05 s at first."""
    settings = make_settings(
        db_url, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=api, telegram_retry_seconds=0.05
    )
    app = app_for(settings)
    async with aserve(app, lifespan="on") as url:
        yield Served(url, app)


async def health_ok(app: Served) -> bool:
    return (await health(app))["status"] == "ok"


async def test_a_rejected_token_leaves_sms_up_and_telegram_is_retried_until_it_works(
    fake_telegram: tuple[FakeTelegram, str], db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, api = fake_telegram
    fake.fail_next(10_000, 401, method="getMe")  # InvalidToken, until the faults are cleared
    caplog.set_level(logging.INFO)
    async with serve(db_url, api) as app:
        first = await health(app)
        assert first["status"] == "degraded"
        telegram = first["channels"]["telegram"]
        assert telegram["state"] == "degraded"
        assert telegram["reason"].startswith("InvalidToken")
        assert BOT_TOKEN.partition(":")[2] not in str(first)
        assert first["channels"]["sms"] == {"provider": "twilio", "state": "ok"}

        # SMS answers meanwhile; a Telegram update is refused for Telegram to send again.
        assert "jobs" in (reply_of(await post(app, form("jobs", "SMalone"))) or "")
        bot = app.runtime.telegram
        assert bot is not None and bot.secret is not None
        async with http_client() as client:
            early = await client.post(
                app.url + "/telegram/webhook",
                json=tg.message_update(1, 5001, "jobs"),
                headers={"X-Telegram-Bot-Api-Secret-Token": bot.secret},
            )
        assert early.status_code == 503

        fake.clear_faults()  # the token is accepted again
        await eventually(
            lambda: health_ok(app), "Telegram back after the token is accepted", within=30
        )
        assert await update(fake, app, 2) == 200
        await eventually(lambda: fake.texts_to(5001) != [], "the Telegram reply")
    unavailable = [r for r in caplog.records if "telegram unavailable" in r.getMessage()]
    assert len(unavailable) == 1, "one line per new reason, not one per try"
    assert len(fake.calls_to("getMe")) >= 2


async def test_an_unreachable_bot_api_leaves_sms_up(db_url: str) -> None:
    async with serve(db_url, "http://127.0.0.1:9") as app:  # nothing listens there
        body = await health(app)
        assert body["channels"]["telegram"]["state"] == "degraded"
        assert "NetworkError" in body["channels"]["telegram"]["reason"]
        assert "jobs" in (reply_of(await post(app, form("jobs", "SMdown"))) or "")
