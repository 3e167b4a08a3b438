"""Screenshots of the coordinators' console for the README, taken in headless Chromium.

Run: ``.venv/bin/python docs/screenshots.py`` (about half a minute). It builds a small demo
town in a temporary SQLite database in sandbox mode (no provider configured: every message
goes to the simulator), serves the app in this process on a free local port, signs in with a
one-time link as a coordinator would, and writes PNGs into ``docs/screenshots/``: the main
pages at desktop width (1280) and the overview and compose at phone width (390).

Needs Debian's Chromium (``apt-get install chromium``, used through Playwright as its
executable: no browser download) and, so that Urdu is drawn as Urdu rather than boxes, an
Arabic-script font: ``apt-get install fonts-noto-core`` (Noto Naskh Arabic). The tests need
neither font.

The demo town's texts come from the source article (``content/`` quotes it): no phone
number here is anyone's (``+92300000xxxx``), and no fee, date or address is made up.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, update

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.app.runtime import Runtime  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.added import AddedAnswer  # noqa: E402
from bot.core.audience import Audience  # noqa: E402
from bot.outreach import accounts, answers, coordinate  # noqa: E402
from bot.outreach.coordinate import Draft  # noqa: E402
from bot.outreach.inbox import IncomingMessage  # noqa: E402
from bot.routes.app import create_app  # noqa: E402
from bot.store.broadcasts import finish_broadcasts  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402
from bot.store.tables import contacts, deliveries, subscribers  # noqa: E402
from fakes.server import aserve  # noqa: E402

OUT = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Announcements: the programs' SMS texts from content/programs.yaml (the source article's).
BOOTCAMPS = Draft(
    title="Coding and freelancing bootcamps",
    text_en="Coding bootcamps are hosted in Multan, Bahawalpur and Dhanote. Freelancing "
    "bootcamps are among Dhanote's key developments.",
    text_ur="ملتان، بہاولپور اور ڈھنوٹ میں کوڈنگ بوٹ کیمپس ہوتے ہیں۔ فری لانسنگ بوٹ کیمپس ڈھنوٹ"
    " کی اہم پیش رفت میں شامل ہیں۔",
    text_ur_latn="Multan, Bahawalpur aur Dhanote mein coding bootcamps hote hain. Freelancing "
    "bootcamps Dhanote ki ahem pesh-raft mein shamil hain.",
    audience=Audience(topics=frozenset({"training"})),
    topics=("training",),
)
DIGISKILLS = Draft(
    title="DigiSkills.pk and freelancing training",
    text_en="DigiSkills.pk and Ignite-sponsored freelancing training are among the notable "
    "programs that attract talent to Dhanote's tech sector.",
    text_ur="DigiSkills.pk اور Ignite کے تعاون سے فری لانسنگ کی تربیت ڈھنوٹ میں ہنرمندوں کو لانے"
    " والے نمایاں پروگرام ہیں۔",
    text_ur_latn="DigiSkills.pk aur Ignite ki sponsor ki hui freelancing training Dhanote ke "
    "tech shobay mein hunarmand lane wale numayan programs mein se hain.",
    audience=Audience(),
    topics=("freelancing",),
)
NAVTTC = Draft(
    title="NAVTTC and TEVTA courses",
    text_en="NAVTTC and TEVTA courses on app development and digital marketing are among the "
    "notable programs that attract talent to Dhanote's tech sector.",
    text_ur="ایپ ڈیولپمنٹ اور ڈیجیٹل مارکیٹنگ پر NAVTTC اور TEVTA کے کورسز ڈھنوٹ کے نمایاں"
    " تربیتی پروگراموں میں شامل ہیں۔",
    text_ur_latn="App development aur digital marketing par NAVTTC aur TEVTA ke courses "
    "Dhanote ke tech shobay mein hunarmand lane wale numayan programs mein se hain.",
    audience=Audience(topics=frozenset({"training"})),
    topics=("training",),
)
# What a coordinator types on the compose page (content/programs.yaml: e_rozgaar).
TYPED = {
    "text_en": "PITB's e-Rozgaar centers train youth for digital jobs. They are among the "
    "government efforts to scale tech in regions like Dhanote.",
    "text_ur": "PITB کے e-Rozgaar مراکز نوجوانوں کو ڈیجیٹل ملازمتوں کی تربیت دیتے ہیں۔",
    "text_roman": "PITB ke e-Rozgaar markaz naujawanon ko digital naukriyon ki training dete "
    "hain. Yeh Dhanote jaise ilaqon mein tech barhane ki sarkari koshishon mein se hain.",
}
# A coordinator-added answer: FAQ 7 of the article.
WOMEN = AddedAnswer(
    key="women_programs",
    keywords=("women training", "khawateen training", "خواتین تربیت"),
    sms_en="Women are actively trained and supported through specialized IT programs and "
    "entrepreneurial incentives in Dhanote.",
    sms_ur="ڈھنوٹ میں خواتین کو خصوصی آئی ٹی پروگراموں اور کاروباری مراعات کے ذریعے تربیت اور"
    " مدد دی جاتی ہے۔",
    sms_ur_latn="Dhanote mein khawateen ko khas IT programs aur karobari muraat ke zariye "
    "training aur madad di jati hai.",
)
# The handed-over conversation: FAQ 4 of the article, asked; the reply from its programs.
QUESTION = "Kya Multan se bhi Dhanote IT Park ke programs mein shamil ho sakte hain?"
REPLY = (
    "Ji haan. Coding bootcamps Multan, Bahawalpur aur Dhanote teenon mein hote hain, aur "
    "DigiSkills.pk ki freelancing training bhi in programs mein shamil hai."
)
# An import with one bad row, to show its preview (the problem named by its row).
IMPORT_CSV = (
    "phone,language,city,topics\n"
    "0300 0000201,urdu,dhanote,training\n"
    "0300 0000202,roman urdu,multan,freelancing\n"
    "0300 00,en,bahawalpur,\n"
    "0300 0000204,en,bahawalpur,startups\n"
)

CITIES = ("dhanote", "dhanote", "multan", "bahawalpur")
LANGUAGES = ("ur", "ur-Latn", "en", "ur")
TOPICS = (("training",), ("freelancing", "jobs"), ("startups",), ("women", "training"), ())


def town(now: datetime) -> Any:
    """36 residents over the last eight weeks: most by SMS, some on Telegram too or only."""

    def unit(conn: Connection) -> None:
        for i in range(36):
            joined = now - timedelta(days=56 - i * 1.5)
            sid = conn.execute(
                insert(subscribers)
                .values(
                    language=LANGUAGES[i % 4],
                    city=CITIES[i % 4],
                    topics=list(TOPICS[i % 5]),
                    source="demo",
                    created_at=joined,
                    updated_at=joined,
                )
                .returning(subscribers.c.id)
            ).scalar_one()
            reach = []
            if i % 6 != 5:
                reach.append(("sms", f"+92300000{1000 + i:04d}"))
            if i % 3 == 0 or i % 6 == 5:
                reach.append(("telegram", str(900000100 + i)))
            for channel, address in reach:
                status = "opted_out" if i in (7, 19) and channel == "sms" else "active"
                conn.execute(
                    insert(contacts).values(
                        subscriber_id=sid,
                        channel=channel,
                        address=address,
                        status=status,
                        status_changed_at=joined,
                        created_at=joined,
                        updated_at=joined,
                    )
                )

    return unit


def settle(broadcast_id: int, now: datetime, *, done: bool) -> Any:
    """Move a broadcast's deliveries on as the dispatcher would: all of them (``done``, one
    failing) or half."""

    def unit(conn: Connection) -> None:
        ids = list(
            conn.execute(
                deliveries.select()
                .with_only_columns(deliveries.c.id, deliveries.c.channel)
                .where(deliveries.c.broadcast_id == broadcast_id)
                .order_by(deliveries.c.id)
            )
        )
        for n, (delivery_id, channel) in enumerate(ids):
            if not done and n % 2:
                continue
            values: dict[str, Any] = {"status": "sent", "sent_at": now, "attempts": 1}
            if channel == "sms":
                values["status"] = "delivered"
            if done and n == 3:
                values = {"status": "failed", "error": "30003 unreachable handset", "attempts": 1}
            conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(values))
        if done:
            finish_broadcasts(conn, now)

    return unit


async def demo(rt: Runtime) -> None:
    now = datetime.now(UTC)
    await rt.units.run(town(now))
    first = await coordinate.send_now(rt.units, rt.settings, BOOTCAMPS, now, by="Amina")
    await rt.units.run(settle(first.broadcast_id, now, done=True))
    second = await coordinate.send_now(rt.units, rt.settings, DIGISKILLS, now, by="Bilal")
    await rt.units.run(settle(second.broadcast_id, now, done=False))
    rule, _ = coordinate.plan_rule("every monday at 10:00", now, rt.settings.timezone)
    await coordinate.add_schedule(rt.units, NAVTTC, rule, now, by="Amina")
    await answers.add(
        rt.units, rt.catalog, WOMEN, "Amina", now, max_segments=rt.settings.sms_max_segments
    )
    # The bot answers the question from the article; the resident asks for a person anyway.
    for minutes, text in ((6, QUESTION), (2, "insaan se baat karni hai")):
        at = now - timedelta(minutes=minutes)
        msg = IncomingMessage("sms", "+923000001004", text, f"SM{uuid.uuid4().hex}", at)
        outcome = await rt.inbox.handle(msg)
        await rt.inbox.deliver(outcome, rt.senders["sms"], at)


async def shoot(page: Any, name: str) -> None:
    path = OUT / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KB")


async def compose(page: Any, base: str, name: str) -> None:
    """The compose page with :data:`TYPED` typed in and its preview come back."""
    from playwright.async_api import expect

    await page.goto(f"{base}/console/compose")
    for field, text in TYPED.items():
        await page.locator(f"#{field}").fill(text)
    await expect(page.locator("#counts")).to_contain_text("Urdu")
    await page.wait_for_load_state("networkidle")
    await shoot(page, name)


async def tour(page: Any, base: str) -> None:
    """Every screenshot, signed in, at desktop width and then a phone's."""
    from playwright.async_api import expect

    await shoot(page, "overview")
    await compose(page, base, "compose")
    await page.goto(f"{base}/console/broadcasts/1")
    await shoot(page, "broadcast")
    await page.goto(f"{base}/console/schedules")
    await shoot(page, "schedules")

    await page.goto(f"{base}/console/inbox")
    await page.locator("a[href^='/console/inbox/']").first.click()
    await page.locator("#reply-text").fill(REPLY)
    await page.wait_for_load_state("networkidle")
    await shoot(page, "inbox")

    await page.goto(f"{base}/console/subscribers/import")
    await page.locator("input[type=file]").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": IMPORT_CSV.encode()}
    )
    await page.get_by_role("button", name="Check the file").click()
    await expect(page.get_by_text("Row 4")).to_be_visible()
    await shoot(page, "import")

    await page.goto(f"{base}/console/simulator")
    await page.get_by_label("Your message").fill("khawateen training")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#simulator-result .bot-reply")).to_be_visible()
    await shoot(page, "simulator")

    await page.set_viewport_size(PHONE)
    await page.goto(f"{base}/console/")
    await shoot(page, "overview-phone")
    await compose(page, base, "compose-phone")


async def main() -> None:
    from playwright.async_api import async_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/demo.db"
        await upgrade(url)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=url,
            content_dir=REPO / "content",
            run_worker=False,  # the broadcasts stay where the demo puts them
        )
        assert settings.mode == "sandbox", "the demo sends nothing anywhere"
        app = create_app(settings)
        async with aserve(app, lifespan="on") as base:
            rt: Runtime = app.state.runtime
            await demo(rt)
            amina = await accounts.add_coordinator(
                rt.units, "Amina", telegram_id=None, admin=True, by="demo",
                now=datetime.now(UTC),
            )  # fmt: skip
            link = await accounts.make_link(rt.units, amina, datetime.now(UTC), 15)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM)
                context = await browser.new_context(viewport=DESKTOP)
                page = await context.new_page()
                await page.goto(f"{base}/console/login/{link}")
                await page.get_by_role("button", name="Sign in").click()
                await page.wait_for_url(f"{base}/console/")
                await tour(page, base)
                await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
