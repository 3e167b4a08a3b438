"""``/healthz``: whether this process serves, and how the parts it depends on are.

200 while the database answers, whatever else is wrong: ``status`` is ``ok``, or
``degraded`` naming in ``degraded`` what is (a channel whose provider is down, refusing us or
still starting; a worker that stopped beating), for the rest serves on. 503 only when the
database is unavailable, as nothing works then. The body::

    status, degraded, mode, database, content_version,
    channels:  {sms: {provider, state[, reason]}, telegram: {...}}
               state: ok | starting | degraded (with why) | not configured
    worker:    {state, epoch, heartbeat_at, heartbeat_age_seconds, here}
               state: ok | starting (this process's worker has not taken over yet) |
                      stale (no heartbeat for STALE_AFTER s) | absent (none ever ran);
               here: this process's worker: active | standby | off (RUN_WORKER=false)
    backlog:   {deliveries: {sms: {waiting, later, in_flight, oldest_waiting_seconds}, ...},
                replies: {...}}

A provider's state is this process's view (the sends it made, :mod:`bot.outreach.providers`);
the worker's heartbeat and the backlog are read from the database, the same from every
process (:func:`read`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.app.runtime import Runtime
from bot.outreach.worker import HEARTBEAT, Worker
from bot.routes.common import runtime, utcnow
from bot.store import backlog, epochs
from bot.store.backlog import Backlog
from bot.store.epochs import Holder

log = logging.getLogger(__name__)

# A worker whose last heartbeat is older than this is taken for gone (it beats every
# HEARTBEAT seconds; a busy SQLite writer can hold a beat back for a while).
STALE_AFTER = 6 * HEARTBEAT

Here = Literal["active", "standby", "off"]


@dataclass(frozen=True, slots=True)
class Seen:
    """What the database says at one time: the outboxes and the worker's epoch row."""

    at: datetime
    backlog: Backlog
    holder: Holder | None


async def read(rt: Runtime) -> Seen:
    """The backlog and the worker's row, in one read; raises SQLAlchemy's errors (or
    ``OSError``) when the database is unavailable."""
    now = utcnow()
    queues, holder = await rt.units.read(
        lambda conn: (backlog.read(conn, now), epochs.holder(conn))
    )
    return Seen(now, queues, holder)


def here(worker: Worker | None) -> Here:
    if worker is None:
        return "off"
    return "active" if worker.active else "standby"


def heartbeat_age(seen: Seen) -> float | None:
    """Seconds since the worker's last heartbeat (None when no worker ever beat)."""
    if seen.holder is None or seen.holder.heartbeat_at is None:
        return None
    return max(0.0, (seen.at - seen.holder.heartbeat_at).total_seconds())


def worker_state(seen: Seen, where: Here) -> dict[str, Any]:
    """The worker's part of the body; its ``reason`` when it is degraded."""
    age = heartbeat_age(seen)
    body: dict[str, Any] = {"here": where}
    if seen.holder is not None:
        beat = seen.holder.heartbeat_at
        body |= {
            "epoch": seen.holder.epoch,
            "heartbeat_at": beat.isoformat() if beat else None,
            "heartbeat_age_seconds": None if age is None else round(age, 1),
        }
    if age is not None and age <= STALE_AFTER:
        state, reason = "ok", None
    elif age is not None:
        state, reason = "stale", f"no heartbeat for {age:.0f} s"
    elif where != "off":
        state, reason = "starting", None
    else:
        state = "absent"
        reason = "no worker has run on this database (run `outreach worker`, or RUN_WORKER)"
    return {"state": state} | ({"reason": reason} if reason else {}) | body


def channel_states(rt: Runtime) -> dict[str, dict[str, str]]:
    """Each channel's provider and its state; see the module docstring."""
    settings = rt.settings
    sandbox = settings.mode == "sandbox"
    sms: dict[str, str] = {"provider": settings.sms_sender}
    if settings.sms_sender == "simulator" and not sandbox:
        sms["state"] = "not configured"
    else:
        sms |= _health(rt, "sms")
    telegram: dict[str, str]
    if rt.telegram is not None:
        state = rt.telegram.state
        telegram = {"provider": "telegram"}
        if state.state != "ok":
            telegram |= {"state": state.state} | ({"reason": state.reason} if state.reason else {})
        else:
            telegram |= _health(rt, "telegram")
    elif sandbox:
        telegram = {"provider": "simulator", "state": "ok"}
    else:
        telegram = {"provider": "none", "state": "not configured"}
    return {"sms": sms, "telegram": telegram}


def _health(rt: Runtime, channel: Literal["sms", "telegram"]) -> dict[str, str]:
    health = rt.providers.health(channel)
    return {"state": health.state} | ({"reason": health.reason} if health.reason else {})


def backlog_body(seen: Seen) -> dict[str, dict[str, dict[str, int | float]]]:
    body: dict[str, dict[str, dict[str, int | float]]] = {}
    for (box, channel), queue in seen.backlog.items():
        entry: dict[str, int | float] = {"waiting": queue.waiting, "later": queue.later}
        if box == "deliveries":
            entry["in_flight"] = queue.in_flight
        entry["oldest_waiting_seconds"] = round(queue.oldest_age(seen.at), 1)
        body.setdefault(box, {})[channel] = entry
    return body


async def healthz(request: Request) -> JSONResponse:
    """See the module docstring."""
    rt = runtime(request)
    channels = channel_states(rt)
    body: dict[str, Any] = {
        "status": "ok",
        "mode": rt.settings.mode,
        "database": rt.settings.database_kind,
        "content_version": rt.catalog.version,
        "channels": channels,
    }
    try:
        seen = await read(rt)
    except (SQLAlchemyError, OSError) as exc:
        log.error("health check: database unavailable: %s", type(exc).__name__)
        return JSONResponse(body | {"status": "database unavailable"}, status_code=503)
    worker = worker_state(seen, here(getattr(request.app.state, "worker", None)))
    degraded = [name for name, c in channels.items() if c["state"] in ("starting", "degraded")]
    if worker["state"] in ("stale", "absent"):
        degraded.append("worker")
    if degraded:
        body |= {"status": "degraded", "degraded": degraded}
    return JSONResponse(body | {"worker": worker, "backlog": backlog_body(seen)})
