"""``outreach report``: what became of the broadcasts, and (``report unanswered``) what
residents asked that the bot could not answer; as text or CSV."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import (
    coordinator_settings,
    fail,
    on_db,
    out,
    parse_number,
    setup_logging,
    write_csv,
)

if TYPE_CHECKING:
    from collections import Counter

    from bot.outreach.reporting import Report
    from bot.store.units import Units


def report(
    number: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID | unanswered]",
            help="Only this broadcast (default: the latest ones); or `unanswered`: what "
            "residents asked that the bot could not answer.",
        ),
    ] = None,
    as_csv: Annotated[
        bool,
        typer.Option("--csv", help="Write CSV (for a spreadsheet) instead of text."),
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="How many of the latest broadcasts (or questions) to show.")
    ] = 20,
    days: Annotated[
        int | None,
        typer.Option(min=1, help="With `unanswered`: the last N days (default 30)."),
    ] = None,
) -> None:
    """What became of the broadcasts: delivered, sent, failed (and why), skipped, waiting.

    delivered: the phone confirmed it; sent: the provider accepted it (Telegram never
    confirms); failed and skipped come with their reasons. CSV (UTF-8 with a BOM, so Excel
    shows Urdu) has a row per broadcast: times in ISO 8601 in TIMEZONE, the SMS segments the
    provider accepted and their cost at SMS_PRICE_PER_SEGMENT (empty when it is not set).

    `report unanswered [--days N] [--csv]`: the messages the bot did not understand, and those
    about a topic it has no answer for (handed over to a person: content/staff.yaml), grouped
    by what they say (case, spacing, punctuation and Urdu letter forms aside; near-identical
    texts together), most asked first, with examples and the split by channel and language.
    Its CSV is UTF-8 with a BOM, so Excel shows Urdu.
    """
    if number is not None and number.strip().casefold() == "unanswered":
        _unanswered(30 if days is None else days, as_csv, limit)
        return
    if days is not None:
        fail("--days is for `outreach report unanswered`.")
    from bot.outreach import reporting

    settings = coordinator_settings()
    setup_logging("WARNING")
    broadcast_id = None if number is None else parse_number(number, "broadcast")

    async def load(units: Units) -> list[Report]:
        if broadcast_id is None:
            return await reporting.list_reports(units, limit)
        found = await reporting.get_report(units, broadcast_id)
        return [found] if found is not None else []

    reports = on_db(settings, load)
    if broadcast_id is not None and not reports:
        fail(f"There is no broadcast {broadcast_id}; `outreach broadcast list` shows them.")
    if as_csv:
        from bot.outreach.spreadsheets import reports_csv

        write_csv(reports_csv(reports, settings), None)
        return
    if not reports:
        out.print("No broadcasts yet.")
    for n, r in enumerate(reports):
        if n:
            out.print()
        for line in reporting.report_lines(r, settings.timezone):
            out.print(line, markup=False)


def _unanswered(days: int, as_csv: bool, limit: int) -> None:
    from datetime import UTC, timedelta

    from rich.table import Column, Table

    from bot.core.unanswered import group
    from bot.store.messages import unanswered

    settings = coordinator_settings()
    setup_logging("WARNING")
    since = datetime.now(UTC) - timedelta(days=days)
    groups = group(on_db(settings, lambda units: units.run(lambda c: unanswered(c, since))))
    if as_csv:
        from bot.outreach.spreadsheets import unanswered_csv

        write_csv(unanswered_csv(groups, settings.timezone), None)
        return
    if not groups:
        out.print(f"Every message of the last {days} days was understood and answered.")
        return
    total = sum(g.count for g in groups)
    out.print(
        f"Not answered by the bot in the last {days} days: {total} message(s), "
        f"{len(groups)} different question(s), most asked first."
    )
    table = Table(
        "#",
        "asked",
        Column("question", max_width=30),
        Column("examples", max_width=50),
        "channels",
        "languages",
    )
    for n, g in enumerate(groups[:limit], 1):
        table.add_row(
            str(n),
            str(g.count),
            g.key,
            " | ".join(g.examples()),
            _split(g.channels),
            _split(g.languages),
        )
    out.print(table)
    if len(groups) > limit:
        out.print(f"… and {len(groups) - limit} more (--limit, or --csv for all).")
    out.print("`outreach answers add` gives the bot an answer to one of them.")


def _split(counts: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in counts.most_common())
