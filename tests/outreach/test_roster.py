"""bot.outreach.roster: what the CLI and the console share to import and export subscribers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.outreach.roster import export_csv, import_roster, preview_import
from bot.store.units import Units

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(REPO / "content")


def test_a_preview_checks_against_the_content_and_stores_nothing(catalog: Catalog) -> None:
    checked = preview_import(
        "phone,city,topics\n03001234567,multan,jobs\n03011234567,lahore,jobs\n"
        "03021234567,dhanote,cooking\n",
        catalog,
    )
    assert [(r.row, r.phone, r.city) for r in checked.rows] == [(2, "+923001234567", "multan")]
    assert [row for row, _ in checked.problems] == [3, 4]
    assert "city 'lahore' is not one of" in checked.problems[0][1]
    assert "topic(s) cooking" in checked.problems[1][1]


async def test_an_export_previews_as_the_rows_it_was_made_from(
    units: Units, catalog: Catalog
) -> None:
    text = (
        "phone,telegram_chat_id,name,language,city,topics,sms_status,telegram_status\n"
        "+923001234567,,عائشہ قریشی,ur,multan,jobs;women,opted_out,\n"
        ",5550001,,ur-Latn,,training,,active\n"
        '+923011234567,5550002,"Raza, Ali",en,dhanote,,active,blocked\n'
    )
    first = preview_import(text, catalog)
    assert first.ok, first.problems
    await import_roster(units, first.rows, NOW)
    exported = await export_csv(units)
    assert exported.startswith("\ufeff")
    assert exported.removeprefix("\ufeff").replace("\r\n", "\n") == text
    assert preview_import(exported, catalog).rows == first.rows
