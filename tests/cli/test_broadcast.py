"""`outreach broadcast` as a coordinator uses it: preview, send, list, show, follow, cancel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, insert, select, update

from bot.cli import broadcast as cli
from bot.core.audience import Audience
from bot.store.tables import broadcasts as _broadcasts
from bot.store.tables import contacts as _contacts
from bot.store.tables import deliveries as _deliveries
from bot.store.tables import subscribers as _subscribers
from bot.store.units import Units
from tests.cli.conftest import (
    OPTED_OUT,
    count,
    on_db,
    queued_numbers,
    run,
    run_in_terminal,
    send,
    settle,
)

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only


def test_send_shows_the_preview_asks_and_declining_sends_nothing(town: str) -> None:
    code, stdout, stderr = run(
        "broadcast", "send", "--text-en", "Job fair on Monday", "--topic", "jobs", input="n\n"
    )
    assert code == 1
    assert "Recipients: 2 SMS" in stdout, "the opted-out follower is not counted"
    assert "Send to 2 people? [y/N]" in stdout
    assert "Nothing sent." in stderr
    assert count(town, _broadcasts) == 0
    assert count(town, _deliveries) == 0


def test_send_without_an_answer_sends_nothing(town: str) -> None:
    code, _, stderr = run("broadcast", "send", "--text-en", "Job fair", input="")
    assert code == 1 and "Nothing sent." in stderr
    assert count(town, _broadcasts) == 0


def test_send_confirmed_queues_the_audience_and_says_how_to_follow(town: str) -> None:
    code, stdout, stderr = run(
        "broadcast", "send", "--text-en", "Job fair", "--topic", "jobs", "--city", "Multan",
        input="y\n",
    )  # fmt: skip
    assert code == 0, stderr
    assert "Broadcast 1 queued for 2 people." in stdout
    assert "`outreach serve` delivers it" in stdout
    assert "outreach broadcast show 1 --follow" in stdout
    assert queued_numbers(town, 1) == {"+923011111111", "+923022222222"}


def test_send_yes_skips_the_question_and_never_queues_the_opted_out(town: str) -> None:
    bid = send()
    assert queued_numbers(town, bid) == {"+923011111111", "+923022222222"}
    assert OPTED_OUT not in queued_numbers(town, bid)
    created_by = on_db(
        town,
        lambda conn: conn.execute(
            select(_broadcasts.c.created_by).where(_broadcasts.c.id == bid)
        ).scalar_one(),
    )
    assert created_by == "cli"


def test_send_to_nobody_is_refused(town: str) -> None:
    code, stdout, stderr = run("broadcast", "send", "--text-en", "x", "--topic", "women", "--yes")
    assert code == 1
    assert "Recipients: none" in stdout
    assert "Nobody matches" in stderr
    assert count(town, _broadcasts) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--topic", "jbos"), "Unknown topic 'jbos'; choose from training, jobs"),
        (("--city", "Lahore"), "Unknown city 'Lahore'; choose from dhanote, multan"),
        (("--language", "fr"), "unknown 'fr'"),
    ],
    ids=["topic", "city", "language"],
)
def test_send_rejects_unknown_audience_names(
    town: str, args: tuple[str, ...], message: str
) -> None:
    code, _, stderr = run("broadcast", "send", "--text-en", "x", "--yes", *args)
    assert code == 1
    assert message in stderr
    assert "Traceback" not in stderr
    assert count(town, _broadcasts) == 0


def test_preview_and_send_count_the_same_people(town: str) -> None:
    code, stdout, _ = run("broadcast", "preview", "--text-en", "x", "--language", "en")
    assert code == 0 and "Recipients: 2 SMS" in stdout
    code, stdout, _ = run(
        "broadcast", "preview", "--text-en", "x", "--language", "en", "--topic", "jobs"
    )
    assert code == 0 and "Recipients: 1 SMS" in stdout
    assert queued_numbers(town, send("--language", "en")) == {"+923011111111"}


def test_list_and_show_a_broadcast(town: str) -> None:
    code, stdout, _ = run("broadcast", "list")
    assert code == 0 and "No broadcasts yet" in stdout
    bid = send("--title", "Fair")
    code, stdout, _ = run("broadcast", "list")
    assert code == 0
    assert f"#{bid} Fair (queued, " in stdout
    assert "2 people: 0 delivered, 0 sent, 0 failed, 0 skipped, 2 waiting" in stdout
    code, stdout, stderr = run("broadcast", "show", f"#{bid}")
    assert code == 0, stderr
    assert f"#{bid} Fair" in stdout
    assert "Recipients: 2 (2 SMS)" in stdout
    assert "Delivered 0, sent 0, failed 0, skipped 0, waiting 2" in stdout
    assert "PKT" in stdout, "times are in the configured zone"


@pytest.mark.parametrize("command", ["show", "cancel"])
def test_an_unknown_or_malformed_broadcast_id_is_one_line_and_exit_1(
    town: str, command: str
) -> None:
    code, _, stderr = run("broadcast", command, "42")
    assert code == 1
    assert stderr.strip() == "There is no broadcast 42; `outreach broadcast list` shows them."
    code, _, stderr = run("broadcast", command, "forty")
    assert code == 1
    assert (
        stderr.strip() == "'forty' is not a broadcast number; `outreach broadcast list` shows them."
    )


async def test_follow_polls_until_nothing_is_left_to_send(
    units: Units, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import Settings
    from bot.outreach import coordinate, reporting

    monkeypatch.setattr(cli, "FOLLOW_POLL_SECONDS", 0.01)
    await units.run(lambda conn: _people(conn, "+923011111111", "+923022222222"))
    draft = coordinate.Draft("Job fair", None, Audience())
    sent = await coordinate.send_now(
        units, Settings(_env_file=None), draft, datetime.now(UTC), by="cli"
    )
    waiting = await reporting.get_report(units, sent.broadcast_id)
    assert waiting is not None and waiting.waiting == 2
    following = asyncio.create_task(cli._follow(units, waiting))
    await units.run(
        lambda conn: conn.execute(
            update(_deliveries)
            .where(_deliveries.c.broadcast_id == sent.broadcast_id)
            .values(status="delivered")
        )
    )
    done = await asyncio.wait_for(following, timeout=10)
    # Had it stopped watching before the deliveries settled, it would show two waiting.
    assert done.waiting == 0 and done.by_status["delivered"] == 2


def _people(conn: Connection, *numbers: str) -> None:
    now = datetime.now(UTC)
    for number in numbers:
        sid = conn.execute(
            insert(_subscribers)
            .values(language="en", topics=[], created_at=now, updated_at=now)
            .returning(_subscribers.c.id)
        ).scalar_one()
        conn.execute(
            insert(_contacts).values(
                subscriber_id=sid,
                channel="sms",
                address=number,
                status="active",
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def test_show_follow_ends_with_a_full_bar_and_the_report(town: str) -> None:
    bid = send()
    settle(town, {"+923011111111": ("delivered", None), "+923022222222": ("sent", None)})
    code, stdout, stderr = run("broadcast", "show", str(bid), "--follow")
    assert code == 0, stderr
    assert "2/2" in stdout, "the progress bar ends full"
    assert "Delivered 1, sent 1, failed 0, skipped 0, waiting 0" in stdout


def test_cancel_skips_what_waits_and_leaves_what_was_sent(town: str) -> None:
    bid = send()
    settle(town, {"+923011111111": ("sent", None)})
    code, stdout, stderr = run("broadcast", "cancel", str(bid), "--yes")
    assert code == 0, stderr
    assert f"Broadcast {bid} cancelled: 1 waiting messages will not be sent." in stdout
    code, stdout, _ = run("broadcast", "show", str(bid))
    assert "Status: cancelled" in stdout
    assert ", by cli" in stdout and ", cancelled by cli" in stdout
    assert "Delivered 0, sent 1, failed 0, skipped 1, waiting 0" in stdout
    assert "Skipped: cancelled 1" in stdout
    code, _, stderr = run("broadcast", "cancel", str(bid))
    assert code == 1
    assert "already cancelled: nothing to cancel" in stderr


def _status(url: str, broadcast_id: int) -> str:
    b = _broadcasts
    return on_db(
        url,
        lambda conn: conn.execute(select(b.c.status).where(b.c.id == broadcast_id)).scalar_one(),
    )


def test_cancel_without_a_terminal_or_yes_cancels_nothing(town: str) -> None:
    bid = send()
    code, _, stderr = run("broadcast", "cancel", str(bid), input="y\n")
    assert code == 1
    assert stderr.strip() == (
        f"Broadcast {bid} not cancelled: there is no terminal to ask on; add --yes to go ahead."
    )
    assert _status(town, bid) == "queued"
    assert queued_numbers(town, bid) == {"+923011111111", "+923022222222"}
    code, stdout, _ = run("broadcast", "cancel", str(bid), "-y")
    assert code == 0 and f"Broadcast {bid} cancelled" in stdout
    assert _status(town, bid) == "cancelled"


def test_cancel_asks_at_a_terminal(town: str) -> None:
    bid = send("--title", "Job fair")
    code, shown = run_in_terminal("broadcast", "cancel", str(bid), answer="n")
    assert f"Cancel broadcast {bid} ('Job fair')? 2 messages not sent yet will never go out." in (
        " ".join(shown.split())
    )
    assert code == 1 and f"Broadcast {bid} not cancelled" in shown
    assert _status(town, bid) == "queued"
    code, shown = run_in_terminal("broadcast", "cancel", str(bid), answer="y")
    assert code == 0 and f"Broadcast {bid} cancelled: 2 waiting messages" in shown, shown
    assert _status(town, bid) == "cancelled"


def _give_telegram(url: str, number: str, chat: str) -> None:
    """The person with ``number`` also has an active Telegram chat."""

    def unit(conn: Connection) -> None:
        now = datetime.now(UTC)
        subscriber_id = conn.execute(
            select(_contacts.c.subscriber_id).where(_contacts.c.address == number)
        ).scalar_one()
        conn.execute(
            insert(_contacts).values(
                subscriber_id=subscriber_id,
                channel="telegram",
                address=chat,
                status="active",
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
        )

    on_db(url, unit)


def test_telegram_users_are_not_texted_unless_both_channels_is_asked_for(
    town: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _give_telegram(town, "+923011111111", "5550001")
    cheapest = send()
    assert queued_numbers(town, cheapest) == {"5550001", "+923022222222"}
    both = send("--both-channels")
    assert queued_numbers(town, both) == {"5550001", "+923011111111", "+923022222222"}
    # The setting changes the default; the option still wins.
    monkeypatch.setenv("BROADCAST_BOTH_CHANNELS", "true")
    assert queued_numbers(town, send()) == {"5550001", "+923011111111", "+923022222222"}
    assert queued_numbers(town, send("--cheapest-channel")) == {"5550001", "+923022222222"}
