"""Compose: write an announcement in English, Urdu and Roman Urdu, see what it costs and
whom it reaches as you type, try it on your own phone, then send it now or schedule it.

Everything a coordinator sees is what the CLI's ``outreach broadcast preview`` and
``outreach schedule add`` compute (:mod:`bot.outreach.coordinate`): the same draft, the same
audience SQL, the same SMS texts with their opt-out footer, the same plain-words times.

The live preview counts the audience only when the audience changes: the counts go back to
the page in a hidden field (``counted``) with the audience they are for and when they were
made, and a keystroke in a text reuses them (at most :data:`RECOUNT_AFTER` old), so typing
costs no query; counting everyone at 100,000 subscribers is the dearest part of the page.
Sending counts afresh.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.console.base import me, page, render, runtime, utcnow
from bot.core.audience import CHANNELS, audience_to_dict
from bot.core.catalog import LANGS, Lang
from bot.core.decision import Channel
from bot.core.phones import mask
from bot.core.preview import human_duration, name_chars
from bot.core.schedule import RuleError, describe, format_fire
from bot.core.segments import SegmentInfo, count_segments
from bot.core.sms_tail import has_opt_out, with_opt_out
from bot.outreach import coordinate
from bot.outreach.coordinate import Draft, DraftError, Preview, Reach
from bot.store import test_sends

# (language, form field, label), in the order the page shows them.
TEXTS: tuple[tuple[Lang, str, str], ...] = (
    ("en", "text_en", "English"),
    ("ur", "text_ur", "Urdu"),
    ("ur-Latn", "text_roman", "Roman Urdu"),
)
LANGUAGE_LABELS = {lang: label for lang, _, label in TEXTS}
CHANNEL_LABELS = {"sms": "SMS", "telegram": "Telegram"}
BOTH_CHANNELS = {"default": None, "both": True, "cheapest": False}
RECOUNT_AFTER = timedelta(seconds=60)  # counts carried by the page older than this: recount


@dataclass(frozen=True, slots=True)
class TextCount:
    """One language's text as an SMS: what is sent (with the footer), its segments, and the
    text cut into runs of ``(characters, forces UCS-2)`` to highlight."""

    lang: Lang
    label: str
    chars: int
    info: SegmentInfo
    footer: bool
    runs: list[tuple[str, bool]]
    named: str


def count_text(lang: Lang, label: str, text: str) -> TextCount:
    """The live count of one text box: characters, segments and encoding of the SMS as sent."""
    text = text.strip()
    sent = with_opt_out(text) if text else ""
    info = count_segments(sent)
    bad = set(info.non_gsm)
    runs: list[tuple[str, bool]] = []
    for ch in sent:
        flagged = ch in bad
        if runs and runs[-1][1] == flagged:
            runs[-1] = (runs[-1][0] + ch, flagged)
        else:
            runs.append((ch, flagged))
    return TextCount(
        lang=lang,
        label=label,
        chars=len(sent),
        info=info,
        footer=bool(text) and not has_opt_out(text),
        runs=runs,
        named=name_chars(info.non_gsm) if info.non_gsm else "",
    )


def _values(form: FormData) -> dict[str, Any]:
    """The form as the template fills it back in (nothing typed is ever lost)."""
    one = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return {
        **one,
        "channels": form.getlist("channel") if "audience" in form else list(CHANNELS),
        "languages": form.getlist("language"),
        "topics": form.getlist("topic"),
        "cities": form.getlist("city"),
    }


def _draft(request: Request, values: dict[str, Any]) -> Draft:
    rt = runtime(request)
    choice = values.get("both_channels", "default")
    if choice not in BOTH_CHANNELS:
        raise DraftError(f"Unknown choice {choice!r} for SMS to people on Telegram.")
    if not values["channels"]:  # the CLI's "no --channel" means both; an unticked box, none
        raise DraftError("Choose at least one channel: SMS or Telegram.")
    return coordinate.make_draft(
        rt.settings,
        rt.catalog,
        values.get("text_en", ""),
        values.get("text_ur"),
        values.get("text_roman"),
        channels=values["channels"],
        languages=values["languages"],
        topics=values["topics"],
        cities=values["cities"],
        both_channels=BOTH_CHANNELS[choice],
        title=values.get("title"),
    )


def _audience_key(draft: Draft) -> str:
    return json.dumps(audience_to_dict(draft.audience), sort_keys=True)


def _counts(raw: object) -> dict[Channel, dict[Lang, int]] | None:
    if not isinstance(raw, dict):
        return None
    found: dict[Channel, dict[Lang, int]] = {}
    for channel in CHANNELS:
        per = raw.pop(channel, {})
        if not isinstance(per, dict):
            return None
        langs: dict[Lang, int] = {}
        for lang in LANGS:
            n = per.pop(lang, 0)
            if type(n) is not int or n < 0:
                return None
            if n:
                langs[lang] = n
        if per:
            return None
        if langs:
            found[channel] = langs
    return None if raw else found


def carried(raw: str, draft: Draft, now: datetime) -> Reach | None:
    """The counts the page carries (``counted``) if they are for ``draft``'s audience and
    recent; None for anything else (absent, another audience, old, malformed): count again."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("for") != _audience_key(draft):
        return None
    at = data.get("at")
    if not isinstance(at, int | float) or isinstance(at, bool):
        return None
    if not 0 <= now.timestamp() - at <= RECOUNT_AFTER.total_seconds():
        return None
    sizes, full = _counts(data.get("sizes")), _counts(data.get("full"))
    return None if sizes is None or full is None else Reach(sizes, full)


