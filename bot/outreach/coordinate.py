"""The coordinators' service layer, shared by the ``outreach`` CLI and the Telegram commands.

Preview an announcement (who gets it, what it costs, how long it takes), send it now, schedule
it, pause, resume or remove schedules. Reports on broadcasts and cancelling them are in
:mod:`bot.outreach.reporting`.

Every function takes the :class:`~bot.store.units.Units` to run on and, where time matters,
``now`` (aware) from the caller; none reads the clock. ``by`` names who acts: ``"cli"`` or
``"telegram:<user id>"``. Results are frozen dataclasses. Input that names nothing (an unknown
schedule or broadcast id) gives None or False, never an exception.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Connection

from bot.channels.base import ChannelError, Sender
from bot.config import Settings
from bot.core.audience import (
    CHANNELS,
    Audience,
    AudienceError,
    audience_from_dict,
    audience_to_dict,
)
from bot.core.catalog import LANGS, Catalog, Lang
from bot.core.decision import Channel, Reply
from bot.core.phones import InvalidPhoneNumber, mask, to_e164
from bot.core.preview import SmsCost, render_preview, send_duration, sms_cost
from bot.core.schedule import (
    Rule,
    RuleError,
    describe,
    format_fire,
    next_fires,
    parse_rule,
    rule_from_dict,
    rule_to_dict,
)
from bot.core.sms_tail import announcement_text
from bot.core.windows import SendWindow, in_send_window, next_window_open
from bot.outreach.pacing import Pacer
from bot.store import announcements, schedules, test_sends
from bot.store.broadcasts import audience_size, start_broadcast
from bot.store.units import Units

log = logging.getLogger(__name__)

TITLE_MAX = 60
NEXT_COUNT = 3
PRICE_UNSET_NOTE = "(set SMS_PRICE_PER_SEGMENT to see the SMS cost)"
CHANNEL_LABELS = {"sms": "SMS", "telegram": "Telegram"}


@dataclass(frozen=True, slots=True)
class Draft:
    """An announcement not yet stored: its texts, who gets it, its topic tags and title.
    Without a Roman Urdu text (``text_ur_latn``) Roman Urdu readers get the English one."""

    text_en: str
    text_ur: str | None
    audience: Audience
    topics: tuple[str, ...] = ()
    title: str | None = None
    text_ur_latn: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """Recipients per channel (channels with none left out), their total, and the lines to
    show: :func:`bot.core.preview.render_preview` plus a note when SMS has no price set and
    one per channel that is not configured. ``cost`` is the SMS texts' segments and cost
    (with the opt-out footer, as sent; a cost of 0 when no price is set: see ``priced``);
    ``unconfigured`` the messages a channel without a provider would have had, which are
    neither counted nor sent; ``duration`` how long sending takes at the dispatcher's pace."""

    recipients: dict[str, int]
    total: int
    lines: list[str]
    cost: SmsCost | None = None
    priced: bool = False
    unconfigured: dict[Channel, int] = field(default_factory=dict)
    duration: timedelta = timedelta(0)


class DraftError(ValueError):
    """What a coordinator asked for does not make an announcement; the message says why."""


def make_draft(
    settings: Settings,
    catalog: Catalog,
    text_en: str,
    text_ur: str | None = None,
    text_ur_latn: str | None = None,
    *,
    channels: Sequence[str] = (),
    languages: Sequence[str] = (),
    topics: Sequence[str] = (),
    cities: Sequence[str] = (),
    both_channels: bool | None = None,
    title: str | None = None,
) -> Draft:
    """The announcement a coordinator described (the CLI's options, the console's form).

    No ``channels`` means both; ``both_channels`` None the BROADCAST_BOTH_CHANNELS setting.
    Topics and cities must be the content's (``catalog``). :class:`DraftError` when the English
    text is empty or a name is unknown.
    """
    if not text_en.strip():
        raise DraftError("The English text is empty: write the announcement in English.")
    for what, given, known in (
        ("topic", topics, [t.id for t in catalog.interests]),
        ("city", cities, [c.id for c in catalog.cities]),
    ):
        unknown = [name for name in given if name.strip().lower() not in known]
        if unknown:
            raise DraftError(f"Unknown {what} {unknown[0]!r}; choose from {', '.join(known)}.")
    try:
        audience = audience_from_dict(
            {
                "channels": list(channels) or list(CHANNELS),
                "languages": list(languages),
                "topics": [t.strip().lower() for t in topics],
                "cities": [c.strip().lower() for c in cities],
                "both_channels": (
                    settings.broadcast_both_channels if both_channels is None else both_channels
                ),
            }
        )
    except AudienceError as exc:
        raise DraftError(str(exc)) from None

    def optional(text: str | None) -> str | None:
        return text.strip() if text and text.strip() else None

    return Draft(
        text_en.strip(),
        optional(text_ur),
        audience,
        tuple(sorted(audience.topics)),
        optional(title),
        text_ur_latn=optional(text_ur_latn),
    )


