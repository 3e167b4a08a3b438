"""`outreach subscribers import|export|list` (in bot/cli/main.py) on both databases: everyone
is exported, Telegram-only people too; the file opens right in Excel (UTF-8 with a BOM) and
imports again as the same people, opt-outs kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, delete, func, select

from bot.store.tables import contacts as _contacts
from bot.store.tables import metadata
from bot.store.tables import subscribers as _subscribers
from tests.cli.conftest import OPTED_OUT, count, csv_rows, on_db, run

HEADER = "phone,telegram_chat_id,name,language,city,topics,sms_status,telegram_status"


def _empty(url: str) -> None:
    """Delete every row: the database is as `outreach db upgrade` made it."""

    def unit(conn: Connection) -> None:
        for table in reversed(metadata.sorted_tables):
            if table.name != "alembic_version":
                conn.execute(delete(table))

    on_db(url, unit)


def _seven_people(tmp_path: Path) -> None:
    """The town's four SMS people (one opted out), two who only use Telegram (one blocked the
    bot, one writes Urdu), and one on both; the coordinator names the last two."""
    for chat in ("1000001", "1000002"):
        code, _, stderr = run("chat", "--channel", "telegram", "--from", chat, "--once", "hi")
        assert code == 0, stderr
    more = tmp_path / "more.csv"
    more.write_text(
        "telegram_chat_id,phone,language,topics,telegram_status,name\n"
        "1000002,,ur,jobs;women,blocked,عائشہ قریشی\n"
        "1000003,0305 5555555,ur-Latn,training,,[b]Ali[/b] Raza\n",
        encoding="utf-8",
    )
    code, stdout, stderr = run("subscribers", "import", str(more))
    assert code == 0, stderr
    assert "2 rows imported: 1 new, 1 updated." in stdout


def test_export_has_everyone_and_imports_again_as_the_same_people(
    town: str, tmp_path: Path
) -> None:
    _seven_people(tmp_path)
    first = tmp_path / "first.csv"
    code, stdout, stderr = run("subscribers", "export", str(first))
    assert code == 0, stderr
    assert "7 subscribers written" in stdout
    data = first.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel shows Urdu"
    rows = csv_rows(data.decode("utf-8"))
    assert len(rows) == 7, "Telegram-only people are exported too"
    by_chat = {r["telegram_chat_id"]: r for r in rows if r["telegram_chat_id"]}
    assert by_chat["1000001"]["phone"] == "" and by_chat["1000001"]["telegram_status"] == "active"
    assert by_chat["1000002"]["telegram_status"] == "blocked"
    assert by_chat["1000002"]["sms_status"] == "" and by_chat["1000002"]["language"] == "ur"
    assert by_chat["1000003"]["phone"] == "+923055555555"
    assert by_chat["1000002"]["name"] == "عائشہ قریشی" and by_chat["1000001"]["name"] == ""
    opted_out = next(r for r in rows if r["phone"] == OPTED_OUT)
    assert opted_out["sms_status"] == "opted_out"

    code, stdout, _ = run("subscribers", "list")
    assert code == 0
    assert "7 subscribers (SMS: 4 active, 1 opted_out; Telegram: 2 active, 1 blocked)" in stdout
    assert "عائشہ قریشی" in stdout
    assert "[b]Ali[/b] Raza" in stdout, "a name is shown as written, never read as markup"

    _empty(town)
    assert count(town, _subscribers) == 0
    code, stdout, stderr = run("subscribers", "import", str(first))
    assert code == 0, stderr
    assert "7 rows imported: 7 new, 0 updated, 1 kept opted out." in stdout
    again = tmp_path / "again.csv"
    assert run("subscribers", "export", str(again))[0] == 0
    assert again.read_bytes() == data, "the same people, contacts and statuses"

    code, stdout, stderr = run("broadcast", "preview", "--text-en", "Job fair", "--topic", "jobs")
    assert code == 0, stderr
    assert "Recipients: 2 SMS" in stdout, "the opted-out and the blocked are not counted"

    code, stdout, _ = run("subscribers", "import", str(first))
    assert code == 0 and "7 rows imported: 0 new, 7 updated, 1 kept opted out." in stdout
    assert count(town, _contacts) == 8


def test_a_bad_row_in_an_export_is_named_and_nothing_is_stored(town: str, tmp_path: Path) -> None:
    exported = tmp_path / "people.csv"
    assert run("subscribers", "export", str(exported))[0] == 0
    lines = exported.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("+92303", "+92303x")  # row 4
    lines.append(",abc,,,,,")  # row 6
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines), encoding="utf-8")
    _empty(town)
    code, _, stderr = run("subscribers", "import", str(broken))
    assert code == 1
    assert "nothing imported, 2 problem(s)" in stderr
    assert "row 4: not a valid phone number: '+92303x3333333'" in stderr
    assert "row 6: telegram_chat_id 'abc' is not a number" in stderr
    assert count(town, _subscribers) == 0 and count(town, _contacts) == 0


def test_import_takes_utf8_with_or_without_a_bom_and_says_what_else_to_save(
    database: str, tmp_path: Path
) -> None:
    text = f"{HEADER}\n03011111111,,,ur,,,,\n,42,,en,,,,\n"
    for name, data in [
        ("plain.csv", text.encode("utf-8")),
        ("excel.csv", text.encode("utf-8-sig")),
        ("utf16.csv", text.encode("utf-16")),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        code, _, stderr = run("subscribers", "import", str(path))
        assert code == 0, f"{name}: {stderr}"
    assert count(database, _subscribers) == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,city\n03011111111,Multán\n".encode("latin-1"))
    code, _, stderr = run("subscribers", "import", str(latin))
    assert code == 1
    assert stderr.strip() == (
        f"Cannot read {latin}: it is not UTF-8 text (row 2 cannot be read): "
        "in Excel, save it as 'CSV UTF-8 (Comma delimited)'"
    )
    urdu = select(func.count()).where(_subscribers.c.language == "ur")
    assert on_db(database, lambda conn: conn.execute(urdu).scalar_one()) == 1


def test_export_to_the_terminal_is_the_same_file(town: str, tmp_path: Path) -> None:
    code, stdout, _ = run("subscribers", "export")
    assert code == 0
    path = tmp_path / "people.csv"
    run("subscribers", "export", str(path))
    assert stdout == path.read_text(encoding="utf-8")
    assert stdout.splitlines()[0] == "\ufeff" + HEADER
