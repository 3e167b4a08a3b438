"""The scheduler: jobs built from the schedules table, runs fired once, missed runs recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from bot.core.audience import Audience, audience_to_dict
from bot.core.schedule import Rule, rule_to_dict
from bot.outreach.scheduler import RuleTrigger, Scheduler
from bot.store.schedules import broadcast_key, fire_schedule
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import schedules as _schedules
from bot.store.units import Units
from tests.conftest import eventually
from tests.outreach.test_dispatcher import person

DAILY_10 = Rule(kind="daily", at=time(10, 0))  # 05:00 UTC in Karachi
CREATED = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
FIRE = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 10:00 in Karachi


async def add_schedule(
    units: Units,
    rule: Rule = DAILY_10,
    *,
    enabled: bool = True,
    last_fired_at: datetime | None = None,
    with_people: int = 2,
) -> int:
    def unit(conn: Connection) -> int:
        for n in range(with_people):
            person(conn, "telegram", f"{5000 + n}")
        aid = conn.execute(
            insert(_announcements)
            .values(title="Course", text_en="New course", created_at=CREATED, updated_at=CREATED)
            .returning(_announcements.c.id)
        ).scalar_one()
        sid: int = conn.execute(
            insert(_schedules)
            .values(
                announcement_id=aid,
                rule=rule_to_dict(rule),
                audience=audience_to_dict(Audience()),
                enabled=enabled,
                last_fired_at=last_fired_at,
                created_at=CREATED,
                updated_at=CREATED,
            )
            .returning(_schedules.c.id)
        ).scalar_one()
        return sid

    return await units.run(unit)


async def broadcasts_of(units: Units) -> list[dict[str, Any]]:
    def unit(conn: Connection) -> list[dict[str, Any]]:
        rows = conn.execute(select(_broadcasts).order_by(_broadcasts.c.scheduled_for))
        return [dict(r._mapping) for r in rows]

    return await units.run(unit)


async def delivery_count(units: Units, broadcast_id: int) -> int:
    def unit(conn: Connection) -> int:
        rows = conn.execute(
            select(_deliveries.c.id).where(_deliveries.c.broadcast_id == broadcast_id)
        )
        return len(rows.all())

    return await units.run(unit)


def test_the_trigger_fires_when_the_rule_says() -> None:
    trigger = RuleTrigger(DAILY_10)
    assert trigger.get_next_fire_time(None, FIRE - timedelta(hours=1)) == FIRE
    assert trigger.get_next_fire_time(None, FIRE) == FIRE  # due now is due
    assert trigger.get_next_fire_time(FIRE, FIRE) == FIRE + timedelta(days=1)


async def test_jobs_follow_the_table(units: Units) -> None:
    clock = [FIRE - timedelta(hours=1)]
    active = await add_schedule(units)
    paused = await add_schedule(units, enabled=False, with_people=0)
    scheduler = Scheduler(units, clock=lambda: clock[0])
    await scheduler.sync()
    assert scheduler.job_ids() == [f"schedule:{active}"]
    job = scheduler._aps.get_job(f"schedule:{active}")
    assert job is not None and job.next_run_time == FIRE

    # Resume one, pause the other: the next sync rebuilds both.
    changed = CREATED + timedelta(days=1)

    def flip(conn: Connection) -> None:
        for sid, enabled in ((active, False), (paused, True)):
            conn.execute(
                update(_schedules)
                .where(_schedules.c.id == sid)
                .values(enabled=enabled, updated_at=changed)
            )

    await units.run(flip)
    await scheduler.sync()
    assert scheduler.job_ids() == [f"schedule:{paused}"]

    await units.run(lambda conn: conn.execute(_schedules.delete()))
    await scheduler.sync()
    assert scheduler.job_ids() == []


async def test_a_run_fires_once_whatever_fires_it(units: Units) -> None:
    sid = await add_schedule(units, with_people=3)
    now = FIRE + timedelta(seconds=2)
    first = await units.run(lambda conn: fire_schedule(conn, sid, FIRE, now))
    again = await units.run(lambda conn: fire_schedule(conn, sid, FIRE, now))
    assert first[0] is not None and first[1] == 3
    assert again == (None, 0)
    rows = await broadcasts_of(units)
    assert [r["key"] for r in rows] == [broadcast_key(sid, FIRE)]
    assert rows[0]["schedule_id"] == sid
    assert rows[0]["created_by"] == "schedule"


async def test_a_paused_schedule_does_not_fire(units: Units) -> None:
    sid = await add_schedule(units, enabled=False)
    assert await units.run(lambda conn: fire_schedule(conn, sid, FIRE, FIRE)) == (None, 0)
    assert await broadcasts_of(units) == []


async def test_after_a_restart_the_recent_run_is_sent_and_older_ones_recorded(
    units: Units,
) -> None:
    # Last fired four days ago; down since. Now 10:00 + 2 h: today's run is within the grace.
    last = FIRE - timedelta(days=4)
    sid = await add_schedule(units, last_fired_at=last, with_people=2)
    now = FIRE + timedelta(hours=2)
    queued: list[bool] = []
    scheduler = Scheduler(
        units, grace=timedelta(hours=6), clock=lambda: now, on_queued=lambda: queued.append(True)
    )
    await scheduler.sync()
    rows = await broadcasts_of(units)
    assert [(r["scheduled_for"], r["status"]) for r in rows] == [
        (FIRE - timedelta(days=3), "missed"),
        (FIRE - timedelta(days=2), "missed"),
        (FIRE - timedelta(days=1), "missed"),
        (FIRE, "queued"),
    ]
    assert await delivery_count(units, rows[-1]["id"]) == 2
    assert all([await delivery_count(units, r["id"]) == 0 for r in rows[:-1]])
    assert queued == [True]
    # The next run is tomorrow's.
    job = scheduler._aps.get_job(f"schedule:{sid}")
    assert job is not None and job.next_run_time == FIRE + timedelta(days=1)
    # A second start (a restart right after) sends nothing again.
    await Scheduler(units, grace=timedelta(hours=6), clock=lambda: now).sync()
    assert len(await broadcasts_of(units)) == 4


async def test_a_run_older_than_the_grace_is_only_recorded(units: Units) -> None:
    await add_schedule(units, last_fired_at=FIRE - timedelta(days=1))
    now = FIRE + timedelta(hours=7)
    await Scheduler(units, grace=timedelta(hours=6), clock=lambda: now).sync()
    rows = await broadcasts_of(units)
    assert [(r["scheduled_for"], r["status"]) for r in rows] == [(FIRE, "missed")]
    assert rows[0]["finished_at"] == now


def real_rule() -> tuple[Rule, datetime, datetime]:
    """APScheduler keeps real time: a daily rule due an hour from now, that fire time, and now."""
    now = datetime.now(UTC)
    fire = now.replace(second=0, microsecond=0) + timedelta(hours=1)
    local = fire.astimezone(ZoneInfo("Asia/Karachi"))
    return Rule(kind="daily", at=local.time()), fire, now


async def test_apscheduler_runs_the_job_for_the_run_it_stands_for(units: Units) -> None:
    rule, fire, now = real_rule()
    sid = await add_schedule(units, rule, last_fired_at=fire - timedelta(days=1), with_people=1)
    clock = [now]
    queued = asyncio.Event()
    scheduler = Scheduler(units, clock=lambda: clock[0], on_queued=queued.set)
    await scheduler.start()
    try:
        assert await broadcasts_of(units) == []  # nothing due yet
        job = scheduler._aps.get_job(f"schedule:{sid}")
        assert job is not None and job.next_run_time == fire
        # The job runs three minutes late (the loop was busy): it still stands for `fire`.
        clock[0] = fire + timedelta(minutes=3)
        job.modify(next_run_time=datetime.now(UTC))
        scheduler._aps.wakeup()
        await asyncio.wait_for(queued.wait(), timeout=10)
    finally:
        scheduler.shutdown()
    rows = await broadcasts_of(units)
    assert [(r["key"], r["status"]) for r in rows] == [(broadcast_key(sid, fire), "queued")]


async def test_a_run_apscheduler_skips_as_too_late_is_recorded_as_missed(units: Units) -> None:
    rule, fire, now = real_rule()
    sid = await add_schedule(units, rule, last_fired_at=fire - timedelta(days=1))
    scheduler = Scheduler(units, grace=timedelta(hours=6), clock=lambda: now)
    await scheduler.start()
    late = datetime.now(UTC) - timedelta(hours=7)
    try:
        job = scheduler._aps.get_job(f"schedule:{sid}")
        assert job is not None
        job.modify(next_run_time=late)  # as if the process had been frozen for seven hours
        scheduler._aps.wakeup()

        async def recorded() -> bool:
            return bool(await broadcasts_of(units))

        await eventually(recorded, "the missed run is recorded")
    finally:
        scheduler.shutdown()
    rows = await broadcasts_of(units)
    assert [(r["scheduled_for"], r["status"]) for r in rows] == [(late, "missed")]
    assert await delivery_count(units, rows[0]["id"]) == 0


async def rename(units: Units, old: str, new: str) -> None:
    await units.run(lambda conn: conn.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}"))


async def test_a_schedule_that_failed_to_set_up_is_tried_again(units: Units) -> None:
    sid = await add_schedule(units, last_fired_at=FIRE - timedelta(days=1), with_people=1)
    now = FIRE + timedelta(hours=1)  # today's run is due and within the grace
    scheduler = Scheduler(units, clock=lambda: now)
    await rename(units, "broadcasts", "broadcasts_away")  # the database refuses, for a moment
    try:
        await scheduler.sync()  # logged, not raised
        assert scheduler.job_ids() == []
    finally:
        await rename(units, "broadcasts_away", "broadcasts")
    await scheduler.sync()
    assert scheduler.job_ids() == [f"schedule:{sid}"]
    rows = await broadcasts_of(units)
    assert [(r["key"], r["status"]) for r in rows] == [(broadcast_key(sid, FIRE), "queued")]


async def test_with_no_grace_a_run_on_time_still_fires(units: Units) -> None:
    sid = await add_schedule(units, last_fired_at=FIRE - timedelta(days=1), with_people=1)
    clock = [FIRE - timedelta(minutes=1)]
    scheduler = Scheduler(units, grace=timedelta(0), clock=lambda: clock[0])
    await scheduler.sync()
    clock[0] = FIRE + timedelta(milliseconds=300)  # APScheduler wakes the job a moment late
    await scheduler._run_job(sid)
    rows = await broadcasts_of(units)
    assert [(r["key"], r["status"]) for r in rows] == [(broadcast_key(sid, FIRE), "queued")]