def plan_rule(when: str, now: datetime, tz: str) -> tuple[Rule, list[datetime]]:
    """The schedule rule ``when`` says in plain words (:func:`bot.core.schedule.parse_rule`)
    and its next :data:`NEXT_COUNT` times after ``now``. :class:`RuleError` when it is not
    understood, has passed or never comes again."""
    rule = parse_rule(when, now, tz)
    times = next_fires(rule, now, NEXT_COUNT)
    if not times:
        raise RuleError(f"{when!r} never comes again: nothing scheduled.")
    return rule, times


def _title(draft: Draft) -> str:
    """``draft.title``, or the first line of the English text cut to 60 characters."""
    if draft.title and draft.title.strip():
        return draft.title.strip()[:200]
    first = next((line.strip() for line in draft.text_en.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1].rstrip() + "…"


def reachable(audience: Audience, settings: Settings) -> Audience | None:
    """``audience`` on the channels that can send (:attr:`Settings.unconfigured_channels`
    left out), or None when none of its channels can. Previews count it and sending queues
    it, so what a preview shows is what goes out."""
    missing = settings.unconfigured_channels
    if not missing & audience.channels:
        return audience
    channels = audience.channels - missing
    return replace(audience, channels=channels) if channels else None


def sms_texts(draft: Draft) -> dict[Lang, str]:
    """The SMS texts of ``draft`` per language, as sent (with the opt-out footer)."""
    texts: dict[Lang, str] = {}
    own: dict[Lang, str | None] = {
        "en": draft.text_en,
        "ur": draft.text_ur,
        "ur-Latn": draft.text_ur_latn,
    }
    for lang in LANGS:
        if own[lang]:
            texts[lang] = announcement_text(
                draft.text_en, draft.text_ur, lang, "sms", draft.text_ur_latn
            )
    return texts


_NOT_CONFIGURED_SHORT = {
    "sms": "SMS is not configured (set an SMS provider)",
    "telegram": "Telegram is not configured (set TELEGRAM_BOT_TOKEN)",
}
_NOT_CONFIGURED = {
    "sms": "SMS is not configured (set an SMS provider): {n} SMS will not be sent",
    "telegram": "Telegram is not configured (set TELEGRAM_BOT_TOKEN): "
    "{n} Telegram messages will not be sent",
}


@dataclass(frozen=True, slots=True)
class Reach:
    """Whom a draft's audience reaches now, per channel and language: ``sizes`` on the
    channels that can send, ``full`` on those that cannot (not configured: what they would
    have reached), as :func:`bot.store.broadcasts.audience_size` counts them."""

    sizes: dict[Channel, dict[Lang, int]]
    full: dict[Channel, dict[Lang, int]]


async def reach(units: Units, settings: Settings, draft: Draft) -> Reach:
    """Count whom ``draft`` reaches now: the half of :func:`preview` that reads the database
    (the texts do not change it, so a page may reuse it while the texts are edited)."""
    audience = reachable(draft.audience, settings)
    missing = draft.audience.channels & settings.unconfigured_channels

    def count(conn: Connection) -> Reach:
        full = dict(audience_size(conn, draft.audience)) if missing else {}
        return Reach((dict(audience_size(conn, audience)) if audience else {}), full)

    return await units.run(count)


async def preview(units: Units, settings: Settings, draft: Draft) -> Preview:
    """Who ``draft`` would reach now, what its SMS cost and how long sending takes.

    Counts come from the same SQL that queues a broadcast, on the same channels
    (:func:`reachable`), so they match what :func:`send_now` would queue at this moment.
    """
    return priced(settings, draft, await reach(units, settings, draft))


def priced(settings: Settings, draft: Draft, counted: Reach) -> Preview:
    """The preview of ``draft`` for the audience counted in ``counted`` (:func:`reach`): its
    texts' cost, the sending time, the notes; no database."""
    missing = draft.audience.channels & settings.unconfigured_channels
    sizes, full = counted.sizes, counted.full
    totals: dict[str, int] = {ch: sum(sizes.get(ch, {}).values()) for ch in CHANNELS}
    by_channel = {ch: n for ch, n in totals.items() if n}
    unconfigured = {ch: n for ch in sorted(missing) if (n := sum(full.get(ch, {}).values()))}
    sms_by_lang = sizes.get("sms", {})
    price = settings.sms_price_per_segment
    # Without a Roman Urdu text its readers get the English one: counted with English.
    roman = sms_by_lang.get("ur-Latn", 0)
    readers: dict[Lang, int] = {"en": sms_by_lang.get("en", 0), "ur": sms_by_lang.get("ur", 0)}
    if draft.text_ur_latn:
        readers["ur-Latn"] = roman
    else:
        readers["en"] += roman
    cost = sms_cost(sms_texts(draft), readers, price if price is not None else Decimal(0))
    sms_people = by_channel.get("sms", 0)
    duration = send_duration(
        by_channel,
        # The pace the dispatcher keeps (a little under each provider's limit).
        {
            "sms": Pacer(settings.sms_per_second).per_second,
            "telegram": Pacer(settings.telegram_per_second).per_second,
        },
        # Providers' rates count segments: a two-segment text takes twice as long.
        segments_per_sms=cost.total_segments / sms_people if sms_people else 1,
    )
    lines = render_preview(cost, by_channel, duration, currency=settings.sms_currency)
    if price is None:
        lines.append(PRICE_UNSET_NOTE)
    lines.extend(_NOT_CONFIGURED[ch].format(n=f"{n:,}") for ch, n in unconfigured.items())
    return Preview(
        recipients=dict(by_channel),
        total=sum(by_channel.values()),
        lines=lines,
        cost=cost,
        priced=price is not None,
        unconfigured=unconfigured,
        duration=duration,
    )


def sms_wait(settings: Settings, at: datetime) -> datetime | None:
    """When SMS queued at ``at`` go out if ``at`` falls in quiet hours (local time), else
    None: the dispatcher holds them until then; Telegram does not wait."""
    window = SendWindow.from_quiet_hours(
        settings.quiet_hours_start, settings.quiet_hours_end, settings.timezone
    )
    return None if in_send_window(window, at) else next_window_open(window, at)


def quiet_note(settings: Settings, now: datetime) -> list[str]:
    """What sending SMS at ``now`` means during quiet hours: one line, or none outside them."""
    opens = sms_wait(settings, now)
    if opens is None:
        return []
    return [f"It is quiet hours: sent now, the SMS wait until {format_fire(opens)}."]


@dataclass(frozen=True, slots=True)
class TestSent:
    """A test send, as recorded: ``error`` says why it did not go (None when it went)."""

    __test__ = False  # not a pytest class

    id: int
    channel: Channel
    address: str
    text: str
    error: str | None


async def send_test(
    units: Units,
    settings: Settings,
    senders: Mapping[Channel, Sender],
    draft: Draft,
    channel: Channel,
    address: str,
    language: Lang,
    now: datetime,
    *,
    by: str,
) -> TestSent:
    """Send ``draft`` as ``language`` readers get it on ``channel`` (the SMS with its opt-out
    footer) to ``address``, the coordinator's own number or Telegram chat id, through the
    real channel (the simulator in sandbox mode), and record it with who sent it.

    :class:`DraftError` for an address that is not a phone number or chat id; a channel that
    is not configured, or a provider that refuses, gives a recorded failure.
    """
    raw = address.strip()
    if channel == "sms":
        try:
            raw = to_e164(raw, settings.phone_region)
        except InvalidPhoneNumber:
            raise DraftError(f"{address!r} is not a phone number.") from None
    elif not raw.lstrip("-").isdigit():
        raise DraftError(f"{address!r} is not a Telegram chat id (a number, e.g. 123456789).")
    text = announcement_text(draft.text_en, draft.text_ur, language, channel, draft.text_ur_latn)
    error: str | None = None
    provider_id: str | None = None
    if channel in settings.unconfigured_channels:
        error = _NOT_CONFIGURED_SHORT[channel]
    else:
        try:
            result = await senders[channel].send(raw, Reply(text=text))
            provider_id = result.provider_id
        except ChannelError as exc:
            error = exc.reason
    status = "failed" if error else "sent"
    test_id = await units.run(
        lambda conn: test_sends.record(
            conn,
            channel,
            raw,
            text,
            status=status,
            provider_id=provider_id,
            error=error,
            created_by=by,
            now=now,
        )
    )
    log.info("test send %d by %s on %s to %s: %s", test_id, by, channel, mask(raw), status)
    return TestSent(id=test_id, channel=channel, address=raw, text=text, error=error)


@dataclass(frozen=True, slots=True)
class Sent:
    """The broadcast created and how many deliveries it queued."""

    broadcast_id: int
    queued: int


async def send_now(
    units: Units,
    settings: Settings,
    draft: Draft,
    now: datetime,
    *,
    by: str,
    first: Callable[[Connection], None] | None = None,
) -> Sent:
    """Store ``draft`` as an announcement and queue it to its audience at once, in one
    transaction; the dispatcher (``outreach serve``) sends it. Only channels that can send are
    queued (:func:`reachable`, as :func:`preview` counts). An audience with nobody in it
    gives a broadcast that is ``done`` at once with 0 queued.

    ``first`` runs at the start of the same transaction: what it raises stores nothing (the
    Telegram bot ends its draft there, so that a draft is sent once).
    """
    audience = reachable(draft.audience, settings)

    def unit(conn: Connection) -> Sent:
        if first is not None:
            first(conn)
        aid = announcements.create_announcement(
            conn, _title(draft), draft.text_en, draft.text_ur, draft.topics, now, draft.text_ur_latn
        )
        bid, queued = start_broadcast(
            conn,
            aid,
            audience or draft.audience,
            f"manual:{uuid.uuid4().hex}",
            now,
            now,
            created_by=by,
            queue=audience is not None,
        )
        if bid is None:  # a random key is never taken; a clash means something else is wrong
            raise RuntimeError("a broadcast key clashed; nothing was sent")
        return Sent(broadcast_id=bid, queued=queued)

    sent = await units.run(unit)
    log.info("broadcast %d queued by %s: %d deliveries", sent.broadcast_id, by, sent.queued)
    return sent


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """A schedule as coordinators see it. ``next_times`` are the next three fire times after
    ``now`` in the rule's zone (none while paused or once it fires no more); ``missed`` the
    times of runs recorded as missed, oldest first."""

    id: int
    title: str
    text_en: str
    enabled: bool
    rule: Rule
    description: str
    next_times: list[datetime]
    audience: Audience
    last_fired_at: datetime | None
    missed: list[datetime]
    created_by: str | None
    text_ur: str | None = None
    # Who last paused or resumed it (None: nobody since it was made).
    updated_by: str | None = None
    text_ur_latn: str | None = None


def _info(row: schedules.ScheduleRow, now: datetime) -> ScheduleInfo:
    rule = rule_from_dict(row.rule)
    return ScheduleInfo(
        id=row.id,
        title=row.title,
        text_en=row.text_en,
        enabled=row.enabled,
        rule=rule,
        description=describe(rule),
        next_times=next_fires(rule, now, NEXT_COUNT) if row.enabled else [],
        audience=audience_from_dict(row.audience),
        last_fired_at=row.last_fired_at,
        missed=list(row.missed),
        created_by=row.created_by,
        text_ur=row.text_ur,
        updated_by=row.updated_by,
        text_ur_latn=row.text_ur_latn,
    )


async def add_schedule(
    units: Units,
    draft: Draft,
    rule: Rule,
    now: datetime,
    *,
    by: str,
    first: Callable[[Connection], None] | None = None,
) -> ScheduleInfo:
    """Store ``draft`` and an enabled schedule sending it to its audience by ``rule``;
    ``first`` as :func:`send_now`'s."""

    def unit(conn: Connection) -> schedules.ScheduleRow:
        if first is not None:
            first(conn)
        aid = announcements.create_announcement(
            conn, _title(draft), draft.text_en, draft.text_ur, draft.topics, now, draft.text_ur_latn
        )
        sid = schedules.create_schedule(
            conn, aid, rule_to_dict(rule), audience_to_dict(draft.audience), now, created_by=by
        )
        return schedules.list_schedules(conn, sid)[0]

    row = await units.run(unit)
    log.info("schedule %d added by %s", row.id, by)
    return _info(row, now)


async def list_schedules(units: Units, now: datetime) -> list[ScheduleInfo]:
    """Every schedule, oldest first."""
    rows = await units.run(schedules.list_schedules)
    return [_info(row, now) for row in rows]


async def get_schedule(units: Units, schedule_id: int, now: datetime) -> ScheduleInfo | None:
    """The schedule, or None when there is no such id."""
    rows = await units.run(lambda conn: schedules.list_schedules(conn, schedule_id))
    return _info(rows[0], now) if rows else None


async def set_schedule_enabled(
    units: Units, schedule_id: int, enabled: bool, now: datetime, *, by: str = "cli"
) -> ScheduleInfo | None:
    """Pause (``enabled=False``) or resume a schedule, recording ``by`` as who did; None when
    there is no such id.

    Runs that fell due while it was paused are not sent on resume.
    """

    def unit(conn: Connection) -> list[schedules.ScheduleRow]:
        if not schedules.set_enabled(conn, schedule_id, enabled, now, by=by):
            return []
        return schedules.list_schedules(conn, schedule_id)

    rows = await units.run(unit)
    if not rows:
        return None
    log.info("schedule %d %s by %s", schedule_id, "resumed" if enabled else "paused", by)
    return _info(rows[0], now)


async def remove_schedule(units: Units, schedule_id: int, *, by: str = "cli") -> bool:
    """Delete a schedule (its past broadcasts and their reports stay); False when unknown.
    The log records ``by`` as who removed it (the row itself is gone)."""
    removed = await units.run(lambda conn: schedules.delete_schedule(conn, schedule_id))
    if removed:
        log.info("schedule %d removed by %s", schedule_id, by)
    return removed
