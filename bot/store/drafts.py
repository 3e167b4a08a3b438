"""Drafts: what a coordinator is in the middle of writing on Telegram, one row per Telegram
user, so that whichever web process gets their next update carries on from it.

An ``/announce`` draft (:class:`AnnounceDraft`, :mod:`bot.telegram.announce`) moves one step at
a time. A process that takes a step first claims the draft (:func:`claim_draft`: one
conditional UPDATE on its ``version`` that also marks it busy until a lease runs out), works,
then stores what the step changed and frees it (:func:`save_draft`), or ends it
(:func:`drop_draft`); each of these matches the version it claimed, so of two updates handled
at once, by two processes or one, exactly one claims the draft and the other is told to wait.
A process that dies in the middle of a step leaves the draft busy until the lease runs out.

A reply to a hand-over thread (:class:`ReplyDraft`, :mod:`bot.telegram.handover`) is simpler:
it is started, its text written (the last one written wins), and taken to be sent by one
DELETE (:func:`take_reply`), so Send pressed twice sends once.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`; nothing
commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from bot.store.draft_models import DraftReach, DraftStep
from bot.store.models import require_aware
from bot.store.tables import announce_drafts as _drafts
from bot.store.tables import insert_ignoring
from bot.store.tables import reply_drafts as _replies

_d = _drafts


@dataclass(slots=True)
class AnnounceDraft:
    """An ``/announce`` draft; the step being taken changes it, :func:`save_draft` stores it.

    ``version`` is the one read (or claimed); ``busy_until`` is set while a process takes a
    step.
    """

    user_id: int
    token: str
    step: DraftStep
    touched_at: datetime
    version: int = 0
    text_en: str = ""
    text_ur: str | None = None
    reach: DraftReach = "all"
    topics: list[str] = field(default_factory=list)
    rule: dict[str, Any] | None = None
    busy_until: datetime | None = None

    def busy(self, now: datetime) -> bool:
        return self.busy_until is not None and self.busy_until > now


_COLUMNS = (
    _d.c.user_id,
    _d.c.token,
    _d.c.step,
    _d.c.touched_at,
    _d.c.version,
    _d.c.text_en,
    _d.c.text_ur,
    _d.c.reach,
    _d.c.topics,
    _d.c.rule,
    _d.c.busy_until,
)


def get_draft(conn: Connection, user_id: int) -> AnnounceDraft | None:
    """The user's draft, or None when they have none open."""
    row = conn.execute(select(*_COLUMNS).where(_d.c.user_id == user_id)).first()
    if row is None:
        return None
    values = row._asdict()
    values["topics"] = list(values["topics"] or [])
    return AnnounceDraft(**values)


def start_draft(conn: Connection, user_id: int, token: str, step: DraftStep, now: datetime) -> bool:
    """Open a new empty draft at ``step`` for the user, in place of the one they had; False
    (nothing changed) when that one is busy."""
    require_aware(now)
    fresh: dict[str, Any] = {
        "token": token,
        "step": step,
        "text_en": "",
        "text_ur": None,
        "reach": "all",
        "topics": [],
        "rule": None,
        "busy_until": None,
        "touched_at": now,
    }
    insert = insert_ignoring(conn.dialect.name, _d).values(user_id=user_id, version=0, **fresh)
    upsert = insert.on_conflict_do_update(
        index_elements=[_d.c.user_id],
        set_={**fresh, "version": _d.c.version + 1},
        where=or_(_d.c.busy_until.is_(None), _d.c.busy_until <= now),
    )
    return conn.execute(upsert.returning(_d.c.user_id)).first() is not None


