"""Coordinators' answers and every change made to them.

Synchronous Core on a ``Connection``, run through :class:`bot.store.units.Units`. Each add,
edit and remove writes the answer and one ``answer_changes`` row (who, when, the fields before
and after) in the caller's transaction; changes are never deleted, so their count and last id
(:func:`version`) tell every process cheaply whether to re-read the answers. Checking an
answer is :mod:`bot.content.added`'s work, done by the caller before it stores one.

None of them commits; ``now`` must be timezone-aware.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from bot.core.added import AddedAnswer
from bot.store.coordinator_models import AnswerAction
from bot.store.models import NotFound, require_aware
from bot.store.tables import answer_changes as _changes
from bot.store.tables import answers as _answers

_FIELDS = ("keywords", "sms_en", "sms_ur", "sms_ur_latn", "telegram_en", "telegram_ur")


class AnswerExists(ValueError):
    """An answer with this id is already stored."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """An added answer with who made it and who changed it last, and when."""

    answer: AddedAnswer
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One change: ``before`` / ``after`` hold the answer's fields (None around add/remove)."""

    action: AnswerAction
    changed_by: str
    changed_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def version(conn: Connection) -> tuple[int, int]:
    """(how many changes, the last change's id): different after any committed change.

    The count matters on PostgreSQL, where a change with a lower id can commit after one
    with a higher id; the id after a database is restored to an older copy.
    """
    row = conn.execute(select(func.count(), func.coalesce(func.max(_changes.c.id), 0))).one()
    return int(row[0]), int(row[1])


def list_answers(conn: Connection) -> list[StoredAnswer]:
    """Every added answer, oldest first."""
    rows = conn.execute(select(_answers).order_by(_answers.c.id)).mappings()
    return [_stored(row) for row in rows]


def get_answer(conn: Connection, key: str) -> StoredAnswer | None:
    """The added answer ``key``, or None."""
    row = conn.execute(select(_answers).where(_answers.c.key == key)).mappings().first()
    return None if row is None else _stored(row)


def add_answer(conn: Connection, answer: AddedAnswer, by: str, now: datetime) -> None:
    """Store a new answer; raises :class:`AnswerExists` when its id is taken."""
    require_aware(now)
    if get_answer(conn, answer.key) is not None:
        raise AnswerExists(f"there is already an added answer '{answer.key}'")
    conn.execute(
        insert(_answers).values(
            key=answer.key,
            **_fields(answer),
            created_by=by,
            created_at=now,
            updated_by=by,
            updated_at=now,
        )
    )
    _record(conn, answer.key, "add", by, now, None, _fields(answer))


def edit_answer(conn: Connection, answer: AddedAnswer, by: str, now: datetime) -> bool:
    """Replace the stored answer ``answer.key`` with ``answer``; False when nothing differs.

    Raises :class:`NotFound` when there is no such answer.
    """
    require_aware(now)
    old = get_answer(conn, answer.key)
    if old is None:
        raise NotFound(f"there is no added answer '{answer.key}'")
    before, after = _fields(old.answer), _fields(answer)
    if before == after:
        return False
    conn.execute(
        update(_answers)
        .where(_answers.c.key == answer.key)
        .values(**after, updated_by=by, updated_at=now)
    )
    _record(conn, answer.key, "edit", by, now, before, after)
    return True


def remove_answer(conn: Connection, key: str, by: str, now: datetime) -> None:
    """Delete the answer ``key`` (its history stays); raises :class:`NotFound`."""
    require_aware(now)
    old = get_answer(conn, key)
    if old is None:
        raise NotFound(f"there is no added answer '{key}'")
    conn.execute(delete(_answers).where(_answers.c.key == key))
    _record(conn, key, "remove", by, now, _fields(old.answer), None)


def mirror(conn: Connection, answers: list[StoredAnswer], now: datetime) -> bool:
    """Make this database's answers the same as ``answers`` (another database's), each
    change recorded as made by who made it there; True when anything changed.

    For the console's simulator, whose own scratch database answers with the real one's
    answers: nothing is checked again, they were when they were stored.
    """
    wanted = {s.answer.key: s for s in answers}
    have = {s.answer.key: s for s in list_answers(conn)}
    changed = False
    for key in have.keys() - wanted.keys():
        remove_answer(conn, key, "simulator", now)
        changed = True
    for key, s in wanted.items():
        if key not in have:
            add_answer(conn, s.answer, s.updated_by, now)
            changed = True
        elif edit_answer(conn, s.answer, s.updated_by, now):
            changed = True
    return changed


def history(conn: Connection, key: str, limit: int = 10) -> list[Change]:
    """The latest ``limit`` changes of answer ``key`` (also after a remove), newest first."""
    c = _changes
    rows = conn.execute(
        select(c.c.action, c.c.changed_by, c.c.changed_at, c.c.before, c.c.after)
        .where(c.c.answer_key == key)
        .order_by(c.c.id.desc())
        .limit(limit)
    ).all()
    return [Change(*row) for row in rows]


def _fields(answer: AddedAnswer) -> dict[str, Any]:
    values = asdict(answer)
    values["keywords"] = list(answer.keywords)
    return {name: values[name] for name in _FIELDS}


def _stored(row: Any) -> StoredAnswer:
    answer = AddedAnswer(
        key=row["key"],
        keywords=tuple(row["keywords"]),
        **{name: row[name] for name in _FIELDS if name != "keywords"},
    )
    return StoredAnswer(
        answer, row["created_by"], row["created_at"], row["updated_by"], row["updated_at"]
    )


def _record(
    conn: Connection,
    key: str,
    action: AnswerAction,
    by: str,
    now: datetime,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    conn.execute(
        insert(_changes).values(
            answer_key=key,
            action=action,
            changed_by=by,
            changed_at=now,
            before=before,
            after=after,
        )
    )
