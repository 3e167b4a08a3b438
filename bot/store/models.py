"""The tables, as SQLAlchemy 2 typed declarative models: the one :class:`Base`, the column
types every model uses, and the tables of people and their messages (subscribers, contacts,
messages, hand-over threads, parked delivery reports, the worker's fencing token).

The other tables sit on the same :class:`Base` in modules of their own:
:mod:`bot.store.broadcast_models` (announcements, schedules, broadcasts, the outbox),
:mod:`bot.store.coordinator_models` (console accounts, coordinators' answers, test sends) and
:mod:`bot.store.draft_models` (what a coordinator is writing on Telegram).
:mod:`bot.store.tables` imports them all: its ``metadata`` is the whole schema, what Alembic
compares and the tests empty.

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


def one_of(column: str, values: tuple[str, ...]) -> str:
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
        CheckConstraint(one_of("language", LANGS), name="language"),
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
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", CONTACT_STATUSES), name="status"),
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
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("direction", DIRECTIONS), name="direction"),
        CheckConstraint(one_of("status", MESSAGE_STATUSES), name="status"),
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
        CheckConstraint(one_of("state", THREAD_STATES), name="state"),
        CheckConstraint(one_of("reason", THREAD_REASONS), name="reason"),
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


class ParkedReport(Base):
    """A delivery report for a provider id we do not know yet.

    A provider can report on a message before the sender has stored the id it was given
    (the send's answer and the report race). The report waits here and is applied once the
    id turns up (:func:`bot.store.reports.apply_parked`); one that never matches (a message
    sent by something else on the same number) is dropped after an hour.
    """

    __tablename__ = "parked_reports"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", MESSAGE_STATUSES), name="status"),
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
