"""Real ``outreach`` processes, for the tests that kill, fail over or run several of them.

:func:`serve` and :func:`worker` start ``outreach serve`` or ``outreach worker`` in a folder
(its output in ``<name>.log`` there) and kill it on the way out if it still runs;
:meth:`Outreach.until` waits for a condition while failing at once, with the output, if the
process exits; :func:`up` waits until a ``serve`` answers ``/healthz``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypeVar

import httpx

from fakes.http import client as http_client
from tests.conftest import eventually

OUTREACH = Path(sys.executable).parent / "outreach"
STOP_TIMEOUT = 30.0

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _value(value: T | Awaitable[T]) -> T:
    return await value if inspect.isawaitable(value) else value


class Outreach:
    """One ``outreach`` process; its output goes to ``log``."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path, command: str) -> None:
        self.proc = proc
        self.log = log
        self.command = command

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tail(self) -> str:
        return self.output()[-3000:]

    async def until(
        self,
        condition: Callable[[], bool | Awaitable[bool]],
        within: float,
        what: str,
        *,
        every: float = 0.005,
        progress: Callable[[], int | Awaitable[int]] | None = None,
    ) -> None:
        """Check ``condition`` every ``every`` seconds until it holds; fail (with the process's
        output) if the process exits or time runs out first. With ``progress`` (a count that
        moves while the work goes on), ``within`` counts from its last move: a busy machine
        takes longer, a stuck process still fails."""
        loop = asyncio.get_running_loop()
        seen: list[int] = []
        deadline = loop.time() + within

        async def check() -> bool:
            nonlocal deadline
            if self.proc.returncode is not None:
                raise AssertionError(
                    f"outreach {self.command} exited ({self.proc.returncode}) before {what}"
                )
            if progress is not None:
                now = await _value(progress())
                if not seen or now != seen[-1]:
                    seen.append(now)
                    deadline = loop.time() + within
                elif loop.time() > deadline:
                    raise AssertionError(f"stuck at {now} for {within:g} s before {what}")
            return await _value(condition())

        try:
            await eventually(check, what, within=math.inf if progress else within, every=every)
        except AssertionError as exc:
            raise AssertionError(f"{exc}:\n{self.tail()}") from None

    async def stop(self, sig: signal.Signals) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        async with asyncio.timeout(STOP_TIMEOUT):
            return await self.proc.wait()


@asynccontextmanager
async def outreach(
    cwd: Path, env: Mapping[str, str], name: str, *args: str
) -> AsyncIterator[Outreach]:
    """``outreach ARGS`` in ``cwd``, killed if still running on the way out."""
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(OUTREACH),
            *args,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    running = Outreach(proc, log, args[0])
    try:
        yield running
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def serve(
    cwd: Path, env: Mapping[str, str], name: str, *, port: int | None = None
) -> AbstractAsyncContextManager[Outreach]:
    """``outreach serve`` on ``port`` (a free one if None); see :func:`outreach`."""
    return outreach(cwd, env, name, "serve", "--port", str(port or free_port()))


def worker(cwd: Path, env: Mapping[str, str], name: str) -> AbstractAsyncContextManager[Outreach]:
    """``outreach worker``; see :func:`outreach`."""
    return outreach(cwd, env, name, "worker")


async def up(server: Outreach, url: str, within: float) -> None:
    """Wait until the ``serve`` at ``url`` answers ``/healthz``."""

    async def answering() -> bool:
        async with http_client(timeout=2.0) as client:
            try:
                return (await client.get(url + "/healthz")).status_code == 200
            except httpx.HTTPError:
                return False

    await server.until(answering, within, "serve answers", every=0.05)
