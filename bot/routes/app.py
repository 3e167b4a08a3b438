"""The ASGI app: the webhook routes, health, metrics and the console, with the lifespan that
opens the runtime and runs the worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from bot.app.runtime import Runtime, open_runtime
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.keywords import Matcher
from bot.observe.logs import formatter
from bot.observe.redact import install, keep_secret
from bot.outreach.worker import Worker, running
from bot.routes import body, health, metrics, sms, telegram
from bot.routes.body import BodyDeadline
from bot.routes.observe import Observe

log = logging.getLogger(__name__)


# Objects a young collection waits for. CPython's default (700) ran a collection every few
# webhooks, most of them finding nothing: a request's objects die by reference counting.
_GC_YOUNG_THRESHOLD = 10_000


def _settle_heap() -> None:
    """Keep the garbage collector off what start-up built for good.

    The catalog, phone-number metadata, SQLAlchemy's tables and the libraries' modules are
    there until the process ends, yet every full collection walked them all again: under
    load that was about a sixth of each webhook's CPU. Collect once, then freeze what
    survived (a cycle made later is still collected), and collect the young generation
    less often.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(_GC_YOUNG_THRESHOLD, young), middle, old)


def create_app(
    settings: Settings,
    *,
    catalog: Catalog | None = None,
    matcher: Matcher | None = None,
    tune_gc: bool = False,
) -> Starlette:
    """The app with its lifespan: content, database and inbox are opened at start-up.

    A ``catalog`` (and its ``matcher``) already built are used as they are.

    ``tune_gc`` (for the serving process, not for tests that start many apps in one process)
    settles the heap after start-up; see :func:`_settle_heap`."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            open_runtime(settings, catalog=catalog, matcher=matcher) as rt,
            AsyncExitStack() as closing,
        ):
            app.state.runtime = rt
            if settings.console_enabled:
                app.state.console_key = await _console_key(settings, rt)
                from bot.outreach import accounts

                await asyncio.to_thread(accounts.prepare)
                from bot.console.simulator import Simulator

                # The console's simulator: its scratch database is made on first use.
                app.state.simulator = Simulator(settings, rt)
                closing.push_async_callback(app.state.simulator.close)
            if tune_gc:
                _settle_heap()
            starting = None
            # Telegram starts beside the rest: its failure must not keep SMS down.
            if rt.telegram is not None and not await rt.telegram.try_start():
                starting = asyncio.create_task(
                    rt.telegram.keep_starting(settings.telegram_retry_seconds)
                )
            log.info(
                "serving in %s mode on %s, content %s",
                settings.mode,
                settings.database_kind,
                rt.catalog.version,
            )
            try:
                if settings.run_worker:
                    worker = Worker(
                        rt.engine, rt.units, rt.senders, settings, providers=rt.providers
                    )
                    app.state.worker = worker
                    async with running(worker):
                        yield
                else:
                    yield
            finally:
                if starting is not None:
                    starting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await starting
                if rt.telegram is not None:
                    await rt.telegram.stop()

    webhooks = [*sms.routes, *telegram.routes]
    routes: list[BaseRoute] = [
        Route("/healthz", health.healthz),
        Route("/metrics", metrics.metrics),
        *webhooks,
    ]
    if settings.console_enabled:
        from bot.console import mount

        routes.append(mount(settings))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(Observe, timed=webhooks),
            Middleware(BodyDeadline, seconds=settings.request_body_seconds),
        ],
        exception_handlers=body.handlers,
    )


async def _console_key(settings: Settings, rt: Runtime) -> str:
    """The key the console's cookies are signed with: the setting, else the stored one."""
    if settings.console_secret_key is not None:
        return settings.console_secret_key.get_secret_value()
    from bot.outreach.accounts import cookie_key

    return await cookie_key(rt.units, datetime.now(UTC))


def create_app_from_env() -> Starlette:
    """The app with settings from the environment: ``uvicorn --factory`` (e.g. ``--workers``).

    Its secrets are masked in what uvicorn's handlers and the root logger's write, in the
    ``LOG_FORMAT`` the settings choose."""
    settings = Settings()
    keep_secret(settings.secrets())
    for name in ("", "uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        install(logger)
        if settings.log_format == "json":
            for handler in logger.handlers:
                handler.setFormatter(formatter("json"))
    return create_app(settings, tune_gc=True)
