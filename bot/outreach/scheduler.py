"""The scheduler: APScheduler jobs built from the ``schedules`` table.

The table is the truth (coordinators change it from the CLI or Telegram, possibly in another
process); APScheduler 3's :class:`~apscheduler.schedulers.asyncio.AsyncIOScheduler` only holds
in-memory jobs derived from it, one per enabled schedule, with a :class:`RuleTrigger` that asks
:mod:`bot.core.schedule` for fire times, so what fires is exactly what ``describe`` and the next
three times promised. :meth:`Scheduler.sync` re-reads the table every ``poll`` seconds and
rebuilds the jobs of schedules that were added, changed, paused or removed.

A firing creates a broadcast keyed ``schedule:<id>:<fire time, UTC ISO>`` and queues its
deliveries in one unit (:func:`bot.store.schedules.fire_schedule`). The key is unique, so a
double fire (two processes, a restart in the middle) sends once.

When a schedule is first seen (at start, or after a change), the runs it missed since it was
last fired or changed are settled with :func:`bot.core.schedule.missed_runs`: the newest is
sent once if it is younger than ``grace``; the others are recorded as ``missed`` broadcasts
for the coordinators' report. A job that APScheduler starts late is still sent within
``grace`` (``misfire_grace_time``); beyond it, it is recorded as missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.core.audience import AudienceError, audience_from_dict
from bot.core.schedule import (
    Rule,
    RuleError,
    latest_fire,
    missed_runs,
    next_fire,
    rule_from_dict,
)
from bot.store.schedules import (
    StoredSchedule,
    fire_schedule,
    record_missed,
    stored_schedules,
)
from bot.store.units import Units

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RuleTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger that fires when a :class:`Rule` says."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is not None:
            return next_fire(self.rule, previous_fire_time)
        # A time equal to `now` is due now, not next time.
        return next_fire(self.rule, now - timedelta(microseconds=1))

    def __str__(self) -> str:
        return f"rule[{self.rule.kind}]"


class Scheduler:
    """Keeps APScheduler's jobs equal to the enabled schedules; see the module docstring."""

    def __init__(
        self,
        units: Units,
        *,
        grace: timedelta = timedelta(hours=6),
        poll: float = 10.0,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._units = units
        self._grace = grace
        self._poll = poll
        self._clock = clock
        self._on_queued = on_queued
        self._seen: dict[int, datetime] = {}  # schedule id -> updated_at its job was built from
        self._rules: dict[int, Rule] = {}
        self._tasks: set[asyncio.Task[bool]] = set()
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, int(grace.total_seconds())),
            },
        )
        self._aps.add_listener(self._on_missed, EVENT_JOB_MISSED)

    async def start(self) -> None:
        """Settle missed runs, build the jobs, start firing and polling the table."""
        await self.sync()
        self._aps.add_job(
            self._sync_quietly, "interval", seconds=self._poll, id="sync", misfire_grace_time=None
        )
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._aps.get_jobs() if job.id != "sync")

    async def _sync_quietly(self) -> None:
        try:
            await self.sync()
        except Exception:  # the database refused: the next poll tries again
            log.exception("reading the schedules failed; trying again in %s s", self._poll)

    async def sync(self) -> None:
        """Rebuild the jobs of schedules added, changed or removed since the last sync."""
        rows = await self._units.run(stored_schedules)
        current = {row.id: row for row in rows}
        for schedule_id in list(self._seen):
            row = current.get(schedule_id)
            if row is None or row.updated_at != self._seen[schedule_id]:
                self._drop(schedule_id)
        for row in rows:
            if row.id not in self._seen:
                try:
                    await self._adopt(row)
                except Exception:
                    # Not seen, so the next sync tries again (a run due now is then still
                    # sent within the grace, or recorded as missed).
                    log.exception("schedule %s could not be set up; trying again", row.id)
                    self._drop(row.id)

    def _drop(self, schedule_id: int) -> None:
        self._seen.pop(schedule_id, None)
        self._rules.pop(schedule_id, None)
        job = self._aps.get_job(f"schedule:{schedule_id}")
        if job is not None:
            job.remove()

    async def _adopt(self, row: StoredSchedule) -> None:
        self._seen[row.id] = row.updated_at
        if not row.enabled:
            return
        try:
            rule = rule_from_dict(row.rule)
            audience_from_dict(row.audience)
        except (RuleError, AudienceError) as exc:
            log.error("schedule %s is not valid and will not fire: %s", row.id, exc)
            return
        self._rules[row.id] = rule
        now = self._clock()
        plan = missed_runs(rule, row.last_fired_at, now, self._grace, since=row.updated_at)
        for fire in plan.missed:
            await self._units.run(
                lambda conn, fire=fire: record_missed(conn, row.id, fire, now)  # type: ignore[misc]
            )
        if plan.missed:
            log.warning("schedule %s: %d run(s) recorded as missed", row.id, len(plan.missed))
        if plan.send_now is not None:
            await self.fire(row.id, plan.send_now)
        first = next_fire(rule, now)
        if first is None:
            return
        self._aps.add_job(
            self._run_job,
            RuleTrigger(rule),
            args=[row.id],
            id=f"schedule:{row.id}",
            next_run_time=first,
            replace_existing=True,
        )

    async def _run_job(self, schedule_id: int) -> None:
        rule = self._rules.get(schedule_id)
        if rule is None:
            return
        # APScheduler starts a job at most `grace` late (at least a second, its smallest
        # misfire grace); a minute more covers its own scheduling delay.
        fire = latest_fire(rule, self._clock(), self._grace + timedelta(minutes=1))
        if fire is None:
            log.warning("schedule %s woke with no run due; nothing sent", schedule_id)
            return
        await self.fire(schedule_id, fire)

    async def fire(self, schedule_id: int, fire: datetime) -> int | None:
        """Start the run at ``fire``; the broadcast id, or None when nothing was started."""
        now = self._clock()
        broadcast_id, queued = await self._units.run(
            lambda conn: fire_schedule(conn, schedule_id, fire, now)
        )
        if broadcast_id is not None:
            log.info(
                "schedule %s fired for %s: broadcast %s, %d queued",
                schedule_id,
                fire.isoformat(),
                broadcast_id,
                queued,
            )
            if queued:
                self._on_queued()
        return broadcast_id

    def _on_missed(self, event: JobExecutionEvent) -> None:
        """APScheduler skipped a run (later than the grace): record it for the coordinators."""
        if not event.job_id.startswith("schedule:"):
            return
        schedule_id = int(event.job_id.split(":", 1)[1])
        fire = event.scheduled_run_time
        now = self._clock()
        # Listeners are called synchronously, in the event loop: record in a task.
        task = asyncio.get_running_loop().create_task(
            self._units.run(lambda conn: record_missed(conn, schedule_id, fire, now))
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
