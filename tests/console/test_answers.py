"""The console's answers: list, add, edit, remove, with the CLI's checks, recorded with who."""

from __future__ import annotations

import html
from typing import Any

import pytest

from bot.content.added import problems
from bot.core.added import AddedAnswer
from bot.outreach import answers
from bot.store.answers import Change, StoredAnswer
from tests.console.conftest import Console

# The database is not the subject here (the store's tests are): see "sqlite_only" in
# tests/conftest.py.
pytestmark = pytest.mark.sqlite_only

FEES = {
    "key": "fees",
    "keywords": "fees\nfees kitni hai\nفیس",
    "sms_en": "TEST fees: PKR 1234 (test value)",
    "sms_ur": "ٹیسٹ فیس: 1234 روپے",
    "sms_roman": "",
    "telegram_en": "TEST fees, the longer Telegram text (test value)",
    "telegram_ur": "",
}


def shown(console: Console, key: str) -> tuple[StoredAnswer | None, list[Change]]:
    return console.run(lambda: answers.show(console.runtime.units, key))


def all_stored(console: Console) -> list[StoredAnswer]:
    return console.run(lambda: answers.list_all(console.runtime.units))


def add(console: Console, **changes: str) -> Any:
    return console.post("/console/answers/new", {**FEES, **changes})


def test_an_answer_added_is_stored_with_who_and_listed(console: Console) -> None:
    console.sign_in("Amina")
    assert "No answers added yet" in console.get("/console/answers").text
    assert console.get("/console/answers/new").status_code == 200
    done = add(console)
    assert done.status_code == 303 and done.headers["location"] == "/console/answers"
    found, changes = shown(console, "fees")
    assert found is not None
    assert found.answer == AddedAnswer(
        "fees",
        ("fees", "fees kitni hai", "فیس"),
        FEES["sms_en"],
        FEES["sms_ur"],
        None,
        FEES["telegram_en"],
        None,
    )
    assert (found.created_by, changes[0].action, changes[0].changed_by) == ("Amina", "add", "Amina")
    page = console.get("/console/answers")
    assert "Answer &#39;fees&#39; added by Amina." in page.text
    assert '<td dir="auto">ٹیسٹ فیس: 1234 روپے</td>' in page.text


def test_a_bad_answer_names_each_field_as_the_cli_does_and_stores_nothing(
    console: Console,
) -> None:
    console.sign_in("Amina")
    bad = {
        "key": "Fees!",
        "keywords": "stop\nmenu",
        "sms_en": "x" * 200,
        "sms_ur": "ٹیسٹ",
        "telegram_ur": "   ",
    }
    refused = add(console, **bad)
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    # Exactly the checks `outreach answers add` runs, each beside its field.
    expected = problems(
        AddedAnswer("Fees!", ("stop", "menu"), "x" * 200, "ٹیسٹ"),
        console.runtime.catalog,
        max_segments=console.runtime.settings.sms_max_segments,
    )
    assert len(expected) >= 4
    labels = {"id": "Id", "keywords": "Keywords", "sms-en": "SMS in English"}
    for line in expected:
        field, _, rest = line.partition(": ")
        assert f"{labels[field]}: {rest}" in text, line
    assert 'name="sms_en" rows="3" dir="auto" aria-invalid="true"' in refused.text
    # What was typed is kept, so nothing is lost.
    assert "x" * 200 in refused.text and "stop\nmenu" in text
    assert all_stored(console) == []
    missing = add(console, key="dates", keywords="", sms_en="", sms_ur="")
    assert missing.status_code == 400
    text = html.unescape(missing.text)
    assert "Keywords: at least one keyword is needed" in text
    assert "SMS in English: empty; every answer needs it" in text
    assert "SMS in Urdu: empty; every answer needs it" in text
    assert all_stored(console) == []


def test_an_answer_whose_id_or_keyword_is_taken_is_refused(console: Console) -> None:
    console.sign_in("Amina")
    add(console)
    again = add(console)
    assert again.status_code == 400
    assert "there is already an answer &#39;fees&#39;" in again.text
    other = add(console, key="cost", keywords="Fees Kitni Hai")
    assert other.status_code == 400
    assert "already a keyword of the added answer &#39;fees&#39;" in other.text
    assert [s.answer.key for s in all_stored(console)] == ["fees"]


def test_an_edit_changes_what_is_given_and_records_who(console: Console) -> None:
    console.sign_in("Amina")
    add(console, sms_roman="TEST fees 1234 rupay")
    console.client.cookies.clear()
    console.sign_in("Bilal")
    form = console.get("/console/answers/fees/edit")
    assert form.status_code == 200
    assert "TEST fees 1234 rupay" in form.text and "History" in form.text
    changed = {**FEES, "keywords": "fees\nfees\nfee kitni", "sms_en": "TEST fees: PKR 99"}
    del changed["key"]
    done = console.post("/console/answers/fees/edit", changed)
    assert done.status_code == 303
    found, changes = shown(console, "fees")
    assert found is not None
    assert found.answer.keywords == ("fees", "fee kitni"), "repeats dropped, as the CLI does"
    assert found.answer.sms_en == "TEST fees: PKR 99"
    assert found.answer.sms_ur_latn is None, "an empty optional text clears it"
    assert (found.created_by, found.updated_by) == ("Amina", "Bilal")
    assert (changes[0].action, changes[0].changed_by) == ("edit", "Bilal")
    assert "changed by Bilal" in console.get("/console/answers").text
    same = console.post("/console/answers/fees/edit", changed)
    assert same.status_code == 303
    assert "is unchanged" in console.get("/console/answers").text
    assert len(shown(console, "fees")[1]) == 2


def test_a_bad_edit_keeps_the_old_answer(console: Console) -> None:
    console.sign_in("Amina")
    add(console)
    refused = console.post("/console/answers/fees/edit", {**FEES, "sms_en": "", "keywords": "help"})
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "SMS in English: empty; every answer needs it" in text
    assert "Keywords: 'help'" in text
    found, changes = shown(console, "fees")
    assert found is not None and found.answer.sms_en == FEES["sms_en"] and len(changes) == 1
    assert console.get("/console/answers/nope/edit").status_code == 404
    assert console.post("/console/answers/nope/edit", FEES).status_code == 404


def test_removing_asks_first_and_records_who(console: Console) -> None:
    console.sign_in("Amina")
    add(console)
    asked = console.post("/console/answers/fees/remove")
    assert asked.status_code == 200
    assert "Remove answer <code>fees</code>?" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert shown(console, "fees")[0] is not None
    done = console.post("/console/answers/fees/remove", {"confirm": "yes"})
    assert done.status_code == 303
    found, changes = shown(console, "fees")
    assert found is None
    assert (changes[0].action, changes[0].changed_by) == ("remove", "Amina")
    assert "Answer &#39;fees&#39; removed by Amina." in console.get("/console/answers").text
    assert console.post("/console/answers/fees/remove", {"confirm": "yes"}).status_code == 404
    assert console.post("/console/answers/fees/remove").status_code == 404


def test_html_in_an_answer_is_shown_as_text(console: Console) -> None:
    console.sign_in("Amina")
    add(console, sms_en="TEST <script>alert(1)</script>")
    page = console.get("/console/answers")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
