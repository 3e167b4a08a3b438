"""How long the console's Subscribers pages take with a real town's data on SQLite.

A migrated SQLite file gets 100,000 subscribers (SMS only, Telegram only and both), 1,000
broadcasts and 1,000,000 deliveries (ten per person), and 300,000 messages; then each page
is asked for ``--runs`` times in process (Starlette's TestClient, signed in as a
coordinator), the cases taking turns, and the median and 95th percentile printed per case.
Target (issue 12): every page under 150 ms at p95. The export (all 100,000 people) is timed
once, apart: it is a download, not a page.

Run from the repository root: .venv/bin/python -m bench.bench_console_subscribers [--runs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from bot.config import Settings
from bot.outreach import accounts
from bot.store.migrate import upgrade
from bot.web import create_app

REPO = Path(__file__).resolve().parents[1]
PEOPLE = 100_000
BROADCASTS = 1_000
PER_PERSON = 10  # deliveries
STAMP = "2026-11-01 09:00:00.000000"


def seed(path: Path) -> None:
    """The town, written with recursive CTEs (no Python loop)."""
    db = sqlite3.connect(path)
    seq = "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {})"
    # Constants of this file only, no outside input: f-strings are safe here.
    db.executescript(
        f"""
        {seq.format(PEOPLE)}
        INSERT INTO subscribers (id, language, city, topics, created_at, updated_at)
        SELECT n, CASE n % 3 WHEN 0 THEN 'ur' WHEN 1 THEN 'en' ELSE 'ur-Latn' END,
               CASE n % 4 WHEN 0 THEN 'dhanote' WHEN 1 THEN 'multan' WHEN 2 THEN 'bahawalpur'
               ELSE NULL END,
               CASE WHEN n % 2 = 0 THEN '["training"]' ELSE '[]' END, '{STAMP}', '{STAMP}'
        FROM seq;
        -- Four in five have a number, two in five a Telegram chat (one in five both).
        INSERT INTO contacts (subscriber_id, channel, address, status, status_changed_at,
                              status_reason, created_at, updated_at)
        SELECT id, 'sms', '+92300' || printf('%07d', id),
               CASE WHEN id % 50 = 0 THEN 'opted_out' ELSE 'active' END, '{STAMP}',
               CASE WHEN id % 50 = 0 THEN 'keyword' ELSE NULL END, '{STAMP}', '{STAMP}'
        FROM subscribers WHERE id % 5 != 0;
        INSERT INTO contacts (subscriber_id, channel, address, status, status_changed_at,
                              created_at, updated_at)
        SELECT id, 'telegram', CAST(5000000000 + id AS TEXT), 'active', '{STAMP}', '{STAMP}',
               '{STAMP}'
        FROM subscribers WHERE id % 5 IN (0, 1);
        INSERT INTO announcements (id, title, text_en, topics, created_at, updated_at)
        VALUES (1, 'Training starts Monday', 'Training starts Monday', '[]', '{STAMP}',
                '{STAMP}');
        {seq.format(BROADCASTS)}
        INSERT INTO broadcasts (id, announcement_id, key, audience, status, scheduled_for,
                                created_by, created_at, updated_at)
        SELECT n, 1, 'manual:' || n, '{{}}', 'done', '{STAMP}', 'bench', '{STAMP}', '{STAMP}'
        FROM seq;
        """  # noqa: S608
    )
    contacts = db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    # Ten deliveries a person: broadcast b goes to the contacts whose id % 100 == b % 100.
    db.executescript(
        f"""
        {seq.format(PEOPLE * PER_PERSON)}
        INSERT INTO deliveries (broadcast_id, contact_id, channel, status, attempts,
                                next_attempt_at, sent_at, created_at, updated_at)
        SELECT 1 + (n - 1) / {PEOPLE}, c.id, c.channel,
               CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'delivered' END, 1, '{STAMP}',
               '{STAMP}', '{STAMP}', '{STAMP}'
        FROM seq JOIN contacts c ON c.id = 1 + (n * 7919) % {contacts}
        WHERE true ON CONFLICT DO NOTHING;
        {seq.format(3 * PEOPLE)}
        INSERT INTO messages (contact_id, direction, channel, text, status, created_at,
                              updated_at)
        SELECT c.id, CASE n % 2 WHEN 0 THEN 'in' ELSE 'out' END, c.channel,
               'fees kitni hai? ' || n, CASE n % 2 WHEN 0 THEN 'received' ELSE 'delivered' END,
               '{STAMP}', '{STAMP}'
        FROM seq JOIN contacts c ON c.id = 1 + n % {contacts};
        ANALYZE;
        """  # noqa: S608
    )
    db.commit()
    db.close()


def sign_in(client: TestClient, app: object) -> None:
    async def link() -> str:
        units = app.state.runtime.units  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        account = await accounts.add_coordinator(
            units, f"Bench {now:%H%M%S%f}", telegram_id=None, admin=True, by="bench", now=now
        )
        return await accounts.make_link(units, account, now, 15)

    assert client.portal is not None
    path = f"/console/login/{client.portal.call(link)}"
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get(path).text)
    assert token is not None
    client.post(path, data={"csrf": token.group(1)}, follow_redirects=False)


CASES = {
    "list, first page": "/console/subscribers",
    "list, page 1000": "/console/subscribers?before=50000",
    "whole number 0300…": "/console/subscribers?q=0300%200049999",
    "number start 0300004": "/console/subscribers?q=0300004",
    "number start +92300 (all)": "/console/subscribers?q=%2B92300",
    "number start, old only": "/console/subscribers?q=0300000",
    "number start, page 100": "/console/subscribers?q=0300&before=5000",
    "chat id": "/console/subscribers?q=5000050001",
    "city word": "/console/subscribers?q=multan",
    "#id": "/console/subscribers?q=%2377777",
    "no match": "/console/subscribers?q=0345%201234567",
    "person page": "/console/subscribers/50001",
    "import form": "/console/subscribers/import",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", type=Path, help="keep the town in this file (reused if there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "town.db"
        url = f"sqlite+aiosqlite:///{path}"
        if not path.exists():
            asyncio.run(upgrade(url))
            started = time.perf_counter()
            seed(path)
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        settings = Settings(
            _env_file=None,
            database_url=url,
            content_dir=REPO / "content",
            public_base_url="https://outreach.example.org",
        )
        app = create_app(settings)
        with TestClient(app, base_url="https://testserver") as client:
            sign_in(client, app)
            times: dict[str, list[float]] = {name: [] for name in CASES}
            for run in range(args.runs + 1):
                for name, target in CASES.items():
                    t0 = time.perf_counter()
                    answer = client.get(target)
                    elapsed = time.perf_counter() - t0
                    assert answer.status_code == 200, (target, answer.status_code)
                    if run:  # the first round warms up
                        times[name].append(elapsed * 1000)
            print(f"{'case':<28} {'median ms':>10} {'p95 ms':>8}")
            for name, values in times.items():
                values.sort()
                p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
                print(f"{name:<28} {statistics.median(values):>10.1f} {p95:>8.1f}")
            t0 = time.perf_counter()
            export = client.get("/console/subscribers/export.csv")
            rows = export.content.count(b"\n") - 1
            print(f"export: {rows} rows, {len(export.content) / 1e6:.1f} MB in "
                  f"{time.perf_counter() - t0:.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
