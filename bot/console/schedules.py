"""Schedules: every schedule with its next times and its texts in each language; pause,
resume and remove it, each after asking, recorded with the coordinator who did it.

The same service functions as ``outreach schedule list/pause/resume/remove`` and the bot's
``/schedules`` (:mod:`bot.outreach.coordinate`), so the times shown are the scheduler's.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.core.audience import describe_audience
from bot.core.schedule import format_fire
from bot.outreach import coordinate
from bot.outreach.coordinate import ScheduleInfo

# Each action's verb on the page and what it does, said before doing it.
_ACTIONS = {
    "pause": ("Pause", "It sends nothing until it is resumed."),
    "resume": (
        "Resume",
        "It sends again from its next time; times that passed while it was paused are not made up.",
    ),
    "remove": (
        "Remove",
        "It is deleted for good; broadcasts it already sent, and their reports, stay.",
    ),
}


def _local(request: Request, when: datetime) -> str:
    return format_fire(when.astimezone(ZoneInfo(runtime(request).settings.timezone)))


@page
async def schedule_list(request: Request) -> Response:
    infos = await coordinate.list_schedules(runtime(request).units, utcnow())
    return render(
        request,
        "schedules.html",
        schedules=infos,
        audience=describe_audience,
        local=lambda when: _local(request, when),
    )


async def _schedule(request: Request) -> ScheduleInfo:
    schedule_id = int(request.path_params["id"])
    info = await coordinate.get_schedule(runtime(request).units, schedule_id, utcnow())
    if info is None:
        raise HTTPException(404, f"There is no schedule {schedule_id}: it may have been removed.")
    return info


@page
async def schedule_action(request: Request) -> Response:
    """First post: "Are you sure?"; with ``confirm=yes``: pause, resume or remove."""
    action = request.path_params["action"]
    if action not in _ACTIONS:
        raise HTTPException(404, f"{action!r} is not something a schedule can do.")
    info = await _schedule(request)
    if action == "pause" and not info.enabled:
        raise HTTPException(409, f"Schedule {info.id} is already paused.")
    if action == "resume" and info.enabled:
        raise HTTPException(409, f"Schedule {info.id} is not paused.")
    fields = await form_fields(request)
    verb, consequence = _ACTIONS[action]
    if fields.get("confirm") != "yes":
        return render(
            request,
            "schedule_confirm.html",
            s=info,
            action=action,
            verb=verb,
            consequence=consequence,
        )
    units, who = runtime(request).units, me(request).name
    if action == "remove":
        done = await coordinate.remove_schedule(units, info.id, by=who)
    else:
        enabled = action == "resume"
        done = (
            await coordinate.set_schedule_enabled(units, info.id, enabled, utcnow(), by=who)
        ) is not None
    if not done:
        raise HTTPException(404, f"There is no schedule {info.id}: it may have been removed.")
    return RedirectResponse("/console/schedules", status_code=303)


routes = [
    Route("/schedules", schedule_list, methods=["GET"]),
    Route("/schedules/{id:int}/{action}", schedule_action, methods=["POST"]),
]
