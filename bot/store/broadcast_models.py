"""The broadcasts' tables (issue 5): what coordinators say (:class:`Announcement`), when
(:class:`Schedule`), each firing (:class:`Broadcast`) and the outbox (:class:`Delivery`).

On :class:`bot.store.models.Base`, with its column types; their queries are in
:mod:`bot.store.announcements`, :mod:`bot.store.schedules`, :mod:`bot.store.broadcasts` and
:mod:`bot.store.deliveries`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.decision import Channel
from bot.store.models import (
    CHANNELS,
    PROVIDER_ID_LENGTH,
    Base,
    Id,
    JSONList,
    UTCDateTime,
    one_of,
)

# queued: deliveries are (being) written (a large audience's rest waits in recipient_pages);
# sending: the dispatcher works through them; done: every delivery is final and no page is
# left; cancelled: stopped by a coordinator; missed: a schedule's run found too old after a
# restart, recorded but not sent.
BroadcastStatus = Literal["queued", "sending", "done", "cancelled", "missed"]
BROADCAST_STATUSES: tuple[BroadcastStatus, ...] = get_args(BroadcastStatus)

# pending -> sending (claimed under a lease) -> sent -> delivered | failed; back to pending
# with a backoff on a retryable error; skipped when the contact may no longer be sent to.
DeliveryStatus = Literal["pending", "sending", "sent", "delivered", "failed", "skipped"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)


class Announcement(Base):
    """What coordinators say: English text (required), Urdu and Roman Urdu (optional; English
    is the fallback)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text_en: Mapped[str] = mapped_column(Text)
    text_ur: Mapped[str | None] = mapped_column(Text)
    text_ur_latn: Mapped[str | None] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSONList(), default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Schedule(Base):
    """When an announcement goes out.

    ``rule`` is :func:`bot.core.schedule.rule_to_dict`'s output and ``audience``
    :func:`bot.core.audience.audience_to_dict`'s.
    """

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_announcement_id", "announcement_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        Id, ForeignKey("announcements.id", ondelete="CASCADE")
    )
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    # bool maps to Boolean; TRUE is a keyword on PostgreSQL and SQLite >= 3.23.
    enabled: Mapped[bool] = mapped_column(default=True, server_default=text("TRUE"))
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who made it: "cli" or "telegram:<user id>".
    created_by: Mapped[str | None] = mapped_column(String(64))
    # Who last paused or resumed it ("cli", "telegram:<user id>" or a coordinator's name).
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Broadcast(Base):
    """One firing of an announcement to an audience.

    ``key`` is unique (``schedule:<id>:<fire time ISO>`` or ``manual:<uuid>``), so a schedule
    that fires twice for the same time creates one broadcast. Counts come from its deliveries
    and the recipients still in its pages.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        UniqueConstraint("key"),
        CheckConstraint(one_of("status", BROADCAST_STATUSES), name="status"),
        Index("ix_broadcasts_announcement_id", "announcement_id"),
        Index("ix_broadcasts_schedule_id", "schedule_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        Id, ForeignKey("announcements.id", ondelete="RESTRICT")
    )
    schedule_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("schedules.id", ondelete="SET NULL")
    )
    key: Mapped[str] = mapped_column(String(200))
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[BroadcastStatus] = mapped_column(
        String(16), default="queued", server_default="queued"
    )
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who sent it: "cli", "telegram:<user id>", or "schedule".
    created_by: Mapped[str | None] = mapped_column(String(64))
    # Who cancelled it, when someone did.
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    # Set when it became done, cancelled or missed.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """The outbox: one row per broadcast and contact.

    The dispatcher claims due rows (``status``, ``next_attempt_at``) and holds them until
    ``lease_until``; delivery reports find a row by ``(channel, provider_id)``.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # What a claim reads: the channel's due pending rows, earliest first.
        Index(
            "ix_deliveries_channel_status_next_attempt_at_id",
            "channel",
            "status",
            "next_attempt_at",
            "id",
        ),
        # Whether a broadcast has rows left to send; its rows by status and channel (live
        # progress, reports) from the index alone.
        Index("ix_deliveries_broadcast_id_status_channel", "broadcast_id", "status", "channel"),
        # The SMS a provider accepted (charged), what a report's cost counts: entered once
        # per SMS, when it is sent, none while queued. Partial (channel 'sms', sent_at set) on both
        # databases, as migration 0852061896db creates it; the condition is not repeated here
        # because ``sqlite_where``/``postgresql_where`` would import both SQLAlchemy dialects
        # wherever the models load (Alembic does not compare an index's condition).
        Index("ix_deliveries_sms_accepted", "broadcast_id", "contact_id"),
        # What a delivery report finds its row by: entered when a send gets its provider id,
        # none while queued. Partial (provider_id set) on both databases, as migration
        # 6d19fef4628f creates it, for the reason above; every look-up is an equality on
        # provider_id, which implies the condition.
        Index("ix_deliveries_channel_provider_id", "channel", "provider_id"),
        # A contact's deliveries, sent or not: the daily cap (sent in the last day, or being
        # sent, sent_at still NULL) and a person's history. Whole, unlike the two above: no
        # other index leads with contact_id, and partial (sent_at set) neither query could
        # read it (the cap's OR does not imply sent_at IS NOT NULL): the cap read the whole
        # table on PostgreSQL (a whole index on SQLite), once per claimed batch.
        Index("ix_deliveries_contact_id_sent_at", "contact_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(Id, ForeignKey("broadcasts.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(String(16))
    status: Mapped[DeliveryStatus] = mapped_column(
        String(16), default="pending", server_default="pending"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(PROVIDER_ID_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)
    # When the provider accepted it (the per-person daily cap counts these).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecipientPage(Base):
    """Recipients of a broadcast not yet written as deliveries: up to
    :data:`bot.store.pages.PAGE` contact ids of one channel, in contact order, packed as 8-byte
    integers (:mod:`bot.store.pages`). Queueing fixes who gets a broadcast in these; the
    dispatcher turns them into deliveries a few thousand at a time."""

    __tablename__ = "recipient_pages"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint("n > 0", name="n"),
    )

    broadcast_id: Mapped[int] = mapped_column(
        Id, ForeignKey("broadcasts.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[Channel] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    contact_ids: Mapped[bytes] = mapped_column(LargeBinary)
    n: Mapped[int] = mapped_column(Integer)  # how many ids
