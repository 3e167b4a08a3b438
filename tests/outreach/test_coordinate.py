"""The coordinators' service layer on SQLite and PostgreSQL: preview, send, schedules, reports."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Connection, func, insert, select, update

from bot.config import Settings
from bot.core.audience import Audience
from bot.core.decision import Channel, ContactStatus
from bot.core.schedule import Rule, parse_rule
from bot.outreach import coordinate, reporting
from bot.outreach.coordinate import Draft
from bot.outreach.dispatcher import choose_text
from bot.store import deliveries
from bot.store.broadcasts import BroadcastRow
from bot.store.tables import announcements as _announcements
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import schedules as _schedules
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday, 15:00 in Karachi
KARACHI = "Asia/Karachi"
MONDAYS = Rule(kind="weekly", weekdays=frozenset({0}), at=time(10, 0), tz=KARACHI)


Reach = tuple[Channel, str, ContactStatus]


def person(
    conn: Connection, *reach: Reach, language: str | None = "en", topics: tuple[str, ...] = ()
) -> None:
    sid = conn.execute(
        insert(_subscribers)
        .values(language=language, topics=list(topics), created_at=NOW, updated_at=NOW)
        .returning(_subscribers.c.id)
    ).scalar_one()
    for channel, address, status in reach:
        conn.execute(
            insert(_contacts).values(
                subscriber_id=sid,
                channel=channel,
                address=address,
                status=status,
                status_changed_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )


def town(conn: Connection) -> None:
    """Who a default broadcast reaches (cheapest channel): comments say."""
    person(conn, ("sms", "+923000000001", "active"), ("telegram", "1001", "active"))  # tg
    person(conn, ("sms", "+923000000002", "active"), language="ur", topics=("jobs",))  # sms ur
    person(conn, ("sms", "+923000000003", "active"), topics=("jobs",))  # sms en
    person(conn, ("telegram", "1004", "active"), language="ur")  # tg
    person(conn, ("sms", "+923000000005", "opted_out"), topics=("jobs",))  # nobody
    person(conn, ("sms", "+923000000006", "active"), ("telegram", "1006", "opted_out"))  # sms


async def populate(units: Units) -> None:
    await units.run(town)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def draft(audience: Audience | None = None, **kw: object) -> Draft:
    return Draft(
        text_en=str(kw.pop("text_en", "Training on Monday at the IT park")),
        text_ur=kw.pop("text_ur", None),  # type: ignore[arg-type]
        audience=audience or Audience(),
        **kw,  # type: ignore[arg-type]
    )


def queued_addresses(conn: Connection, broadcast_id: int) -> set[str]:
    rows = conn.execute(
        select(_contacts.c.address)
        .join(_deliveries, _deliveries.c.contact_id == _contacts.c.id)
        .where(_deliveries.c.broadcast_id == broadcast_id)
    )
    return set(rows.scalars())


def set_statuses(
    conn: Connection, broadcast_id: int, changes: dict[str, tuple[str, str | None]]
) -> None:
    """Move the deliveries to these addresses to (status, error)."""
    for address, (status, error) in changes.items():
        contact_id = select(_contacts.c.id).where(_contacts.c.address == address).scalar_subquery()
        conn.execute(
            update(_deliveries)
            .where(
                _deliveries.c.broadcast_id == broadcast_id, _deliveries.c.contact_id == contact_id
            )
            .values(status=status, error=error)
        )


# Preview and send


async def test_preview_counts_match_what_send_now_queues(units: Units) -> None:
    await populate(units)
    shown = await coordinate.preview(units, settings(), draft())
    assert shown.recipients == {"sms": 3, "telegram": 2}
    assert shown.total == 5
    assert shown.lines[0] == "Recipients: 3 SMS, 2 Telegram"
    assert shown.lines[-1] == coordinate.PRICE_UNSET_NOTE

    sent = await coordinate.send_now(units, settings(), draft(), NOW, by="cli")
    assert sent.queued == shown.total
    addresses = await units.run(lambda conn: queued_addresses(conn, sent.broadcast_id))
    assert addresses == {"1001", "+923000000002", "+923000000003", "1004", "+923000000006"}
    assert "+923000000005" not in addresses, "an opted-out number is never queued"


async def test_preview_with_a_price_costs_each_language_version(units: Units) -> None:
    await populate(units)
    shown = await coordinate.preview(
        units,
        settings(sms_price_per_segment=Decimal("1.50")),
        draft(Audience(channels=frozenset({"sms"})), text_ur="پیر کو تربیت"),
    )
    assert shown.recipients == {"sms": 4}
    assert "SMS en: 1 segment (GSM-7) x 3 people" in shown.lines
    assert "SMS ur: 1 segment (UCS-2) x 1 person" in shown.lines
    assert "SMS cost: PKR 6.00 (4 segments at PKR 1.50)" in shown.lines
    assert coordinate.PRICE_UNSET_NOTE not in shown.lines


async def test_roman_urdu_readers_are_costed_and_sent_the_english_text(units: Units) -> None:
    await populate(units)
    await units.run(
        lambda conn: person(conn, ("sms", "+923000000007", "active"), language="ur-Latn")
    )
    sms_only = draft(Audience(channels=frozenset({"sms"})), text_ur="پیر کو تربیت")
    shown = await coordinate.preview(units, settings(sms_price_per_segment=Decimal("1")), sms_only)
    assert "SMS en: 1 segment (GSM-7) x 4 people" in shown.lines
    assert "SMS ur: 1 segment (UCS-2) x 1 person" in shown.lines
    assert "SMS cost: PKR 5.00 (5 segments at PKR 1)" in shown.lines

    sent = await coordinate.send_now(units, settings(), sms_only, NOW, by="cli")
    assert sent.queued == 5
    claimed = await units.run(
        lambda conn: deliveries.claim(conn, "sms", NOW, 10, timedelta(minutes=5))
    )
    texts = {c.address: choose_text(c, "sms") for c in claimed}
    # ur-Latn: English; both with the opt-out footer in their script.
    assert texts["+923000000007"] == "Training on Monday at the IT park\nSTOP to opt out."
    assert texts["+923000000002"] == "پیر کو تربیت\nبند کرنے کے لیے STOP۔"


async def test_sms_announcements_end_with_an_opt_out_footer_the_preview_counts(
    units: Units,
) -> None:
    await populate(units)
    sms_only = Audience(channels=frozenset({"sms"}))
    full = "x" * 150  # one segment alone; the footer's 17 septets make it two
    shown = await coordinate.preview(units, settings(), draft(sms_only, text_en=full))
    assert "SMS en: 2 segments (GSM-7) x 3 people" in shown.lines
    assert shown.cost is not None and shown.cost.lang("en").segments.units == 150 + 17

    sent = await coordinate.send_now(units, settings(), draft(sms_only, text_en=full), NOW, by="t")
    claimed = await units.run(
        lambda conn: deliveries.claim(conn, "sms", NOW, 10, timedelta(minutes=5))
    )
    assert {c.broadcast_id for c in claimed} == {sent.broadcast_id}
    assert {choose_text(c, "sms") for c in claimed} == {full + "\nSTOP to opt out."}
    assert {choose_text(c, "telegram") for c in claimed} == {full}, "Telegram has no footer"

    own = "Job fair Monday. Reply STOP to opt out"  # has its own: nothing added
    shown = await coordinate.preview(units, settings(), draft(sms_only, text_en=own))
    assert shown.cost is not None and shown.cost.lang("en").segments.units == len(own)


async def test_without_an_sms_provider_the_preview_counts_what_is_sent(units: Units) -> None:
    """Live with Telegram only: the preview used to count (and cost) SMS that then failed
    "sms is not configured"; now neither counts nor queues them, and says so."""
    await populate(units)
    live = settings(telegram_bot_token="7000000001:AAFake", sms_price_per_segment=Decimal("4"))
    assert live.unconfigured_channels == {"sms"}
    shown = await coordinate.preview(units, live, draft())
    assert shown.recipients == {"telegram": 2}
    assert shown.unconfigured == {"sms": 3}
    assert "SMS is not configured (set an SMS provider): 3 SMS will not be sent" in shown.lines
    assert "SMS cost: PKR 0.00 (0 segments at PKR 4)" in shown.lines

    sent = await coordinate.send_now(units, live, draft(), NOW, by="cli")
    assert sent.queued == shown.total == 2
    addresses = await units.run(lambda conn: queued_addresses(conn, sent.broadcast_id))
    assert addresses == {"1001", "1004"}

    sms_only = draft(Audience(channels=frozenset({"sms"})))
    nobody = await coordinate.preview(units, live, sms_only)
    assert (nobody.total, nobody.unconfigured) == (0, {"sms": 4})
    none_sent = await coordinate.send_now(units, live, sms_only, NOW, by="cli")
    assert none_sent.queued == 0
    report = await reporting.get_report(units, none_sent.broadcast_id)
    assert report is not None and report.broadcast.status == "done"


async def test_preview_times_the_send_at_the_pace_the_dispatcher_keeps(units: Units) -> None:
    await populate(units)
    shown = await coordinate.preview(
        units, settings(sms_per_second=0.01), draft(Audience(channels=frozenset({"sms"})))
    )
    # 4 SMS, one per 100 s plus the pacer's 2% headroom: 408 s, not 400.
    assert any(line.endswith("6 min 48 s") for line in shown.lines), shown.lines


async def test_preview_of_nobody(units: Units) -> None:
    await populate(units)
    shown = await coordinate.preview(units, settings(), draft(Audience(topics=frozenset({"x"}))))
    assert shown.recipients == {}
    assert shown.total == 0
    assert shown.lines[0] == "Recipients: none"


async def test_send_now_stores_the_announcement_and_who_sent_it(units: Units) -> None:
    await populate(units)
    long_text = "Bootcamp " * 20 + "\nsecond line"
    sent = await coordinate.send_now(
        units,
        settings(),
        draft(Audience(topics=frozenset({"jobs"})), text_en=long_text, topics=("jobs",)),
        NOW,
        by="telegram:42",
    )
    assert sent.queued == 2, "two active people follow jobs; the opted-out one is left out"

    def read(conn: Connection) -> tuple[str, str, str, list[str], str]:
        b = conn.execute(select(_broadcasts).where(_broadcasts.c.id == sent.broadcast_id)).one()
        a = conn.execute(
            select(_announcements).where(_announcements.c.id == b.announcement_id)
        ).one()
        return b.key, b.created_by, a.title, a.topics, b.status

    key, by, title, topics, status = await units.run(read)
    assert key.startswith("manual:") and len(key) == len("manual:") + 32
    assert by == "telegram:42"
    assert len(title) == 60 and title.startswith("Bootcamp Bootcamp") and title.endswith("…")
    assert topics == ["jobs"]
    assert status == "queued"


async def test_send_now_to_nobody_is_done_at_once(units: Units) -> None:
    await populate(units)
    sent = await coordinate.send_now(
        units, settings(), draft(Audience(cities=frozenset({"Lahore"}))), NOW, by="cli"
    )
    assert sent.queued == 0
    report = await reporting.get_report(units, sent.broadcast_id)
    assert report is not None
    assert report.broadcast.status == "done" and report.broadcast.finished_at == NOW
    assert report.total == 0


async def test_two_sends_of_the_same_draft_are_two_broadcasts(units: Units) -> None:
    await populate(units)
    first = await coordinate.send_now(units, settings(), draft(), NOW, by="cli")
    second = await coordinate.send_now(units, settings(), draft(), NOW, by="cli")
    assert first.broadcast_id != second.broadcast_id
    assert first.queued == second.queued == 5


# Schedules


async def test_schedule_add_list_pause_resume_remove(units: Units) -> None:
    added = await coordinate.add_schedule(
        units, draft(title="Weekly training"), MONDAYS, NOW, by="cli"
    )
    assert added.title == "Weekly training"
    assert added.enabled and added.created_by == "cli"
    assert added.description == "every Monday at 10:00 PKT"
    assert [t.isoformat() for t in added.next_times] == [
        "2026-11-30T10:00:00+05:00",
        "2026-12-07T10:00:00+05:00",
        "2026-12-14T10:00:00+05:00",
    ]
    assert added.rule == MONDAYS and added.audience == Audience()
    assert added.missed == [] and added.last_fired_at is None

    listed = await coordinate.list_schedules(units, NOW)
    assert [s.id for s in listed] == [added.id]
    assert listed[0] == added

    paused = await coordinate.set_schedule_enabled(units, added.id, False, NOW)
    assert paused is not None and not paused.enabled
    assert paused.next_times == [], "a paused schedule fires no more"
    got = await coordinate.get_schedule(units, added.id, NOW)
    assert got is not None and not got.enabled and got.next_times == []

    later = NOW + timedelta(days=7)
    resumed = await coordinate.set_schedule_enabled(units, added.id, True, later)
    assert resumed is not None and resumed.enabled
    assert resumed.next_times[0].isoformat() == "2026-12-07T10:00:00+05:00"
    updated = await units.run(
        lambda conn: conn.execute(
            select(_schedules.c.updated_at).where(_schedules.c.id == added.id)
        ).scalar_one()
    )
    assert updated == later, "runs due while paused are counted from the resume"

    assert await coordinate.remove_schedule(units, added.id) is True
    assert await coordinate.list_schedules(units, NOW) == []
    assert await coordinate.get_schedule(units, added.id, NOW) is None
    assert await coordinate.remove_schedule(units, added.id) is False
    left = await units.run(
        lambda conn: conn.execute(select(func.count()).select_from(_announcements)).scalar_one()
    )
    assert left == 0, "an announcement nothing uses goes with its schedule"


async def test_unknown_schedule_ids_are_none_or_false(units: Units) -> None:
    assert await coordinate.get_schedule(units, 999, NOW) is None
    assert await coordinate.set_schedule_enabled(units, 999, False, NOW) is None
    assert await coordinate.remove_schedule(units, 999) is False


async def test_a_finished_once_schedule_has_no_next_times(units: Units) -> None:
    rule = parse_rule("on 5 December at 09:00", NOW, KARACHI)
    added = await coordinate.add_schedule(units, draft(), rule, NOW, by="cli")
    assert [t.isoformat() for t in added.next_times] == ["2026-12-05T09:00:00+05:00"]
    after = datetime(2026, 12, 6, tzinfo=UTC)
    got = await coordinate.get_schedule(units, added.id, after)
    assert got is not None and got.enabled and got.next_times == []


async def test_missed_runs_are_listed_oldest_first_and_kept_after_removal(units: Units) -> None:
    await populate(units)
    added = await coordinate.add_schedule(units, draft(), MONDAYS, NOW, by="cli")
    other = await coordinate.add_schedule(units, draft(), MONDAYS, NOW, by="cli")
    mondays = [datetime(2026, 12, d, 5, 0, tzinfo=UTC) for d in (14, 7)]
    sent_monday = datetime(2026, 12, 21, 5, 0, tzinfo=UTC)

    def record(conn: Connection) -> None:
        aid = conn.execute(
            select(_schedules.c.announcement_id).where(_schedules.c.id == added.id)
        ).scalar_one()
        for n, when in enumerate([*mondays, sent_monday]):
            conn.execute(
                insert(_broadcasts).values(
                    announcement_id=aid,
                    schedule_id=added.id,
                    key=f"schedule:{added.id}:{when.isoformat()}",
                    audience={},
                    status="missed" if n < 2 else "done",
                    scheduled_for=when,
                    created_by="schedule",
                    finished_at=when,
                    created_at=when,
                    updated_at=when,
                )
            )

    await units.run(record)
    got = await coordinate.get_schedule(units, added.id, NOW)
    assert got is not None
    assert got.missed == sorted(mondays)
    listed = {s.id: s.missed for s in await coordinate.list_schedules(units, NOW)}
    assert listed == {added.id: sorted(mondays), other.id: []}

    assert await coordinate.remove_schedule(units, added.id)
    reports = await reporting.list_reports(units)
    assert [r.broadcast.status for r in reports] == ["done", "missed", "missed"]
    assert all(r.broadcast.schedule_id is None for r in reports), "reports outlive their schedule"


# Reports and cancelling


async def sent_and_settled(units: Units) -> int:
    """A broadcast to the town with every kind of outcome; its id."""
    await populate(units)
    sent = await coordinate.send_now(units, settings(), draft(title="Job fair"), NOW, by="cli")
    await units.run(
        lambda conn: set_statuses(
            conn,
            sent.broadcast_id,
            {
                "1001": ("sent", None),
                "+923000000002": ("delivered", None),
                "+923000000003": ("failed", "21211 invalid number"),
                "1004": ("failed", None),
                "+923000000006": ("skipped", "opted_out"),
            },
        )
    )
    return sent.broadcast_id


async def test_report_counts_by_status_channel_and_reason(units: Units) -> None:
    bid = await sent_and_settled(units)
    report = await reporting.get_report(units, bid)
    assert report is not None
    assert report.broadcast.title == "Job fair" and report.broadcast.created_by == "cli"
    assert report.broadcast.scheduled_for == NOW and report.broadcast.schedule_id is None
    assert report.total == 5
    assert report.by_status == {
        "pending": 0,
        "sending": 0,
        "sent": 1,
        "delivered": 1,
        "failed": 2,
        "skipped": 1,
    }
    assert report.by_channel == {"sms": 3, "telegram": 2}
    assert report.failed_by_reason == {"21211 invalid number": 1, "unknown": 1}
    assert report.skipped_by_reason == {"opted_out": 1}

    lines = reporting.report_lines(report, KARACHI)
    assert lines[0] == f"#{bid} Job fair"
    assert "For: Wed 25 Nov 2026 15:00 PKT, by cli" in lines
    assert "Recipients: 5 (3 SMS, 2 Telegram)" in lines
    assert "Delivered 1, sent 1, failed 2, skipped 1, waiting 0" in lines
    assert "Failed: 21211 invalid number 1, unknown 1" in lines
    assert "Skipped: opted_out 1" in lines


async def test_list_reports_newest_first_and_limited(units: Units) -> None:
    await populate(units)
    ids = [
        (await coordinate.send_now(units, settings(), draft(), NOW, by="cli")).broadcast_id
        for _ in range(3)
    ]
    reports = await reporting.list_reports(units, limit=2)
    assert [r.broadcast.id for r in reports] == [ids[2], ids[1]]
    assert all(r.by_status["pending"] == 5 for r in reports)
    assert await reporting.get_report(units, 999) is None


async def test_cancel_skips_pending_and_leaves_sent_alone(units: Units) -> None:
    await populate(units)
    sent = await coordinate.send_now(units, settings(), draft(), NOW, by="cli")
    await units.run(
        lambda conn: set_statuses(
            conn,
            sent.broadcast_id,
            {"1001": ("sent", None), "1004": ("sending", None), "+923000000003": ("failed", "x")},
        )
    )
    later = NOW + timedelta(minutes=5)
    report = await reporting.cancel_broadcast(units, sent.broadcast_id, later, by="telegram:7")
    assert report is not None
    assert report.broadcast.status == "cancelled" and report.broadcast.finished_at == later
    assert (report.broadcast.created_by, report.broadcast.cancelled_by) == ("cli", "telegram:7")
    assert any(
        line.startswith("Ended: ") and line.endswith(", cancelled by telegram:7")
        for line in reporting.report_lines(report, "Asia/Karachi")
    )
    assert any(
        line.endswith(", by cli") for line in reporting.report_lines(report, "Asia/Karachi")
    ), "who sent it is kept"
    assert report.by_status == {
        "pending": 0,
        "sending": 1,  # in flight: the dispatcher finishes it
        "sent": 1,
        "delivered": 0,
        "failed": 1,
        "skipped": 2,
    }
    assert report.skipped_by_reason == {"cancelled": 2}
    assert report.failed_by_reason == {"x": 1}

    again = await reporting.cancel_broadcast(units, sent.broadcast_id, later + timedelta(1), by="x")
    assert again == report, "cancelling twice changes nothing"


@pytest.mark.parametrize("status", ["done", "missed"])
async def test_cancel_leaves_an_ended_broadcast_unchanged(units: Units, status: str) -> None:
    await populate(units)
    sent = await coordinate.send_now(units, settings(), draft(), NOW, by="cli")
    await units.run(
        lambda conn: conn.execute(
            update(_broadcasts).where(_broadcasts.c.id == sent.broadcast_id).values(status=status)
        )
    )
    report = await reporting.cancel_broadcast(units, sent.broadcast_id, NOW, by="cli")
    assert report is not None
    assert report.broadcast.status == status and report.by_status["pending"] == 5


async def test_cancel_an_unknown_broadcast(units: Units) -> None:
    assert await reporting.cancel_broadcast(units, 999, NOW, by="cli") is None


def test_report_lines_show_schedule_end_and_local_time() -> None:
    report = reporting.Report(
        broadcast=BroadcastRow(
            id=3,
            title="Monday training",
            status="done",
            scheduled_for=datetime(2026, 11, 30, 5, 0, tzinfo=UTC),
            created_by="schedule",
            cancelled_by=None,
            finished_at=datetime(2026, 11, 30, 6, 30, tzinfo=UTC),
            schedule_id=8,
        ),
        total=0,
        by_status=dict.fromkeys(
            ("pending", "sending", "sent", "delivered", "failed", "skipped"), 0
        ),
        by_channel={},
        failed_by_reason={},
        skipped_by_reason={},
    )
    assert reporting.report_lines(report, "Europe/London") == [
        "#3 Monday training",
        "Status: done (schedule #8)",
        "For: Mon 30 Nov 2026 05:00 GMT, by schedule",
        "Ended: Mon 30 Nov 2026 06:30 GMT",
        "Recipients: 0",
        "Delivered 0, sent 0, failed 0, skipped 0, waiting 0",
    ]


async def test_a_given_title_is_kept_and_a_blank_one_falls_back(units: Units) -> None:
    async def title(d: Draft) -> str:
        sent = await coordinate.send_now(units, settings(), d, NOW, by="cli")
        report = await reporting.get_report(units, sent.broadcast_id)
        assert report is not None
        return report.broadcast.title

    assert await title(draft(title="  Job fair ")) == "Job fair"
    assert await title(draft(title=" ", text_en="\n\nFirst line\nsecond")) == "First line"


async def test_a_roman_urdu_text_goes_to_roman_urdu_readers(units: Units) -> None:
    await populate(units)
    await units.run(
        lambda conn: person(conn, ("sms", "+923000000007", "active"), language="ur-Latn")
    )
    roman = "Peer ko IT park mein training"
    sms_only = draft(Audience(channels=frozenset({"sms"})), text_ur_latn=roman)
    shown = await coordinate.preview(units, settings(), sms_only)
    assert "SMS en: 1 segment (GSM-7) x 3 people" in shown.lines
    assert "SMS ur-Latn: 1 segment (GSM-7) x 1 person" in shown.lines

    await coordinate.send_now(units, settings(), sms_only, NOW, by="cli")
    claimed = await units.run(
        lambda conn: deliveries.claim(conn, "sms", NOW, 10, timedelta(minutes=5))
    )
    texts = {c.address: choose_text(c, "sms") for c in claimed}
    assert texts["+923000000007"] == roman + "\nSTOP to opt out."
    assert texts["+923000000003"] == "Training on Monday at the IT park\nSTOP to opt out."
