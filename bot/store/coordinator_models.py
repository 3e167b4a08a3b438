"""What coordinators keep: their console accounts (issue 12) with one-time sign-in links,
failed sign-ins and the key that signs session cookies; the answers they add (issue 11) and
who changed them; their test sends of an announcement.

On :class:`bot.store.models.Base`, with its column types; their queries are in
:mod:`bot.store.coordinators`, :mod:`bot.store.answers` and :mod:`bot.store.test_sends`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.decision import Channel
from bot.store.models import CHANNELS, Base, Id, UTCDateTime, one_of


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
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("status", ("sent", "failed")), name="status"),
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
        CheckConstraint(one_of("action", ANSWER_ACTIONS), name="action"),
        Index("ix_answer_changes_answer_key_id", "answer_key", "id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    answer_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[AnswerAction] = mapped_column(String(8))
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
