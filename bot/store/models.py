"""The tables, as SQLAlchemy 2 typed declarative models.

(About 640 lines: every table of the schema in one place, beside the one :class:`Base` and
naming convention they share, so ``alembic check`` and a migration read one module; each
model is short, and the store modules named after them hold their queries.)

One :class:`Base`, whose MetaData carries a naming convention so every constraint and index
has a predictable name (Alembic needs names to alter or drop them, and SQLite batch mode needs
them to recreate a table). Text-valued enumerations are plain strings guarded by CHECK
constraints, not native enums: adding a value is then a small, portable migration.

Every timestamp is a :class:`UTCDateTime`: aware UTC in, aware UTC out, on every database.
Nothing here reads the clock; the store's callers pass ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from bot.core.catalog import LANGS, Lang
from bot.core.decision import Channel, ContactStatus
from bot.core.names import FOLDED_MAX, NAME_MAX

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CHANNELS: tuple[Channel, ...] = ("sms", "telegram")
CONTACT_STATUSES: tuple[ContactStatus, ...] = ("active", "opted_out", "blocked", "invalid")

Direction = Literal["in", "out"]
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)

# received: inbound. queued -> sent -> delivered | failed: outbound through a provider.
# simulated: outbound recorded by the sandbox channel instead of being sent.
MessageStatus = Literal["received", "queued", "sent", "delivered", "failed", "simulated"]
MESSAGE_STATUSES: tuple[MessageStatus, ...] = get_args(MessageStatus)

# 64-bit ids on PostgreSQL (messages and, later, deliveries grow without bound); on SQLite an
# id must be exactly INTEGER to be the auto-incrementing rowid.
Id = BigInteger().with_variant(Integer(), "sqlite")

# The longest provider id (Twilio's MessageSid, the gateway's messageId, a Telegram
# update_id) and provider error code the columns keep: webhooks refuse longer ones (400).
PROVIDER_ID_LENGTH = 128
ERROR_CODE_LENGTH = 32


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the store; pass an aware one (UTC or local)."""


class NotFound(LookupError):
    """The row the caller named does not exist."""


