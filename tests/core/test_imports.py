"""``bot/core`` stays pure: no I/O libraries, no file access, no clock.

The same shape as python-telegram-bot's ``tests/test_modules.py``: walk the sources and check
each one, here with :mod:`ast` so nothing is imported to be checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.core

FORBIDDEN_MODULES = frozenset(
    {
        "aiohttp",
        "aiosqlite",
        "alembic",
        "android_sms_gateway",
        "apscheduler",
        "asyncio",
        "asyncpg",
        "http",
        "httpx",
        "io",
        "os",
        "pathlib",
        "requests",
        "shutil",
        "socket",
        "sqlalchemy",
        "sqlite3",
        "starlette",
        "subprocess",
        "telegram",
        "time",
        "twilio",
        "urllib",
        "uvicorn",
    }
)
# Reading the clock, however it is spelled: callers pass ``now``.
CLOCK_CALLS = ("datetime.now", "datetime.utcnow", "datetime.today", "date.today", "time.time")
FORBIDDEN_BUILTINS = frozenset({"open", "input", "print"})

CORE_DIR = Path(bot.core.__file__).parent


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def violations(source: str, filename: str = "<snippet>") -> list[str]:
    """Every forbidden import, clock read or file/console call in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        for module in modules:
            if module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{filename}:{getattr(node, 'lineno', 0)}: imports {module}")
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in FORBIDDEN_BUILTINS or any(
                name == c or name.endswith(f".{c}") for c in CLOCK_CALLS
            ):
                found.append(f"{filename}:{node.lineno}: calls {name}()")
    return found


CORE_FILES = sorted(CORE_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=[p.name for p in CORE_FILES])
def test_core_module_is_pure(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), path.name) == []


def test_core_has_modules_to_check() -> None:
    assert {"catalog.py", "keywords.py", "segments.py", "conversation.py"} <= {
        p.name for p in CORE_FILES
    }


BAD = [
    ("import sqlalchemy", "import sqlalchemy"),
    ("from sqlalchemy.orm", "from sqlalchemy.orm import Session"),
    ("telegram", "from telegram import Bot"),
    ("twilio", "import twilio.rest"),
    ("os.path", "import os.path"),
    ("pathlib", "from pathlib import Path"),
    ("httpx inside a function", "def f():\n    import httpx\n"),
    ("datetime.now", "import datetime\nx = datetime.datetime.now()"),
    ("from datetime now", "from datetime import datetime\nx = datetime.now()"),
    ("utcnow", "from datetime import datetime\nx = datetime.utcnow()"),
    ("date.today", "from datetime import date\nx = date.today()"),
    ("time.time", "import time\nx = time.time()"),
    ("open a file", "x = open('content/faqs.yaml').read()"),
]


@pytest.mark.parametrize("source", [c[1] for c in BAD], ids=[c[0] for c in BAD])
def test_checker_catches(source: str) -> None:
    assert violations(source)


GOOD = [
    ("plain data", "from dataclasses import dataclass\nfrom datetime import datetime, timedelta"),
    ("takes now", "def due(now):\n    return now.replace(hour=9)"),
    ("rapidfuzz", "from rapidfuzz import process"),
    ("relative import", "from . import catalog"),
    ("a method called now", "x = schedule.next_fire(now=now)"),
]


@pytest.mark.parametrize("source", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_checker_allows(source: str) -> None:
    assert violations(source) == []
