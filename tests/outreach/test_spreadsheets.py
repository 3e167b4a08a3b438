"""bot.outreach.spreadsheets: CSV that opens right in Excel, and uploads read either way."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.config import Settings
from bot.outreach.reporting import Report
from bot.outreach.spreadsheets import NotUtf8, csv_text, decode, reports_csv
from bot.store.broadcast_models import DELIVERY_STATUSES
from bot.store.broadcasts import BroadcastRow

URDU = "نوکری میلہ"


def test_csv_text_starts_with_a_bom_and_keeps_urdu() -> None:
    text = csv_text(("title", "n"), [(URDU, 1), ("a, b", 2)])
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["title", "n"],
        [URDU, "1"],
        ["a, b", "2"],
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_decode_reads_utf8_with_or_without_a_bom_and_utf16(encoding: str) -> None:
    assert decode(f"phone,city\n{URDU}\n".encode(encoding)) == f"phone,city\n{URDU}\n"


def test_decode_says_which_row_is_not_utf8() -> None:
    with pytest.raises(NotUtf8, match=r"row 3 cannot be read\): in Excel, save it as 'CSV UTF-8"):
        decode("a\nb\nMultán\n".encode("cp1252"))


def _report(sms_segments: int) -> Report:
    when = datetime(2026, 12, 1, 5, tzinfo=UTC)
    return Report(
        broadcast=BroadcastRow(
            id=1,
            title=URDU,
            status="done",
            scheduled_for=when,
            created_by="cli",
            cancelled_by=None,
            finished_at=when,
            schedule_id=None,
        ),
        total=3,
        by_status={s: 1 if s == "sent" else 0 for s in DELIVERY_STATUSES},
        by_channel={"sms": 3},
        failed_by_reason={},
        skipped_by_reason={},
        sms_segments=sms_segments,
    )


def test_a_cost_is_segments_times_the_price_to_the_cent_and_never_guessed() -> None:
    assert _report(3).cost(None) is None
    assert _report(3).cost(Decimal("1.335")) == Decimal("4.01")
    assert _report(0).cost(Decimal("4")) == Decimal("0.00")


def _row(settings: Settings) -> dict[str, str]:
    (row,) = csv.DictReader(io.StringIO(reports_csv([_report(7)], settings).removeprefix("\ufeff")))
    return row


def test_reports_csv_cost_column_empty_without_a_price() -> None:
    row = _row(Settings(timezone="Asia/Karachi"))
    assert (row["title"], row["sms_segments"], row["cost"], row["currency"]) == (URDU, "7", "", "")
    assert row["scheduled_for"] == "2026-12-01T10:00:00+05:00"
    priced = _row(Settings(sms_price_per_segment=Decimal("0.5"), sms_currency="USD"))
    assert (priced["cost"], priced["currency"]) == ("3.50", "USD")