def require_aware(now: datetime) -> None:
    """Raise :class:`NaiveDatetimeError` for a naive ``now``.

    Store functions check up front, so the caller gets this error and not one wrapped in a
    ``StatementError``. UTC, what every caller passes, is aware without asking its offset.
    """
    tz = now.tzinfo
    if tz is not UTC and (tz is None or now.utcoffset() is None):
        raise NaiveDatetimeError(
            f"naive datetime {now.isoformat()} given as now; pass an aware one"
        )


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC.

    PostgreSQL keeps it as ``timestamptz``. SQLite has no time zones and SQLAlchemy's SQLite
    DATETIME silently drops the offset, so the value is converted to UTC first and read back
    as UTC. A naive datetime raises :class:`NaiveDatetimeError` instead of being guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(
                f"naive datetime {value.isoformat()} given; the store needs an aware one "
                "(e.g. datetime.now(UTC))"
            )
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONList(TypeDecorator[list[str]]):
    """A JSON list; JSONB on PostgreSQL, so audiences can filter topics with its operators
    and a GIN index.

    The same as ``JSON().with_variant(JSONB(), "postgresql")`` (what the migrations write),
    except that the PostgreSQL type is imported only when a PostgreSQL database asks for it:
    importing that dialect would cost every command on SQLite tens of milliseconds for nothing.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint: ``column IN ('a', 'b')``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Subscriber(Base):
    """A person. ``language`` is None until they pick one (or we infer it); ``name`` is None
    until a Telegram profile or a CSV gives one."""

    __tablename__ = "subscribers"
    __table_args__ = (
        CheckConstraint(_one_of("language", LANGS), name="language"),
        # The console's overview: who subscribes by language, city and topic, read from
        # the index alone, and who joined in the last weeks.
        Index("ix_subscribers_language_city_topics", "language", "city", "topics"),
        Index("ix_subscribers_created_at", "created_at"),
        # The console's search inside names: the folded names alone, read whole (a seventh of
        # the table). Partial (name_folded IS NOT NULL) on both databases, as migration
        # eafcfdd9f8ff creates it; the condition is not repeated here, for the reason given
        # at ix_deliveries_sms_accepted.
        Index("ix_subscribers_name_folded", "name_folded"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # From their Telegram profile or a coordinator's CSV (bot.core.names.clean_name), and
    # folded for the console's search (fold_name): both written together, or neither.
    name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    name_folded: Mapped[str | None] = mapped_column(String(FOLDED_MAX))
    language: Mapped[Lang | None] = mapped_column(String(8))
    city: Mapped[str | None] = mapped_column(String(64))
    # Replace the list to change it (``sub.topics = [*sub.topics, "jobs"]``): in-place
    # mutation of a JSON column is not tracked.
    topics: Mapped[list[str]] = mapped_column(JSONList(), default=list, server_default=text("'[]'"))
    source: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="subscriber", lazy="raise", passive_deletes=True
    )


class Contact(Base):
    """One way to reach a subscriber: an SMS number (E.164) or a Telegram chat id.

    ``status_reason`` says why the status last changed (``keyword``, ``provider:21610``,
    ``telegram:blocked`` …) and ``status_words`` what the person wrote, if anything.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("channel", "address"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", CONTACT_STATUSES), name="status"),
        # A subscriber's contacts; the audience's "has an active Telegram chat" test from
        # the index alone.
        Index("ix_contacts_subscriber_id_channel_status", "subscriber_id", "channel", "status"),
        # The overview's counts per status and channel, and the people no longer reachable.
        Index("ix_contacts_status_channel_subscriber_id", "status", "channel", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(Id, ForeignKey("subscribers.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    status: Mapped[ContactStatus] = mapped_column(
        String(16), default="active", server_default="active"
    )
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_reason: Mapped[str | None] = mapped_column(String(64))
    status_words: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    subscriber: Mapped[Subscriber] = relationship(back_populates="contacts", lazy="raise")


class Message(Base):
    """Every message in or out. Inbound is de-duplicated on the provider's id.

    ``provider_id`` must be unique per channel and direction: Twilio's ``MessageSid``, the
    Telegram ``update_id`` inbound, ``"<chat id>:<message_id>"`` for Telegram outbound (a
    Telegram ``message_id`` is only unique within its chat).
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id"),
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_one_of("status", MESSAGE_STATUSES), name="status"),
        Index("ix_messages_contact_id_created_at", "contact_id", "created_at"),
        Index("ix_messages_intent_created_at", "intent", "created_at"),
        Index("ix_messages_thread_id", "thread_id"),
        Index("ix_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_messages_reply_to", "reply_to"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(String(3))
    channel: Mapped[Channel] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(PROVIDER_ID_LENGTH))
    segments: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[MessageStatus] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(ERROR_CODE_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)
    # Inbound: what the bot made of it (a :data:`bot.core.decision.Intent`; "unknown"
    # and "no_answer" are questions it could not answer, for ``outreach report unanswered``;
    # the intent before any hand-over) and the
    # language it answered in. None for events and for messages stored before these existed.
    # Outbound: the guard ("cost_guard", "loop_guard") whose notice it is, else None.
    intent: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The hand-over this message belongs to, if any (issue 11).
    thread_id: Mapped[int | None] = mapped_column(Id, ForeignKey("threads.id", ondelete="SET NULL"))
    # A reply in the outbox (bot.store.replies): the inbound message it answers, its Telegram
    # buttons as JSON, how often it was claimed, and while ``queued`` when it may be claimed
    # (the end of the lease of the send in flight, or of a retry's backoff). None for inbound
    # messages, coordinators' replies and messages stored before the outbox.
    reply_to: Mapped[int | None] = mapped_column(Id)
    buttons: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    contact: Mapped[Contact] = relationship(lazy="raise")


# open: waiting for a coordinator; claimed: one coordinator answers it; closed: done.
ThreadState = Literal["open", "claimed", "closed"]
THREAD_STATES: tuple[ThreadState, ...] = get_args(ThreadState)
# Why the bot handed over: the resident asked for a person, or it missed twice in a row.
ThreadReason = Literal["asked", "missed"]
THREAD_REASONS: tuple[ThreadReason, ...] = get_args(ThreadReason)


class Thread(Base):
    """A conversation handed over to the coordinators; its messages point at it.

    ``language`` is the resident's at hand-over. ``claimed_by`` answers it until it is closed:
    a claim is a conditional UPDATE, so two coordinators pressing Reply at once never both
    send. Who: ``"telegram:<user id>"`` or a name given on the command line.
    """

    __tablename__ = "threads"
    __table_args__ = (
        CheckConstraint(_one_of("state", THREAD_STATES), name="state"),
        CheckConstraint(_one_of("reason", THREAD_REASONS), name="reason"),
        Index("ix_threads_contact_id_state", "contact_id", "state"),
        Index("ix_threads_state_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(Id, ForeignKey("contacts.id", ondelete="CASCADE"))
    language: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[ThreadReason] = mapped_column(String(16))
    state: Mapped[ThreadState] = mapped_column(String(16), default="open", server_default="open")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Coordinators' broadcasts (issue 5): what is said, when, each firing, and the outbox.

# queued: deliveries are (being) written; sending: the dispatcher works through them; done:
# every delivery is final; cancelled: stopped by a coordinator; missed: a schedule's run found
# too old after a restart, recorded but not sent.
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
    that fires twice for the same time creates one broadcast. Counts come from its deliveries.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        UniqueConstraint("key"),
        CheckConstraint(_one_of("status", BROADCAST_STATUSES), name="status"),
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
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
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
        Index("ix_deliveries_channel_provider_id", "channel", "provider_id"),
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


class ParkedReport(Base):
    """A delivery report for a provider id we do not know yet.

    A provider can report on a message before the sender has stored the id it was given
    (the send's answer and the report race). The report waits here and is applied once the
    id turns up (:func:`bot.store.reports.apply_parked`); one that never matches (a message
    sent by something else on the same number) is dropped after an hour.
    """

    __tablename__ = "parked_reports"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", MESSAGE_STATUSES), name="status"),
        Index("ix_parked_reports_received_at", "received_at"),
        Index("ix_parked_reports_channel_provider_id", "channel", "provider_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(PROVIDER_ID_LENGTH))
    status: Mapped[MessageStatus] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(ERROR_CODE_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)
    # What the report says of the number (21610: opted out), if anything.
    contact_status: Mapped[ContactStatus | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


# Coordinators' answers (issue 11): matched alongside content/, changed without a developer.

AnswerAction = Literal["add", "edit", "remove"]
ANSWER_ACTIONS: tuple[AnswerAction, ...] = get_args(AnswerAction)


class CoordinatorAnswer(Base):
    """An answer a coordinator added (``outreach answers add``): fees, dates, the address.

    ``key`` is its answer id, unique among these and the content's. ``keywords`` are as typed
    (normalised when matched). Without a Roman Urdu SMS a Roman Urdu reader gets the English
    one.
    """

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    keywords: Mapped[list[str]] = mapped_column(JSON)
    sms_en: Mapped[str] = mapped_column(Text)
    sms_ur: Mapped[str] = mapped_column(Text)
    sms_ur_latn: Mapped[str | None] = mapped_column(Text)
    telegram_en: Mapped[str | None] = mapped_column(Text)
    telegram_ur: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnswerChange(Base):
    """Who changed a coordinator answer, when, and from what to what (kept after a remove).

    ``before`` and ``after`` are the answer's fields (None before an add and after a
    remove). Rows are only ever added, so their count is the answers' version: every process
    re-reads the answers when it changes.
    """

    __tablename__ = "answer_changes"
    __table_args__ = (
        CheckConstraint(_one_of("action", ANSWER_ACTIONS), name="action"),
        Index("ix_answer_changes_answer_key_id", "answer_key", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    answer_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[AnswerAction] = mapped_column(String(8))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# The coordinators' console (issue 12): accounts, one-time sign-in links, failed sign-ins and
# the key that signs session cookies.


class Coordinator(Base):
    """A console account. ``name`` is what every action records (``created_by``, ``closed_by``
    …). ``password_hash`` is argon2 (None: links only); ``telegram_id`` may ask the bot for a
    sign-in link with ``/login``. ``session_epoch`` goes up when the password changes, which
    ends every session signed in before."""

    __tablename__ = "coordinators"
    __table_args__ = (UniqueConstraint("name"), UniqueConstraint("telegram_id"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    is_admin: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SignInLink(Base):
    """A one-time sign-in link: only the SHA-256 of its token is kept; used once, then
    ``used_at`` is set; useless after ``expires_at``. Removed with its coordinator."""

    __tablename__ = "sign_in_links"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    coordinator_id: Mapped[int] = mapped_column(
        Id, ForeignKey("coordinators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(Base):
    """A failed password sign-in: the name tried and the client's address. Counted over a
    window to slow the next tries; an old row means nothing and may be deleted."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account_at", "account", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConsoleKey(Base):
    """The key that signs the console's session cookies when ``CONSOLE_SECRET_KEY`` is not
    set: made once, shared by every process on the database."""

    __tablename__ = "console_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TestSend(Base):
    """A coordinator's test of an announcement, sent to their own number or chat through the
    real channel before residents get it: who, where, what and how it went."""

    __tablename__ = "test_sends"
    __table_args__ = (
        CheckConstraint(_one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", ("sent", "failed")), name="status"),
        Index("ix_test_sends_created_by_created_at", "created_by", "created_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[Channel] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WorkerEpoch(Base):
    """The one-worker lock's fencing token (:mod:`bot.store.epochs`): one row whose ``epoch``
    each worker raises when it takes the lock. A worker claims and sends only while the row
    still holds its own epoch, so one that lost the lock without noticing stops at its next
    claim or send once another has taken over. The holder also beats a heartbeat on it."""

    __tablename__ = "worker_epochs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    epoch: Mapped[int] = mapped_column(BigInteger)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The worker holding ``epoch`` was last seen alive (bot.store.epochs.beat): /healthz and
    # /metrics of every process read it.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# What a coordinator is in the middle of on Telegram, kept here so that any web process can
# take their next update (issue 13): an /announce draft, and a reply to a hand-over thread.

# The /announce steps, in order (bot.telegram.announce).
DraftStep = Literal["text_en", "text_ur", "audience", "preview", "when", "confirm"]
DRAFT_STEPS: tuple[DraftStep, ...] = get_args(DraftStep)
# Who an /announce draft goes to: everyone (Telegram if they use it, else SMS), or one channel.
DraftReach = Literal["all", "telegram", "sms"]
DRAFT_REACHES: tuple[DraftReach, ...] = get_args(DraftReach)


class AnnounceDraft(Base):
    """A coordinator's ``/announce`` being written: one per Telegram user, gone once it is
    sent, scheduled, cancelled or dropped.

    ``token`` is in the data of its buttons (a new draft, or a new time typed, makes a new
    one). ``rule`` is :func:`bot.core.schedule.rule_to_dict`'s output once a time is typed.
    ``version`` goes up with every change, and ``busy_until`` is set while one process works
    on a step: taking a step is one conditional UPDATE on both, so of two updates handled at
    once (by two processes) one goes on and the other is told to wait.
    """

    __tablename__ = "announce_drafts"
    __table_args__ = (
        CheckConstraint(_one_of("step", DRAFT_STEPS), name="step"),
        CheckConstraint(_one_of("reach", DRAFT_REACHES), name="reach"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(16))
    step: Mapped[DraftStep] = mapped_column(String(16))
    text_en: Mapped[str] = mapped_column(Text)
    text_ur: Mapped[str | None] = mapped_column(Text)
    reach: Mapped[DraftReach] = mapped_column(String(16))
    topics: Mapped[list[str]] = mapped_column(JSON)
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(BigInteger)
    busy_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReplyDraft(Base):
    """A coordinator's reply to a hand-over thread being written on Telegram (after Reply):
    one per Telegram user; ``text`` once written, shown with Send and Cancel. Taking it to
    send deletes it, so Send pressed twice sends once."""

    __tablename__ = "reply_drafts"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    thread_id: Mapped[int] = mapped_column(Id, ForeignKey("threads.id", ondelete="CASCADE"))
    text: Mapped[str | None] = mapped_column(Text)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime())
