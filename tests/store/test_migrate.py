"""``bot.store.migrate``'s cheap schema check: the head read from the scripts, and a
database at it, behind it, or not there at all (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.store.migrate import (
    SchemaNotCurrent,
    alembic_config,
    downgrade,
    head_revision,
    known_revisions,
    require_current,
)


def _script(folder: Path, revision: str, down: str) -> None:
    (folder / f"{revision}_step.py").write_text(
        f'"""A step."""\n\nrevision: str = "{revision}"\n'
        f"down_revision: str | Sequence[str] | None = {down}\n"
        "branch_labels = None\n\n\ndef upgrade() -> None:\n    pass\n",
        encoding="utf-8",
    )


def test_the_head_is_the_one_alembic_finds() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == scripts.get_current_head()


def test_the_known_revisions_are_the_ones_alembic_finds() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert known_revisions() == {script.revision for script in scripts.walk_revisions()}


@pytest.mark.parametrize(
    ("scripts", "head"),
    [
        pytest.param([("a1", "None"), ("b2", '"a1"'), ("c3", "'b2'")], "c3", id="a line"),
        pytest.param(
            [("a1", "None"), ("b2", '"a1"'), ("c3", '"a1"'), ("d4", '("b2", "c3")')],
            "d4",
            id="a merge",
        ),
        pytest.param([("a1", "None"), ("b2", '"a1"'), ("c3", '"a1"')], None, id="two heads"),
        pytest.param([], None, id="none"),
    ],
)
def test_the_head_of_scripts(tmp_path: Path, scripts: list[tuple[str, str]], head: str) -> None:
    for revision, down in scripts:
        _script(tmp_path, revision, down)
    if head is None:
        with pytest.raises(RuntimeError, match="heads"):
            head_revision(tmp_path)
    else:
        assert head_revision(tmp_path) == head


async def test_a_database_at_head_passes(db_url: str) -> None:
    await require_current(db_url)


async def test_a_database_behind_head_is_refused_with_what_to_run(db_url: str) -> None:
    await downgrade(db_url, "-1")
    with pytest.raises(
        SchemaNotCurrent, match=r"this version needs \w+: run `outreach db upgrade`"
    ):
        await require_current(db_url)


async def test_a_database_without_tables_is_refused(db_url: str) -> None:
    await downgrade(db_url, "base")
    with pytest.raises(SchemaNotCurrent, match="no tables yet: run `outreach db upgrade`"):
        await require_current(db_url)


async def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outreach.db"
    with pytest.raises(SchemaNotCurrent, match=f"no database at {path}: run `outreach db"):
        await require_current(f"sqlite+aiosqlite:///{path}")
    assert os.listdir(tmp_path) == []
