"""`outreach inbox list|show|reply|close`: the real Typer app on a migrated database, in
sandbox mode (replies go to the simulator channel and are stored as `simulated`)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select

from bot.store.tables import messages as _messages
from bot.store.tables import threads as _threads
from tests.cli.conftest import on_db, run

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

PHONE = "03001112233"
E164 = "+923001112233"


def ask(text: str = "fees kitni hai", sender: str = PHONE) -> None:
    code, _, stderr = run("chat", "--once", text, "--from", sender)
    assert code == 0, stderr


def thread_rows(url: str) -> list[tuple[str, str | None, str | None]]:
    def read(conn: Connection) -> list[tuple[str, str | None, str | None]]:
        t = _threads.c
        stmt = select(t.state, t.answered_by, t.closed_by).order_by(t.id)
        return [tuple(row) for row in conn.execute(stmt)]  # type: ignore[misc]

    return on_db(url, read)


def replies_in_thread(url: str, thread_id: int) -> list[tuple[str, str]]:
    def read(conn: Connection) -> list[tuple[str, str]]:
        m = _messages.c
        stmt = (
            select(m.text, m.status)
            .where(m.thread_id == thread_id, m.direction == "out")
            .order_by(m.id)
        )
        return [(row.text, row.status) for row in conn.execute(stmt)]

    return on_db(url, read)


def test_list_and_show_the_open_threads_with_masked_numbers(database: str) -> None:
    ask()

    code, listed, _ = run("inbox", "list")
    assert code == 0
    assert "open" in listed and "+92300****233" in listed and E164 not in listed

    code, shown, _ = run("inbox", "show", "1")
    assert code == 0
    assert "Thread #1: open, sms, ur-Latn, +92300****233" in shown  # asked in Roman Urdu
    assert "< " in shown and "fees kitni hai" in shown


def test_reply_sends_on_the_residents_channel_and_records_who(database: str) -> None:
    ask()

    code, stdout, stderr = run(
        "inbox", "reply", "1", "Fees are not set yet.", "--by", "amina", "--yes"
    )

    assert code == 0, stderr
    assert "SMS: 1 segment (GSM-7)" in stdout and "Sent to thread #1 by amina." in stdout
    assert replies_in_thread(database, 1)[-1] == ("Fees are not set yet.", "simulated")
    assert thread_rows(database) == [("claimed", "amina", None)]
    code, _, stderr = run("inbox", "reply", "1", "Me too", "--by", "bilal", "--yes")
    assert code == 1 and "being answered by amina" in stderr


def test_reply_asks_first_and_sends_nothing_on_no(database: str) -> None:
    ask()

    code, stdout, _ = run("inbox", "reply", "1", "Hello", "--by", "amina", input="n\n")

    assert code == 0 and "Not sent." in stdout
    assert len(replies_in_thread(database, 1)) == 1  # only the bot's "a person will answer"
    assert thread_rows(database) == [("open", None, None)]


def test_reply_is_refused_to_an_opted_out_resident_and_over_the_segment_limit(
    database: str,
) -> None:
    ask()
    code, _, stderr = run("inbox", "reply", "1", "ا" * 200, "--by", "amina", "--yes")
    assert code == 1 and "segments (UCS-2); at most 2" in stderr

    ask("STOP")
    code, _, stderr = run("inbox", "reply", "1", "Hello", "--by", "amina", "--yes")

    assert code == 1 and "opted out (STOP)" in stderr
    assert len(replies_in_thread(database, 1)) == 1
    code, shown, _ = run("inbox", "show", "1")
    assert "The resident is opted_out: replies are refused." in shown


def test_close_ends_a_thread_once(database: str) -> None:
    ask()

    code, stdout, _ = run("inbox", "close", "1", "--by", "amina")
    assert code == 0 and "Thread #1 closed by amina." in stdout
    code, _, stderr = run("inbox", "close", "1", "--by", "amina")
    assert code == 1 and "closed already" in stderr

    assert thread_rows(database) == [("closed", None, "amina")]
    code, listed, _ = run("inbox", "list")
    assert "No open threads" in listed
    code, listed, _ = run("inbox", "list", "--all")
    assert "closed" in listed


def test_bad_ids_get_one_line(database: str) -> None:
    for args in (("show", "7"), ("reply", "7", "Hi", "--yes"), ("close", "x")):
        code, _, stderr = run("inbox", *args)
        assert code == 1, args
        assert len(stderr.strip().splitlines()) == 1, stderr
