"""Resident messages (fakes/residents.py) against the real content."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.conversation import decide, render_sms
from bot.core.decision import Inbound
from bot.core.keywords import Matcher
from bot.core.segments import count_segments
from fakes.residents import ROWS, Row

CONTENT = Path(__file__).resolve().parents[2] / "content"


@pytest.fixture(scope="module")
def real() -> tuple[Catalog, Matcher]:
    catalog = load_catalog(CONTENT)
    return catalog, Matcher.from_catalog(catalog)


def test_enough_rows_with_unique_labels() -> None:
    assert len(ROWS) >= 90
    assert len({row.label for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.label for row in ROWS])
def test_resident_message(real: tuple[Catalog, Matcher], row: Row) -> None:
    catalog, matcher = real
    decision = decide(Inbound(row.text, row.channel, row.stored), catalog, matcher)
    assert (decision.intent, decision.answer_id, decision.language) == (
        row.intent,
        row.answer_id,
        row.lang,
    )
    assert decision.reply is not None
    if row.channel == "sms":
        assert count_segments(render_sms(decision.reply, 2)).segments <= 2


def test_every_answer_is_reachable_by_some_row(real: tuple[Catalog, Matcher]) -> None:
    catalog, _ = real
    expected = {row.answer_id for row in ROWS}
    assert {a.id for a in catalog.answers} <= expected
