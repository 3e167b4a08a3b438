"""``outreach serve`` with uvicorn's HTTP parser and event loop chosen, for bench_sms only.

    python -m bench._serve --port 8081 --http httptools --loop uvloop

The same app as ``outreach serve`` (``bot.routes.app.create_app(Settings())``, settings from the
environment, the same log setup and access log off); only ``http`` and ``loop`` differ, so the
benchmark can show what ``uvicorn[standard]`` (httptools + uvloop) would change without
touching bot/. ``outreach serve`` itself uses uvicorn's "auto", which picks httptools and
uvloop only when they are installed.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from bot.config import Settings
from bot.content.load import load_catalog
from bot.routes.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args()

    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    load_catalog(settings.content_dir)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        http=args.http,
        loop=args.loop,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
