"""``/telegram/webhook``: Telegram's updates, when a public URL is set (else long polling)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.channels.telegram import SECRET_TOKEN_HEADER, verify_secret_token
from bot.core.untrusted import JsonTooDeep, fits_bigint, load_json
from bot.routes.common import MAX_BODY_BYTES, runtime
from bot.telegram.residents import UpdateNotProcessed
from bot.telegram.webhook import WEBHOOK_PATH

log = logging.getLogger(__name__)


async def telegram_webhook(request: Request) -> Response:
    """403 without the right secret header, 400 for a body that is not an update, else 200.

    Its text is cleaned (NUL bytes removed, lone surrogates replaced) before the handlers see
    it; an update whose ids do not fit a 64-bit integer, or nested too deep, is 400.

    Updates the bot does not handle (an edited message, a channel post, a sticker) are
    answered 200 and nothing else happens, so Telegram does not retry them.
    """
    bot = runtime(request).telegram
    if bot is None:
        raise HTTPException(404, "Telegram is not configured")
    if not verify_secret_token(bot.secret, request.headers.get(SECRET_TOKEN_HEADER)):
        log.warning("telegram webhook refused: bad or missing secret token")
        raise HTTPException(403, "invalid secret token")
    if not bot.channel.ready:  # Telegram sends it again later
        raise HTTPException(503, "telegram is starting, retry")
    body = await request.body()
    try:
        data = load_json(body, clean=True)
    except JsonTooDeep as exc:
        raise HTTPException(400, str(exc)) from exc
    except ValueError as exc:  # UnicodeDecodeError too
        raise HTTPException(400, "body is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise HTTPException(400, "not a Telegram update")
    if not fits_bigint(data["update_id"]):
        raise HTTPException(400, "update_id out of range")
    try:
        await bot.process(data)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    except UpdateNotProcessed as exc:
        # Nothing (or not all) of it was stored: a 5xx makes Telegram send it again, and
        # what was stored is recognised by its update_id.
        log.error("telegram update not processed (%s): asking Telegram to retry", exc)
        raise HTTPException(503, "update not processed, retry") from exc
    return Response(status_code=200)


routes = [Route(WEBHOOK_PATH, telegram_webhook, methods=["POST"], max_body_size=MAX_BODY_BYTES)]
