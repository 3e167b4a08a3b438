"""Providers' delivery reports on what we sent: replies (``messages``) and announcements
(``deliveries``), which share the provider's id space.

:func:`record` applies a report in the caller's unit. A report can arrive before the sender
has stored the provider's id (the send's answer and the provider's callback race, and the
callback can win): :func:`record` then **parks** it (``parked_reports``) instead of dropping
it, and :func:`apply_parked` (run by the worker every ten seconds) applies parked reports
whose id has turned up since. A parked report that never matches (a message sent by
something else on the same number, or a reply answered in TwiML, whose id we never learn) is
dropped after :data:`KEEP_PARKED`: the race it waits out lasts milliseconds to seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, exists, insert, select

from bot.core.decision import Channel, ContactStatus
from bot.store import contacts, deliveries, messages
from bot.store.models import MessageStatus, require_aware
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import messages as _messages
from bot.store.tables import parked_reports as _parked

KEEP_PARKED = timedelta(hours=1)
# Parked reports looked at per call of apply_parked, oldest first.
PARKED_BATCH = 500


@dataclass(frozen=True, slots=True)
class Report:
    """What a provider said of one message it was given."""

    channel: Channel
    provider_id: str
    status: MessageStatus
    error_code: str | None = None
    error: str | None = None
    # What it says of the number: 21610 -> opted_out.
    contact_status: ContactStatus | None = None


@dataclass(frozen=True, slots=True)
class Applied:
    """``message``: a reply changed; ``delivery``: an announcement changed; ``known``: the id
    is one of ours (False: the report was parked, or would have been)."""

    message: bool
    delivery: bool
    known: bool


def apply(conn: Connection, report: Report, now: datetime) -> Applied:
    """Apply ``report`` to the reply or announcement it is about, and to its contact when the
    provider says the number is gone. Nothing moves backwards: a late or repeated report
    changes nothing but still counts as ``known``."""
    require_aware(now)
    channel, provider_id, status = report.channel, report.provider_id, report.status
    message = messages.update_message_status(
        conn, channel, provider_id, status, now, error_code=report.error_code, error=report.error
    )
    contact_id = messages.contact_of_outbound(conn, channel, provider_id)
    delivery = False
    if status in ("delivered", "failed"):
        reported = deliveries.report(
            conn,
            channel,
            provider_id,
            "delivered" if status == "delivered" else "failed",
            now,
            error=report.error,
        )
        delivery = reported is not None
        contact_id = contact_id if contact_id is not None else reported
    if contact_id is None:
        contact_id = deliveries.contact_of_delivery(conn, channel, provider_id)
    if report.contact_status is not None and contact_id is not None:
        code = report.error_code
        contacts.set_contact_status(
            conn,
            contact_id,
            report.contact_status,
            now,
            reason=f"provider:{code}" if code else "provider",
        )
    return Applied(message=message, delivery=delivery, known=contact_id is not None)


def record(conn: Connection, report: Report, now: datetime) -> Applied:
    """:func:`apply` ``report``; when its id is not (yet) one of ours, park it."""
    applied = apply(conn, report, now)
    if not applied.known:
        conn.execute(
            insert(_parked).values(
                channel=report.channel,
                provider_id=report.provider_id,
                status=report.status,
                error_code=report.error_code,
                error=report.error,
                contact_status=report.contact_status,
                received_at=now,
            )
        )
    return applied


def apply_parked(conn: Connection, now: datetime) -> tuple[int, int]:
    """Apply the parked reports whose provider id is now stored (oldest first, at most
    :data:`PARKED_BATCH`), and drop those parked longer than :data:`KEEP_PARKED`; how many
    of each."""
    require_aware(now)
    p, d, m = _parked, _deliveries, _messages
    ours = exists().where(d.c.channel == p.c.channel, d.c.provider_id == p.c.provider_id)
    replied = exists().where(
        m.c.channel == p.c.channel, m.c.direction == "out", m.c.provider_id == p.c.provider_id
    )
    rows = conn.execute(
        select(
            p.c.id,
            p.c.channel,
            p.c.provider_id,
            p.c.status,
            p.c.error_code,
            p.c.error,
            p.c.contact_status,
        )
        .where(ours | replied)
        .order_by(p.c.id)
        .limit(PARKED_BATCH)
    ).all()
    done = [row.id for row in rows if apply(conn, Report(*row[1:]), now).known]
    if done:
        conn.execute(delete(p).where(p.c.id.in_(done)))
    dropped = conn.execute(delete(p).where(p.c.received_at < now - KEEP_PARKED)).rowcount
    return len(done), max(dropped, 0)
