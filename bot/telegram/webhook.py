"""Telegram's side of the set-up: the webhook's path, URL and secret, and the command menus.

:func:`register` is what ``outreach serve`` and ``outreach telegram setup`` tell Telegram at
start: the residents' command menu per language, the webhook (or its removal, for long
polling) and each coordinator's own menu.
"""

from __future__ import annotations

import hashlib

from telegram import Bot

from bot.config import Settings
from bot.core.catalog import TEXT_LANGS, Catalog
from bot.core.menus import commands_for
from bot.telegram.coordinators import register_menus

WEBHOOK_PATH = "/telegram/webhook"
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram must echo in ``X-Telegram-Bot-Api-Secret-Token``.

    ``TELEGRAM_WEBHOOK_SECRET`` when set; otherwise one derived from the bot token, so a
    webhook is never accepted unverified.
    """
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value()
    return hashlib.sha256(f"dhanote-webhook:{token}".encode()).hexdigest()


def webhook_url(settings: Settings) -> str | None:
    base = settings.public_base_url
    return base.rstrip("/") + WEBHOOK_PATH if base else None


async def register(bot: Bot, catalog: Catalog, settings: Settings) -> list[str]:
    """Register the command menus per language and the webhook (or remove it for polling).

    Returns what was done, for logs and ``outreach telegram setup``.
    """
    done = []
    for lang in TEXT_LANGS:
        commands = commands_for(catalog, lang)
        # English is the default menu; apps set to Urdu show the "ur" one. Telegram's language
        # codes have no Roman Urdu, and the commands have no Roman Urdu text: English it is.
        await bot.set_my_commands(commands, language_code=None if lang == "en" else lang)
        done.append(f"{len(commands)} commands ({lang})")
    url = webhook_url(settings)
    if url:
        await bot.set_webhook(
            url, secret_token=webhook_secret(settings), allowed_updates=list(ALLOWED_UPDATES)
        )
        done.append(f"webhook {url}")
    else:
        await bot.delete_webhook()
        done.append("webhook removed (long polling)")
    # Last: a coordinator who never opened the chat makes this fail, for them alone.
    done.extend(await register_menus(bot, catalog, settings.coordinator_ids))
    return done
