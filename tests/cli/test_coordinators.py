"""`outreach coordinators`: console accounts from the terminal."""

from __future__ import annotations

import re

import pytest

from bot.store import coordinators
from tests.cli.conftest import on_db, run

# The database is not the subject here: see "sqlite_only" in tests/conftest.py.
pytestmark = pytest.mark.sqlite_only


def test_add_list_link_password_remove(database: str) -> None:
    code, out, err = run("coordinators", "add", "Amina", "--telegram-id", "777001", "--admin")
    assert code == 0, err
    assert "Added admin Amina" in out
    code, out, _ = run("coordinators", "add", "Bilal", "--by", "Amina")
    assert code == 0

    code, out, _ = run("coordinators", "list")
    assert code == 0
    rows = {cells[0]: cells[1:] for cells in _rows(out)}
    assert rows["Amina"][:3] == ["admin", "777001", "-"]
    assert rows["Bilal"][:4] == ["coordinator", "", "-", "Amina"]

    code, out, _ = run("coordinators", "link", "Bilal", "--minutes", "5")
    assert code == 0
    assert "works once, for 5 minutes" in out
    token = re.search(r"http://127\.0\.0\.1:8080/console/login/(\S+)", out)
    assert token is not None, out

    code, _, err = run("coordinators", "password", "Bilal", "--stdin", input="short\n")
    assert code == 1 and "at least 10 characters" in err
    code, out, _ = run("coordinators", "password", "Bilal", "--stdin", input="long enough pw\n")
    assert code == 0 and "Password set for Bilal" in out
    bilal = on_db(database, lambda c: coordinators.by_name(c, "Bilal"))
    assert bilal is not None and bilal.has_password and bilal.session_epoch == 1

    code, out, _ = run("coordinators", "remove", "Bilal", "--yes")
    assert code == 0 and "Removed Bilal" in out
    assert on_db(database, lambda c: coordinators.by_name(c, "Bilal")) is None


def test_mistakes_get_one_line_and_change_nothing(database: str) -> None:
    assert run("coordinators", "add", "Amina", "--telegram-id", "5")[0] == 0
    code, _, err = run("coordinators", "add", "Amina")
    assert code == 1 and "already a coordinator named 'Amina'" in err
    code, _, err = run("coordinators", "add", "Someone", "--telegram-id", "5")
    assert code == 1 and "Telegram id 5 is already" in err
    code, _, err = run("coordinators", "add", " ")
    assert code == 1 and "1 to 64 printable characters" in err
    code, _, err = run("coordinators", "link", "Nobody")
    assert code == 1 and "No coordinator named 'Nobody'" in err
    code, _, err = run("coordinators", "remove", "Nobody", "--yes")
    assert code == 1 and "no coordinator named 'Nobody'" in err
    # Without a terminal and without --yes nothing is removed.
    code, _, err = run("coordinators", "remove", "Amina")
    assert code == 1 and "--yes" in err
    assert [a.name for a in on_db(database, coordinators.everyone)] == ["Amina"]


def test_link_uses_the_public_address_when_set(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://outreach.example.org/")
    run("coordinators", "add", "Amina")
    code, out, _ = run("coordinators", "link", "Amina")
    assert code == 0
    assert "https://outreach.example.org/console/login/" in out


def _rows(table: str) -> list[list[str]]:
    """The cells of each body row of a rich table."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in table.splitlines()
        if line.startswith("│")
    ]