def carry(counted: Reach, draft: Draft, now: datetime) -> str:
    """What :func:`carried` reads back."""
    return json.dumps(
        {
            "for": _audience_key(draft),
            "at": now.timestamp(),
            "sizes": counted.sizes,
            "full": counted.full,
        }
    )


@dataclass(frozen=True, slots=True)
class Planned:
    description: str
    times: list[str]
    quiet: list[str]


async def _preview_context(request: Request, values: dict[str, Any]) -> dict[str, Any]:
    """What the preview shows for the form's ``values``: counts always; the audience, cost,
    time and warnings once the English text is there."""
    rt = runtime(request)
    settings = rt.settings
    counts = [count_text(lang, label, values.get(name, "")) for lang, name, label in TEXTS]
    context: dict[str, Any] = {"counts": counts, "error": None, "shown": None}
    if not values.get("text_en", "").strip():
        return context
    try:
        draft = _draft(request, values)
    except DraftError as exc:
        return context | {"error": str(exc)}
    now = utcnow()
    counted = carried(values.get("counted", ""), draft, now)
    if counted is None:
        counted = await coordinate.reach(rt.units, settings, draft)
    shown: Preview = coordinate.priced(settings, draft, counted)
    warnings = [line for line in shown.lines if "is not configured" in line]
    planned: Planned | None = None
    when = values.get("when", "").strip()
    tz = ZoneInfo(settings.timezone)
    sms = "sms" in shown.recipients
    if when:
        try:
            rule, times = coordinate.plan_rule(when, now, settings.timezone)
        except RuleError as exc:
            warnings.append(str(exc))
        else:
            quiet = []
            for t in times:
                opens = coordinate.sms_wait(settings, t) if sms else None
                if opens is not None:
                    quiet.append(
                        f"SMS at {format_fire(t.astimezone(tz))} fall in quiet hours: "
                        f"they wait until {format_fire(opens)}."
                    )
            planned = Planned(describe(rule), [format_fire(t.astimezone(tz)) for t in times], quiet)
            warnings.extend(quiet)
    elif sms:
        warnings.extend(coordinate.quiet_note(settings, now))
    cost = shown.cost
    return context | {
        "shown": shown,
        "channels": [(CHANNEL_LABELS[ch], shown.recipients.get(ch, 0)) for ch in CHANNELS],
        "segments": cost.total_segments if cost else 0,
        "cost": f"{settings.sms_currency} {cost.total_cost:,.2f}"
        if cost and shown.priced
        else None,
        "price": settings.sms_price_per_segment,
        "currency": settings.sms_currency,
        "duration": human_duration(shown.duration),
        "warnings": warnings,
        "planned": planned,
        "counted": carry(counted, draft, now),
    }


