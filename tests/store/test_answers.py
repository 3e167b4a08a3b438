"""bot.store.answers against real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.added import AddedAnswer
from bot.store import answers
from bot.store.models import NaiveDatetimeError, NotFound
from bot.store.units import Units

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
FEES = AddedAnswer(
    "fees",
    ("fees", "فیس"),
    "TEST fees (test value)",
    "ٹیسٹ فیس",
    sms_ur_latn="TEST fees roman",
    telegram_en="TEST fees, longer",
)


async def test_an_added_answer_reads_back_whole_with_who_and_when(units: Units) -> None:
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    stored = await units.run(lambda c: answers.get_answer(c, "fees"))
    assert stored is not None
    assert stored.answer == FEES
    assert (stored.created_by, stored.created_at) == ("amna", NOW)
    assert (stored.updated_by, stored.updated_at) == ("amna", NOW)
    assert [s.answer for s in await units.run(answers.list_answers)] == [FEES]
    assert await units.run(lambda c: answers.get_answer(c, "other")) is None


async def test_an_id_is_added_once(units: Units) -> None:
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    with pytest.raises(answers.AnswerExists):
        await units.run(lambda c: answers.add_answer(c, FEES, "bilal", LATER))
    (only,) = await units.run(answers.list_answers)
    assert only.created_by == "amna"


async def test_an_edit_records_who_and_what_changed(units: Units) -> None:
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    new = replace(FEES, keywords=("fees", "fee"), telegram_en=None)
    assert await units.run(lambda c: answers.edit_answer(c, new, "bilal", LATER)) is True
    stored = await units.run(lambda c: answers.get_answer(c, "fees"))
    assert stored is not None and stored.answer == new
    assert (stored.created_by, stored.updated_by, stored.updated_at) == ("amna", "bilal", LATER)
    edit, add = await units.run(lambda c: answers.history(c, "fees"))
    assert (edit.action, edit.changed_by, edit.changed_at) == ("edit", "bilal", LATER)
    assert edit.before is not None and edit.after is not None
    assert (edit.before["keywords"], edit.after["keywords"]) == (["fees", "فیس"], ["fees", "fee"])
    assert (edit.before["telegram_en"], edit.after["telegram_en"]) == ("TEST fees, longer", None)
    assert (add.action, add.changed_by, add.before) == ("add", "amna", None)


async def test_an_edit_that_changes_nothing_is_not_recorded(units: Units) -> None:
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    before = await units.run(answers.version)
    assert await units.run(lambda c: answers.edit_answer(c, FEES, "bilal", LATER)) is False
    assert await units.run(answers.version) == before
    stored = await units.run(lambda c: answers.get_answer(c, "fees"))
    assert stored is not None and stored.updated_by == "amna"


async def test_a_removed_answer_is_gone_but_its_history_stays(units: Units) -> None:
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    await units.run(lambda c: answers.remove_answer(c, "fees", "bilal", LATER))
    assert await units.run(answers.list_answers) == []
    removed, _ = await units.run(lambda c: answers.history(c, "fees"))
    assert (removed.action, removed.changed_by, removed.after) == ("remove", "bilal", None)
    assert removed.before is not None and removed.before["sms_en"] == FEES.sms_en


async def test_editing_or_removing_a_missing_answer_raises(units: Units) -> None:
    with pytest.raises(NotFound):
        await units.run(lambda c: answers.edit_answer(c, FEES, "amna", NOW))
    with pytest.raises(NotFound):
        await units.run(lambda c: answers.remove_answer(c, "fees", "amna", NOW))
    assert await units.run(answers.version) == (0, 0)


async def test_the_version_moves_with_every_change(units: Units) -> None:
    seen = [await units.run(answers.version)]
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    seen.append(await units.run(answers.version))
    await units.run(lambda c: answers.edit_answer(c, replace(FEES, sms_en="TEST 2"), "a", NOW))
    seen.append(await units.run(answers.version))
    await units.run(lambda c: answers.remove_answer(c, "fees", "amna", NOW))
    seen.append(await units.run(answers.version))
    assert seen[0] == (0, 0)
    assert [count for count, _ in seen] == [0, 1, 2, 3]
    assert len(set(seen)) == 4


async def test_a_naive_time_is_refused(units: Units) -> None:
    with pytest.raises(NaiveDatetimeError):
        await units.run(lambda c: answers.add_answer(c, FEES, "amna", datetime(2026, 12, 1)))
    assert await units.run(answers.list_answers) == []


async def test_mirror_makes_the_answers_the_same_as_another_databases(units: Units) -> None:
    other = replace(FEES, key="dates", keywords=("dates",))
    await units.run(lambda c: answers.add_answer(c, other, "amna", NOW))
    await units.run(lambda c: answers.add_answer(c, FEES, "amna", NOW))
    wanted = answers.StoredAnswer(replace(FEES, sms_en="TEST fees 2"), "amna", NOW, "bilal", NOW)
    added = answers.StoredAnswer(replace(FEES, key="address"), "chand", NOW, "chand", NOW)
    changed = await units.run(lambda c: answers.mirror(c, [wanted, added], LATER))
    assert changed
    found = {s.answer.key: s for s in await units.run(answers.list_answers)}
    assert {k: s.answer for k, s in found.items()} == {
        "fees": wanted.answer,
        "address": added.answer,
    }
    assert (found["fees"].updated_by, found["address"].created_by) == ("bilal", "chand")
    version = await units.run(answers.version)
    assert not await units.run(lambda c: answers.mirror(c, [wanted, added], LATER))
    assert await units.run(answers.version) == version, "nothing recorded when nothing differs"
