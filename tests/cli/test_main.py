"""The ``outreach`` command as a person uses it: in a fresh folder, through its real entry point."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.main import app
from tests.conftest import eventually

REPO = Path(__file__).resolve().parents[2]
CONTENT = REPO / "content"
OUTREACH = Path(sys.executable).parent / "outreach"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder as the working directory, pointed at the shipped content."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTENT_DIR", str(CONTENT))
    return tmp_path


@pytest.fixture
def migrated(workdir: Path, sqlite_template: Path) -> Path:
    """``workdir`` with its default database at head: a copy of the migrated template, as
    ``outreach db upgrade`` makes it (:func:`test_db_upgrade_makes_the_default_database`)."""
    (workdir / "data").mkdir()
    shutil.copyfile(sqlite_template, workdir / "data" / "outreach.db")
    return workdir


def test_db_upgrade_makes_the_default_database(workdir: Path) -> None:
    code, stdout, stderr = run("db", "upgrade")
    assert code == 0, stderr
    assert "Database (sqlite) is at head." in stdout
    assert (workdir / "data" / "outreach.db").is_file()
    code, stdout, _ = run("chat", "--once", "jobs")
    assert code == 0 and stdout.strip()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def chat_json(text: str, *extra: str) -> dict[str, object]:
    code, stdout, stderr = run("chat", "--once", text, "--json", *extra)
    assert code == 0, stderr
    loaded: dict[str, object] = json.loads(stdout)
    return loaded


@pytest.mark.parametrize(
    ("text", "intent", "answer_id", "language"),
    [
        ("jobs", "answer", "jobs", "en"),
        ("naukri", "answer", "jobs", "ur-Latn"),
        ("نوکری", "answer", "jobs", "ur"),
        ("FAQ ۳", "answer", "faq_3", "en"),
        ("HELP", "help", None, "en"),
        ("qwzx vbnm", "unknown", None, "en"),
    ],
    ids=["english", "roman-urdu", "urdu-script", "faq-urdu-digit", "help", "gibberish"],
)
def test_chat_once_json_reports_the_decision(
    migrated: Path, text: str, intent: str, answer_id: str | None, language: str
) -> None:
    out = chat_json(text)
    assert out["intent"] == intent
    assert out["answer_id"] == answer_id
    assert out["language"] == language
    assert isinstance(out["reply"], str) and out["reply"]
    assert isinstance(out["segments"], int) and 1 <= out["segments"] <= 2


def test_db_upgrade_creates_the_default_database_chat_uses(migrated: Path) -> None:
    chat_json("jobs")
    assert (migrated / "data" / "outreach.db").is_file()


def test_chat_stop_then_silence_then_start(migrated: Path) -> None:
    sender = ("--from", "0301 2345678")
    assert chat_json("band karo", *sender)["intent"] == "opt_out"
    silenced = chat_json("jobs", *sender)
    assert silenced["intent"] == "answer" and silenced["reply"] is None
    assert chat_json("START", *sender)["intent"] == "opt_in"
    assert chat_json("jobs", *sender)["reply"]


def test_chat_json_says_why_there_is_no_reply(migrated: Path) -> None:
    sender = ("--from", "0301 2345679")
    assert chat_json("jobs", *sender)["reason"] is None
    thanks = chat_json("shukriya", *sender)
    assert (thanks["intent"], thanks["reply"], thanks["reason"]) == ("courtesy", None, "courtesy")
    chat_json("STOP", *sender)
    silenced = chat_json("jobs", *sender)
    assert (silenced["reply"], silenced["reason"]) == (None, "opted_out")


def test_chat_loop_guard_notice_once(migrated: Path) -> None:
    sender = ("--from", "0301 2345680")
    replies = [chat_json("Auto-reply: I am away", *sender) for _ in range(4)]
    assert [r["reason"] for r in replies] == [None, None, "loop_guard", "loop_guard"]
    notice = replies[2]["reply"]
    assert isinstance(notice, str) and "same message" in notice and "10 min" in notice
    assert replies[3]["reply"] is None


def test_chat_subscribe_on_telegram_shows_the_topics_and_saves(migrated: Path) -> None:
    tg = ("--channel", "telegram", "--from", "9001")
    start = chat_json("/subscribe", *tg)
    assert isinstance(start["reply"], str) and start["reply"].startswith("Tap the topics")
    chat_json("sub:t:jobs", *tg)
    chat_json("sub:c:multan", *tg)
    done = chat_json("sub:done", *tg)
    assert (
        done["reply"]
        == "Saved. You follow: Jobs. Your city: Multan. Send /subscribe to change this."
    )


def test_chat_remembers_the_language_across_runs(migrated: Path) -> None:
    assert chat_json("URDU", "--channel", "telegram")["language"] == "ur"
    assert chat_json("jobs", "--channel", "telegram")["language"] == "ur"
    assert chat_json("jobs")["language"] == "en", "another person keeps English"


def test_chat_roman_urdu_is_chosen_kept_and_reported_as_ur_latn(migrated: Path) -> None:
    sender = ("--from", "0301 7654321")
    chosen = chat_json("ROMAN", *sender)
    assert (chosen["intent"], chosen["language"]) == ("language", "ur-Latn")
    assert chosen["reply"].startswith("Zuban Roman Urdu")
    jobs = chat_json("jobs", *sender)  # English words, the stored Roman Urdu
    assert jobs["language"] == "ur-Latn" and "naukriyan" in jobs["reply"]
    assert jobs["segments"] == 1
    assert chat_json("LANG", *sender)["language"] == "en"
    assert chat_json("jobs", *sender)["language"] == "en"


def test_chat_telegram_gets_the_full_text(migrated: Path) -> None:
    sms = chat_json("jobs")
    tg = chat_json("jobs", "--channel", "telegram")
    assert isinstance(sms["reply"], str) and isinstance(tg["reply"], str)
    assert len(tg["reply"]) > len(sms["reply"])
    assert tg["segments"] is None


def test_chat_plain_once_prints_the_reply(migrated: Path) -> None:
    code, stdout, _ = run("chat", "--once", "jobs")
    assert code == 0
    assert "IT support" in stdout


def test_chat_interactive_session(migrated: Path) -> None:
    result = CliRunner().invoke(app, ["chat"], input="jobs\nFAQ 1\n/quit\n")
    assert result.exit_code == 0, result.stderr
    screen = " ".join(result.stdout.split())  # the console wraps long replies
    assert "IT support" in screen
    assert "Dhanote is a growing digital town" in screen, "FAQ 1 was answered"
    assert "SMS segment" in screen


def test_content_check_prints_a_summary(workdir: Path) -> None:
    code, stdout, _ = run("content", "check", str(CONTENT))
    assert code == 0
    assert "is valid" in stdout
    assert '"faq": 7' in stdout


def test_content_check_names_file_and_line_of_a_problem(workdir: Path) -> None:
    bad = workdir / "bad"
    bad.mkdir()
    for f in CONTENT.glob("*.yaml"):
        (bad / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    faqs = bad / "faqs.yaml"
    lines = faqs.read_text(encoding="utf-8").splitlines()
    lines.append("  - this: [is not closed")
    faqs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, stdout, stderr = run("content", "check", str(bad))
    assert code == 1
    assert f"faqs.yaml:{len(lines)}" in stderr or f"faqs.yaml:{len(lines) + 1}" in stderr
    assert "is valid" not in stdout


def test_help_reads_well() -> None:
    code, stdout, _ = run("--help")
    assert code == 0
    for command in ("serve", "chat", "content", "db"):
        assert command in stdout
    code, stdout, _ = run("chat", "--help")
    assert code == 0 and "--once" in stdout and "--channel" in stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(workdir: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO", "TELEGRAM", "SMSGATE"))
    }
    subprocess.run(
        [str(OUTREACH), "db", "upgrade"], cwd=workdir, env=env, check=True, capture_output=True
    )
    port = _free_port()
    proc = subprocess.Popen(
        [str(OUTREACH), "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


async def _get_json(url: str) -> dict[str, object]:
    """``url``'s JSON, once the server answers it."""
    got: dict[str, object] = {}

    def answered() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
                got.update(json.loads(resp.read()))
                return True
        except OSError:
            return False

    await eventually(answered, f"{url} answers")
    return got


