"""The peer for bench_telegram: python-telegram-bot's own custom-webhook example, trimmed.

    python -m bench.peer_ptb --port 8000 --api http://127.0.0.1:8090 --token 7000000001:AAF...
        [--concurrent-updates N] [--public-url https://outreach.example.org]

The shape of PTB's examples/customwebhookbot/starlettebot.py, which is what a person writing a
webhook bot with PTB + Starlette deploys: ``Application.builder().token(...).updater(None)``,
``set_webhook`` at start, a Starlette route ``POST /telegram`` that does::

    await application.update_queue.put(Update.de_json(data=await request.json(), bot=...))
    return Response()

and ``GET /healthcheck``, served by ``uvicorn.Server`` next to ``application.start()``. The
only handler is a ``MessageHandler`` that answers every text with ``update.message.reply_text``
from a small keyword dict (else a short menu).

Like the example it checks no secret token (anyone can post updates), stores nothing and
answers after the webhook has returned: the update waits in PTB's ``update_queue``, which
by default (``concurrent_updates`` off, as in the example) is handled one update at a time.
``--concurrent-updates N`` turns on PTB's concurrent handling (what our app uses, with 64).

Changed from the example for the benchmark only: the Bot API base URL points at the fake
(``base_url``), and logging is the same as ``outreach serve`` in the benchmark (WARNING,
uvicorn access log off; the example logs at INFO with uvicorn's access log on).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

MENU = "Dhanote IT Park. Send jobs, training, park, startup or help. Send /stop to stop."

REPLIES = {
    "jobs": "Jobs at Dhanote IT Park: see the notice board or send training for courses.",
    "naukri": "Jobs at Dhanote IT Park: see the notice board or send training for courses.",
    "training": "Free courses: DigiSkills, NAVTTC and park bootcamps. Send park for the address.",
    "courses": "Free courses: DigiSkills, NAVTTC and park bootcamps. Send park for the address.",
    "park": "Dhanote IT Park, South Punjab. Open Mon-Sat 09:00-17:00.",
    "startup": "Startups: desks, mentors and seed grants. Send grants for more.",
    "grants": "Seed grants open twice a year; watch for our announcement.",
    "help": "Dhanote IT Park helpline. Send jobs, training, park or startup.",
    "/start": "Welcome to Dhanote IT Park! " + MENU,
    "/menu": MENU,
}


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text with the keyword's reply, as the examples' echo handlers do."""
    message = update.message
    if message is None or message.text is None:
        return
    await message.reply_text(REPLIES.get(message.text.strip().lower(), MENU))


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(
        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.WARNING
    )
    builder = Application.builder().token(args.token).base_url(args.api.rstrip("/") + "/bot")
    if args.concurrent_updates:
        builder = builder.concurrent_updates(args.concurrent_updates)
    application = builder.updater(None).build()
    application.add_handler(MessageHandler(filters.TEXT, reply))

    await application.bot.set_webhook(
        url=f"{args.public_url}/telegram", allowed_updates=Update.ALL_TYPES
    )

    async def telegram(request: Request) -> Response:
        """Handle incoming Telegram updates by putting them into the `update_queue`"""
        await application.update_queue.put(
            Update.de_json(data=await request.json(), bot=application.bot)
        )
        return Response()

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse(content="The bot is still running fine :)")

    starlette_app = Starlette(
        routes=[
            Route("/telegram", telegram, methods=["POST"]),
            Route("/healthcheck", health, methods=["GET"]),
        ]
    )
    webserver = uvicorn.Server(
        config=uvicorn.Config(
            app=starlette_app,
            port=args.port,
            use_colors=False,
            host="127.0.0.1",
            log_level="warning",
            access_log=False,
        )
    )

    async with application:
        await application.start()
        await webserver.serve()
        await application.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", required=True, help="the Bot API root (the fake's URL)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--public-url", default="https://outreach.example.org")
    parser.add_argument("--concurrent-updates", type=int, default=0)
    # uvicorn re-raises the SIGINT that stopped it once it has shut down.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args()))
