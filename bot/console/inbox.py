"""The inbox: conversations the bot handed over to a person (``open`` -> ``claimed`` ->
``closed``), one thread with its messages, a reply, closing.

The work is :class:`bot.outreach.handover.Handover`'s, the same that ``outreach inbox`` and
the coordinators' Telegram screens use: a reply goes out on the resident's own channel, is
refused with a sentence saying why (empty, closed, someone else answers it, opted out, too
many SMS segments), and records the signed-in coordinator as its answerer; closing asks
first and records who closed.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import notices
from bot.console.base import form_fields, me, page, render, runtime, utcnow
from bot.outreach.answers import local_time
from bot.outreach.handover import ReplyRefused, ThreadView, cost_line, outcome_line, who
from bot.store.threads import OPEN_STATES

PAGE_SIZE = 25
# How many of the resident's messages a thread shows.
HISTORY = 30


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise HTTPException(400, f"'{raw}' is not a page number.")
    return int(raw)


@page
async def inbox(request: Request) -> Response:
    rt = runtime(request)
    number = _page_number(request)
    found, counts = await rt.handover.page((number - 1) * PAGE_SIZE, PAGE_SIZE)
    total = sum(counts.values())
    waiting = sum(counts.get(state, 0) for state in OPEN_STATES)
    return render(
        request,
        "inbox.html",
        threads=found,
        counts=counts,
        total=total,
        waiting=waiting,
        number=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        who=who,
        when=lambda dt: local_time(dt, rt.settings.timezone),
        notice=notices.take(request),
    )


def _thread_id(request: Request) -> int:
    thread_id: int = request.path_params["thread_id"]
    return thread_id


async def _view(request: Request) -> ThreadView:
    thread_id = _thread_id(request)
    view = await runtime(request).handover.show(thread_id, HISTORY)
    if view is None:
        raise HTTPException(404, f"There is no thread #{thread_id}.")
    return view


def _thread_page(
    request: Request, view: ThreadView, status_code: int = 200, **context: object
) -> Response:
    rt = runtime(request)
    t = view.thread
    blocked = None
    if t.state == "closed":
        blocked = f"Thread #{t.id} is closed."
    elif t.contact_status != "active":
        blocked = rt.handover.problem(t, "-")
    return render(
        request,
        "inbox_thread.html",
        status_code,
        view=view,
        t=t,
        resident=who(t),
        blocked=blocked,
        when=lambda dt: local_time(dt, rt.settings.timezone),
        notice=notices.take(request),
        **context,
    )


@page
async def thread(request: Request) -> Response:
    return _thread_page(request, await _view(request))


@page
async def cost(request: Request) -> Response:
    """What the reply typed so far takes (htmx, as the coordinator types)."""
    view = await _view(request)
    text = request.query_params.get("text", "")
    return render(
        request,
        "inbox_cost.html",
        line=_cost(request, view, text),
        problem=_problem(request, view, text),
    )


def _cost(request: Request, view: ThreadView, text: str) -> str:
    limit = runtime(request).settings.sms_max_segments
    return f"{len(text)} characters · {cost_line(view.thread.channel, text, limit)}"


def _problem(request: Request, view: ThreadView, text: str) -> str | None:
    if not text.strip():
        return None
    return runtime(request).handover.problem(view.thread, text)


@page
async def reply(request: Request) -> Response:
    rt = runtime(request)
    view = await _view(request)
    text = (await form_fields(request)).get("text", "")
    author = me(request).name
    try:
        sent = await rt.handover.reply(view.thread.id, text, author, utcnow())
    except ReplyRefused as exc:
        fresh = await _view(request)
        return _thread_page(request, fresh, 400, error=str(exc), text=text)
    problem = outcome_line(sent)
    if problem is not None and not sent.later:
        # Stored (and shown in the thread as failed), not sent: say so where it was typed.
        return _thread_page(request, await _view(request), 400, error=problem, text=text)
    told = problem or f"Sent to {who(view.thread)} by {author}."
    return notices.done(request, told, f"/console/inbox/{view.thread.id}")


@page
async def close(request: Request) -> Response:
    view = await _view(request)
    fields = await form_fields(request)
    t = view.thread
    if fields.get("confirm") != "yes":
        return render(request, "inbox_close.html", t=t, resident=who(t))
    if not await runtime(request).handover.close(t.id, me(request).name, utcnow()):
        raise HTTPException(409, f"Thread #{t.id} is closed already.")
    return notices.done(request, f"Thread #{t.id} closed by {me(request).name}.", "/console/inbox")


routes = [
    Route("/inbox", inbox, methods=["GET"]),
    Route("/inbox/{thread_id:int}", thread, methods=["GET"]),
    Route("/inbox/{thread_id:int}/cost", cost, methods=["GET"]),
    Route("/inbox/{thread_id:int}/reply", reply, methods=["POST"]),
    Route("/inbox/{thread_id:int}/close", close, methods=["POST"]),
]