async def _page(
    request: Request,
    values: dict[str, Any],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    rt = runtime(request)
    recent = await rt.units.run(lambda c: test_sends.recent(c, me(request).name))
    return render(
        request,
        "compose.html",
        status_code,
        v=values,
        topics=[(c.id, c.label.en) for c in rt.catalog.interests],
        cities=[(c.id, c.label.en) for c in rt.catalog.cities],
        langs=[(lang, LANGUAGE_LABELS[lang]) for lang in LANGS],
        texts=TEXTS,
        recent=recent,
        mask=mask,
        tz=ZoneInfo(rt.settings.timezone),
        both_default="both" if rt.settings.broadcast_both_channels else "cheapest",
        **(await _preview_context(request, values)),
        **extra,
    )


@page
async def compose(request: Request) -> Response:
    values: dict[str, Any] = {
        "channels": list(CHANNELS),
        "languages": [],
        "topics": [],
        "cities": [],
        "both_channels": "default",
        "test_channel": "telegram" if me(request).telegram_id else "sms",
        "test_address": str(me(request).telegram_id or ""),
    }
    return await _page(request, values)


@page
async def preview(request: Request) -> Response:
    values = _values(await request.form())
    return render(request, "compose_preview.html", **(await _preview_context(request, values)))


@page
async def send(request: Request) -> Response:
    """Send now: queue the announcement and go to its broadcast's page."""
    values = _values(await request.form())
    rt = runtime(request)
    try:
        draft = _draft(request, values)
    except DraftError as exc:
        return await _page(request, values, 400, failure=str(exc))
    shown = await coordinate.preview(rt.units, rt.settings, draft)
    if shown.total == 0:
        failure = "Nobody in this audience can be reached now: nothing sent."
        return await _page(request, values, 400, failure=failure)
    sent = await coordinate.send_now(rt.units, rt.settings, draft, utcnow(), by=me(request).name)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    return RedirectResponse(f"/console/broadcasts/{sent.broadcast_id}", status_code=303)


@page
async def schedule(request: Request) -> Response:
    """Schedule it with the same plain-words times as ``outreach schedule add``."""
    values = _values(await request.form())
    rt = runtime(request)
    now = utcnow()
    try:
        draft = _draft(request, values)
        rule, _ = coordinate.plan_rule(values.get("when", ""), now, rt.settings.timezone)
    except (DraftError, RuleError) as exc:
        return await _page(request, values, 400, failure=str(exc))
    info = await coordinate.add_schedule(rt.units, draft, rule, now, by=me(request).name)
    tz = ZoneInfo(rt.settings.timezone)
    return render(
        request,
        "compose_scheduled.html",
        info=info,
        times=[format_fire(t.astimezone(tz)) for t in info.next_times],
    )


def _language(value: str | None) -> Lang:
    for lang in LANGS:
        if value == lang:
            return lang
    raise DraftError(f"Unknown language {value!r}; choose from {', '.join(LANGS)}.")


@page
async def test_send(request: Request) -> Response:
    """Send the announcement to the coordinator's own number or chat, as residents get it."""
    values = _values(await request.form())
    rt = runtime(request)
    htmx = "hx-request" in request.headers
    channel = values.get("test_channel")
    try:
        if channel not in CHANNELS:
            raise DraftError("Choose SMS or Telegram for the test.")
        draft = _draft(request, values)
        tried = await coordinate.send_test(
            rt.units,
            rt.settings,
            rt.senders,
            draft,
            "sms" if channel == "sms" else "telegram",
            values.get("test_address", ""),
            _language(values.get("test_language", "en")),
            utcnow(),
            by=me(request).name,
        )
    except DraftError as exc:
        if htmx:
            return render(request, "compose_test.html", test_failure=str(exc), tried=None)
        return await _page(request, values, 400, failure=str(exc))
    if htmx:
        return render(request, "compose_test.html", tried=tried, mask=mask)
    return await _page(request, values, tried=tried)


routes = [
    Route("/compose", compose, methods=["GET"]),
    Route("/compose/preview", preview, methods=["POST"]),
    Route("/compose/send", send, methods=["POST"]),
    Route("/compose/schedule", schedule, methods=["POST"]),
    Route("/compose/test", test_send, methods=["POST"]),
]
