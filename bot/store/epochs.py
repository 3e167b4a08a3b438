"""The one-worker lock's fencing token: an epoch each worker takes with the lock.

Taking the lock (:mod:`bot.store.locks`) and noticing it is lost are separate events: a
PostgreSQL connection can be cut while its worker is busy sending, and the server gives the
lock to a standby at once. So whoever takes the lock also takes the next epoch
(:func:`take`, one row in ``worker_epochs``), and a worker's claims and sends go only while
that row still holds its epoch: the claim checks it in the same statement that marks
deliveries ``sending`` (:func:`bot.store.deliveries.claim`), and the read right before each
send checks it again (:func:`bot.store.batches.before_send`). A worker that lost the lock
stops at its next claim or send once the next one has taken its epoch, and the next one
starts only after taking it: the only sends both may make are those already past that read.

The holder also beats a heartbeat on the row (:func:`beat`), so any process can tell whether
a worker is alive (:func:`holder`: ``/healthz``, ``/metrics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, insert, literal_column, select, update
from sqlalchemy.sql.expression import ColumnElement

from bot.store.models import require_aware
from bot.store.tables import worker_epochs as _epochs

ROW = 1


class Fenced(RuntimeError):
    """Another worker has taken the lock and a newer epoch: this one must stop sending."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"another worker took over (this worker's epoch {epoch} is stale)")
        self.epoch = epoch


def take(conn: Connection, now: datetime) -> int:
    """The next epoch, now the current one; for the holder of the worker lock, right after
    taking it."""
    require_aware(now)
    e = _epochs
    epoch: int | None = conn.execute(
        update(e)
        .where(e.c.id == ROW)
        .values(epoch=e.c.epoch + 1, taken_at=now, heartbeat_at=now)
        .returning(e.c.epoch)
    ).scalar_one_or_none()
    if epoch is None:  # the first worker on this database
        conn.execute(insert(_epochs).values(id=ROW, epoch=1, taken_at=now, heartbeat_at=now))
        epoch = 1
    return epoch


def current(conn: Connection) -> int | None:
    """The epoch of the worker that last took the lock (None before any did)."""
    epoch: int | None = conn.execute(
        select(_epochs.c.epoch).where(_epochs.c.id == ROW)
    ).scalar_one_or_none()
    return epoch


def beat(conn: Connection, epoch: int, now: datetime) -> bool:
    """Record that the worker holding ``epoch`` is alive at ``now``; False (nothing written)
    when ``epoch`` is no longer the current one."""
    require_aware(now)
    e = _epochs
    done = conn.execute(
        update(e).where(e.c.id == ROW, e.c.epoch == epoch).values(heartbeat_at=now)
    ).rowcount
    return bool(done)


@dataclass(frozen=True, slots=True)
class Holder:
    """The worker that last took the lock: its epoch, when it took it, when it last beat."""

    epoch: int
    taken_at: datetime
    heartbeat_at: datetime | None


def holder(conn: Connection) -> Holder | None:
    """The current epoch's row (None before any worker ran on this database)."""
    e = _epochs
    row = conn.execute(
        select(e.c.epoch, e.c.taken_at, e.c.heartbeat_at).where(e.c.id == ROW)
    ).one_or_none()
    return None if row is None else Holder(row.epoch, row.taken_at, row.heartbeat_at)


def is_current(epoch: int) -> ColumnElement[bool]:
    """A condition, for a statement's WHERE: ``epoch`` is still the current one.

    On PostgreSQL it share-locks the row, so a :func:`take` waits for the statement's
    transaction to end, and a statement that waited for a :func:`take` reads the new epoch:
    nothing is claimed under an old epoch after the new one is taken. (SQLite has one writer
    at a time.)"""
    e = _epochs
    return exists(
        select(e.c.id).where(e.c.id == ROW, e.c.epoch == epoch).with_for_update(read=True)
    )


def current_column() -> ColumnElement[int]:
    """The current epoch as a scalar subquery, to read along with other columns (no bound
    parameters: it fits a prepared statement)."""
    e = _epochs
    return select(e.c.epoch).where(e.c.id == literal_column(str(ROW))).scalar_subquery()
