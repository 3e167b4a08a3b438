"""What a coordinator is in the middle of on Telegram (issue 13): an ``/announce`` draft
and a reply to a hand-over thread, kept in the database so that any web process can take
their next update.

On :class:`bot.store.models.Base`, with its column types; their queries are in
:mod:`bot.store.drafts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, Id, UTCDateTime, one_of

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
        CheckConstraint(one_of("step", DRAFT_STEPS), name="step"),
        CheckConstraint(one_of("reach", DRAFT_REACHES), name="reach"),
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