def claim_draft(conn: Connection, draft: AnnounceDraft, now: datetime, until: datetime) -> bool:
    """Mark ``draft`` busy until ``until`` for the step taken at ``now``, if it is still as
    read and not busy; then ``draft`` holds the claimed version. False: another update took
    it, or it was replaced or ended."""
    require_aware(now)
    claimed = conn.execute(
        update(_d)
        .where(
            _d.c.user_id == draft.user_id,
            _d.c.version == draft.version,
            or_(_d.c.busy_until.is_(None), _d.c.busy_until <= now),
        )
        .values(version=_d.c.version + 1, busy_until=until, touched_at=now)
    ).rowcount
    if claimed != 1:
        return False
    draft.version, draft.busy_until, draft.touched_at = draft.version + 1, until, now
    return True


def save_draft(conn: Connection, draft: AnnounceDraft) -> bool:
    """Store what the step changed in ``draft`` and free it; False when the claim was lost
    (its lease ran out and another update took it), and nothing is stored."""
    return _free(
        conn,
        draft,
        token=draft.token,
        step=draft.step,
        text_en=draft.text_en,
        text_ur=draft.text_ur,
        reach=draft.reach,
        topics=list(draft.topics),
        rule=draft.rule,
    )


def release_draft(conn: Connection, draft: AnnounceDraft) -> bool:
    """Free ``draft`` as it was before the step (the step failed)."""
    return _free(conn, draft)


def _free(conn: Connection, draft: AnnounceDraft, **values: Any) -> bool:
    return (
        conn.execute(
            update(_d)
            .where(_d.c.user_id == draft.user_id, _d.c.version == draft.version)
            .values(version=_d.c.version + 1, busy_until=None, **values)
        ).rowcount
        == 1
    )


def drop_draft(conn: Connection, draft: AnnounceDraft) -> bool:
    """End ``draft`` (and not a newer one of the same user); False when it was not there as
    read or claimed."""
    stmt = delete(_d).where(_d.c.user_id == draft.user_id, _d.c.version == draft.version)
    return conn.execute(stmt).rowcount == 1


# -- replies to hand-over threads ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """A reply being written to ``thread_id``; ``text`` None until written."""

    user_id: int
    thread_id: int
    text: str | None
    touched_at: datetime


def get_reply(conn: Connection, user_id: int) -> ReplyDraft | None:
    r = _replies
    row = conn.execute(
        select(r.c.user_id, r.c.thread_id, r.c.text, r.c.touched_at).where(r.c.user_id == user_id)
    ).first()
    return ReplyDraft(*row) if row is not None else None


def start_reply(conn: Connection, user_id: int, thread_id: int, now: datetime) -> None:
    """The user now writes a reply to ``thread_id``, in place of any other they were writing."""
    require_aware(now)
    fresh: dict[str, Any] = {"thread_id": thread_id, "text": None, "touched_at": now}
    stmt = insert_ignoring(conn.dialect.name, _replies).values(user_id=user_id, **fresh)
    conn.execute(stmt.on_conflict_do_update(index_elements=[_replies.c.user_id], set_=fresh))


def write_reply(conn: Connection, user_id: int, thread_id: int, text: str, now: datetime) -> bool:
    """Keep ``text`` as the reply to ``thread_id``; False when the user is not writing one."""
    require_aware(now)
    r = _replies
    stmt = (
        update(r)
        .where(r.c.user_id == user_id, r.c.thread_id == thread_id)
        .values(text=text, touched_at=now)
    )
    return conn.execute(stmt).rowcount == 1


def take_reply(conn: Connection, user_id: int, thread_id: int) -> str | None:
    """The written reply to ``thread_id``, removed: of two takers at once one gets it, the
    other None (as when nothing was written)."""
    r = _replies
    stmt = (
        delete(r)
        .where(r.c.user_id == user_id, r.c.thread_id == thread_id, r.c.text.is_not(None))
        .returning(r.c.text)
    )
    text: str | None = conn.execute(stmt).scalar()
    return text


def drop_reply(conn: Connection, user_id: int) -> bool:
    """Stop the reply the user was writing; False when there was none."""
    return conn.execute(delete(_replies).where(_replies.c.user_id == user_id)).rowcount == 1