async def test_serve_answers_healthz_and_stops_cleanly_on_ctrl_c(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = served
    health = await _get_json(f"http://127.0.0.1:{port}/healthz")
    assert health["status"] == "ok"
    assert health["mode"] == "sandbox"
    assert health["database"] == "sqlite"
    assert isinstance(health["content_version"], str) and len(health["content_version"]) == 12
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_serve_refuses_invalid_content(workdir: Path) -> None:
    bad = workdir / "bad"
    bad.mkdir()
    (bad / "system.yaml").write_text("welcome: [\n", encoding="utf-8")
    env = dict(os.environ, CONTENT_DIR=str(bad))
    proc = subprocess.run(
        [str(OUTREACH), "serve", "--port", str(_free_port())],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "system.yaml" in proc.stderr
    assert "not valid" in proc.stderr


def test_telegram_setup_registers_menus_and_webhook(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes.server import serve
    from fakes.telegram_api import FakeTelegram

    token = "7000000001:AAFakeTokenForTests_0123456789"
    fake = FakeTelegram(token)
    with serve(fake.app) as api:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", api)
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://outreach.example.org")
        code, stdout, stderr = run("telegram", "setup")
    assert code == 0, stderr
    assert "webhook https://outreach.example.org/telegram/webhook" in stdout
    assert fake.webhook_url == "https://outreach.example.org/telegram/webhook"
    assert fake.webhook_secret
    assert {c["command"] for c in fake.commands_for(language_code="ur")} >= {"start", "stop"}


def test_telegram_setup_without_a_token_says_so(workdir: Path) -> None:
    code, _, stderr = run("telegram", "setup")
    assert code == 1
    assert "TELEGRAM_BOT_TOKEN" in stderr


def test_subscribers_import_is_all_or_nothing_and_keeps_opt_outs(migrated: Path) -> None:
    chat_json("STOP", "--from", "03001234567")
    bad = migrated / "bad.csv"
    bad.write_text("phone,city\n03011111111,multan\nnot-a-phone,multan\n", encoding="utf-8")
    code, _, stderr = run("subscribers", "import", str(bad))
    assert code == 1
    assert "row 3" in stderr and "nothing imported" in stderr
    good = migrated / "good.csv"
    good.write_text("phone,city,topics\n03011111111,multan,jobs\n03001234567,dhanote,\n")
    code, stdout, stderr = run("subscribers", "import", str(good))
    assert code == 0, stderr
    assert "1 new, 1 updated, 1 kept opted out" in stdout
    code, stdout, _ = run("subscribers", "export")
    lines = stdout.strip().splitlines()
    assert lines[0] == (
        "\ufeffphone,telegram_chat_id,name,language,city,topics,sms_status,telegram_status"
    )
    assert "+923011111111,,,,multan,jobs,active," in lines
    assert "+923001234567,,,,dhanote,,opted_out," in lines
    assert not any("+92301111" in line and "not-a-phone" in line for line in lines)
    code, stdout, _ = run("subscribers", "list")
    assert code == 0 and "+92301****111" in stdout and "1 opted_out" in stdout


def test_broadcast_preview_counts_recipients_cost_and_ucs2(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    roster = migrated / "s.csv"
    roster.write_text("phone,language,topics\n03011111111,en,jobs\n03022222222,ur,jobs\n")
    assert run("subscribers", "import", str(roster))[0] == 0
    chat_json("STOP", "--from", "03022222222")
    monkeypatch.setenv("SMS_PRICE_PER_SEGMENT", "2")
    code, stdout, stderr = run(
        "broadcast", "preview", "--text-en", "Bootcamp news – see you", "--topic", "jobs"
    )
    assert code == 0, stderr
    assert "Recipients: 1 SMS" in stdout, "the opted-out person is not counted"
    assert "UCS-2 because of: –" in stdout
    assert "SMS cost: PKR 2.00" in stdout
    code, _, stderr = run("broadcast", "preview", "--text-en", "x", "--language", "fr")
    assert code == 1 and "unknown 'fr'" in stderr


# The schema: every command but `db upgrade` checks it and changes nothing.

_NEEDS_THE_DATABASE = [
    ("chat", "--once", "jobs"),
    ("broadcast", "list"),
    ("schedule", "list"),
    ("report",),
    ("subscribers", "list"),
    ("serve", "--port", "9"),
    ("worker",),
]


@pytest.mark.parametrize("command", _NEEDS_THE_DATABASE, ids=" ".join)
def test_without_a_database_a_command_says_to_upgrade_and_creates_nothing(
    workdir: Path, command: tuple[str, ...]
) -> None:
    code, _, stderr = run(*command)
    assert code == 1
    expected = "There is no database at data/outreach.db: run `outreach db upgrade`."
    assert stderr.strip() == expected
    assert list(workdir.iterdir()) == [], "no file, no folder"


@pytest.mark.parametrize("command", _NEEDS_THE_DATABASE, ids=" ".join)
def test_on_an_older_schema_a_command_says_to_upgrade_and_leaves_it_as_it_was(
    workdir: Path, command: tuple[str, ...]
) -> None:
    import asyncio
    import sqlite3

    from bot.store.migrate import head_revision, upgrade

    db = workdir / "data" / "outreach.db"
    older = "f18cf1a88be7"  # the revision before bbd711e9217b (parked reports)
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{db}", older))
    before = db.read_bytes()

    code, _, stderr = run(*command)

    assert code == 1
    assert stderr.strip() == (
        f"The database schema is at revision {older}, this version needs {head_revision()}: "
        "run `outreach db upgrade`."
    )
    assert db.read_bytes() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(older,)]
    assert run("db", "upgrade")[0] == 0
    assert run("broadcast", "list")[0] == 0, "upgraded, the commands run"


_PROVIDERS = ("telegram", "twilio", "android_sms_gateway", "apscheduler", "uvicorn", "starlette")
_PROVIDERS_ENV = ("TWILIO", "TELEGRAM", "SMSGATE")


def _imported_by(*argv: str) -> set[str]:
    """The modules the ``outreach`` command imports to run ``argv`` (sandbox)."""
    script = (
        "import sys\n"
        f"sys.argv = ['outreach', *{list(argv)!r}]\n"
        "from bot.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROVIDERS_ENV)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return set(done.stdout.strip().splitlines()[-1].split())


def _packages(modules: set[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_help_imports_neither_the_database_nor_the_providers() -> None:
    imported = _packages(_imported_by("--help"))
    assert imported.isdisjoint({*_PROVIDERS, "alembic", "sqlalchemy", "pydantic_settings"})


def test_chat_in_sandbox_mode_imports_no_provider_and_no_alembic(migrated: Path) -> None:
    imported = _packages(_imported_by("chat", "--once", "jobs"))
    assert "sqlalchemy" in imported, "the check sees the modules chat runs on"
    assert imported.isdisjoint({*_PROVIDERS, "alembic", "asyncpg"})


@pytest.mark.parametrize(
    "argv", [("chat", "--once", "jobs"), ("broadcast", "list")], ids=["chat", "broadcast-list"]
)
def test_commands_on_sqlite_never_import_postgresql(migrated: Path, argv: tuple[str, ...]) -> None:
    imported = _imported_by(*argv)
    assert "sqlalchemy.dialects.sqlite" in imported, "the check sees the dialect in use"
    assert "asyncpg" not in imported
    assert not {m for m in imported if m.startswith("sqlalchemy.dialects.postgresql")}
