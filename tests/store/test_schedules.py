"""bot.store.schedules: what the coordinators keep and what the scheduler reads and records,
on both databases. The scheduler's timing is tests/outreach/test_scheduler.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from bot.core.audience import Audience, audience_to_dict
from bot.core.schedule import Rule, rule_to_dict
from bot.store import announcements, broadcasts, schedules
from bot.store.tables import announcements as announcements_table
from bot.store.units import Units
from tests.outreach.test_scheduler import DAILY_10, add_schedule, broadcasts_of

NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
FIRE = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def new_schedule(conn: Connection, rule: Rule = DAILY_10) -> int:
    aid = announcements.create_announcement(conn, "Course", "New course", None, ["jobs"], NOW)
    return schedules.create_schedule(
        conn, aid, rule_to_dict(rule), audience_to_dict(Audience()), NOW, created_by="cli"
    )


async def test_add_list_pause_and_delete(units: Units) -> None:
    sid = await units.run(new_schedule)
    (row,) = await units.run(schedules.list_schedules)
    assert (row.id, row.title, row.text_en, row.enabled, row.created_by) == (
        sid,
        "Course",
        "New course",
        True,
        "cli",
    )
    assert (row.rule, row.last_fired_at, row.missed) == (rule_to_dict(DAILY_10), None, ())
    later = NOW + timedelta(hours=1)
    assert await units.run(lambda conn: schedules.set_enabled(conn, sid, False, later))
    (stored,) = await units.run(schedules.stored_schedules)
    assert (stored.enabled, stored.created_at, stored.updated_at) == (False, NOW, later)
    assert not await units.run(lambda conn: schedules.set_enabled(conn, 404, True, later))
    assert await units.run(lambda conn: schedules.list_schedules(conn, 404)) == []

    assert await units.run(lambda conn: schedules.delete_schedule(conn, sid))
    assert not await units.run(lambda conn: schedules.delete_schedule(conn, sid))
    assert await units.run(schedules.list_schedules) == []
    left = await units.run(
        lambda conn: conn.execute(select(func.count()).select_from(announcements_table)).scalar()
    )
    assert left == 0, "an announcement nothing else uses goes with its schedule"


async def test_a_run_fires_once_and_is_remembered(units: Units) -> None:
    sid = await add_schedule(units, with_people=3)
    now = FIRE + timedelta(seconds=2)
    first = await units.run(lambda conn: schedules.fire_schedule(conn, sid, FIRE, now))
    again = await units.run(lambda conn: schedules.fire_schedule(conn, sid, FIRE, now))
    assert first[0] is not None and first[1] == 3
    assert again == (None, 0)
    rows = await broadcasts_of(units)
    assert [(r["key"], r["status"]) for r in rows] == [
        (schedules.broadcast_key(sid, FIRE), "queued")
    ]
    (stored,) = await units.run(schedules.stored_schedules)
    assert stored.last_fired_at == FIRE
    assert stored.updated_at != FIRE, "a firing is not a change of the schedule"


async def test_a_paused_or_unknown_schedule_does_not_fire(units: Units) -> None:
    sid = await add_schedule(units, enabled=False)
    assert await units.run(lambda conn: schedules.fire_schedule(conn, sid, FIRE, FIRE)) == (
        None,
        0,
    )
    assert await units.run(lambda conn: schedules.fire_schedule(conn, 404, FIRE, FIRE)) == (
        None,
        0,
    )
    assert await broadcasts_of(units) == []


async def test_a_missed_run_is_recorded_once_and_listed(units: Units) -> None:
    sid = await add_schedule(units)
    older = FIRE - timedelta(days=1)

    def record(fire: datetime) -> Callable[[Connection], bool]:
        return lambda conn: schedules.record_missed(conn, sid, fire, FIRE)

    assert await units.run(record(FIRE))
    assert await units.run(record(older))
    assert not await units.run(record(FIRE)), "that run is recorded already"
    assert not await units.run(lambda conn: schedules.record_missed(conn, 404, FIRE, FIRE))
    rows = await broadcasts_of(units)
    assert [(r["status"], r["finished_at"]) for r in rows] == [("missed", FIRE)] * 2
    (row,) = await units.run(lambda conn: schedules.list_schedules(conn, sid))
    assert row.missed == (older, FIRE)
    (stored,) = await units.run(schedules.stored_schedules)
    assert stored.last_fired_at == FIRE, "the newest run dealt with, whatever the order"
    done = await units.run(lambda conn: broadcasts.finish_broadcasts(conn, FIRE))
    assert done == [], "a missed run is not open"


def test_a_run_key_is_the_same_in_any_time_zone() -> None:
    karachi = FIRE.astimezone(ZoneInfo("Asia/Karachi"))
    assert schedules.broadcast_key(7, karachi) == schedules.broadcast_key(7, FIRE)
    assert schedules.broadcast_key(7, FIRE) == "schedule:7:2026-11-25T05:00:00+00:00"
