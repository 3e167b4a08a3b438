"""Imports point one way: ``cli -> routes -> console -> app -> telegram -> outreach ->
channels -> store/content -> config -> core/clock/observe``.

Every module of ``bot/`` belongs to a layer: its package, or the module itself at the top of
``bot/``. It may import its own layer and the layers below it, never one beside or above it,
wherever the import stands (lazy imports inside functions count too). ``bot/core``'s
own purity (no I/O library, no clock) is checked by ``tests/core/test_imports.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot

BOT_DIR = Path(bot.__file__).parent

# Lowest first. Layers of the same rank must not import each other.
RANKS = {
    "core": 0,
    "clock": 0,  # the real clock beside the pure core (core has none: see its own test)
    "observe": 0,  # log formats, counters and the masking of secrets, below all that logs
    "config": 1,
    "content": 2,
    "store": 2,
    "channels": 3,
    "outreach": 4,
    "telegram": 5,
    "app": 6,  # the running parts put together (runtime), for the web app and the CLI
    "console": 7,
    "routes": 8,  # with the ASGI app around the routes and the console (routes.app)
    "cli": 9,
}


def layer_of(module: str) -> str:
    """``bot.store.contacts`` -> ``store``; ``bot.config`` -> ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def module_name(path: Path) -> str:
    relative = path.relative_to(BOT_DIR.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every ``bot.*`` module that ``source`` imports, with its line, relative ones resolved."""
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == "bot" or name.startswith("bot.")]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    """The imports in ``module`` that run sideways or up, or whose layer has no rank."""
    own = layer_of(module)
    if own not in RANKS:
        return [f"{module}: no layer for {own!r}: give it a rank in RANKS"]
    found: list[str] = []
    for line, target in imported_modules(source, module, is_package):
        layer = layer_of(target)
        if layer == own:
            continue
        if layer not in RANKS:
            found.append(f"{module}:{line}: imports {target}, which has no layer")
        elif RANKS[layer] >= RANKS[own]:
            found.append(f"{module}:{line}: imports {target} ({layer} is not below {own})")
    return found


MODULES = sorted(p for p in BOT_DIR.rglob("*.py") if p != BOT_DIR / "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_run_down_the_layers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert violations(source, module_name(path), path.name == "__init__.py") == []


def test_every_layer_has_modules() -> None:
    layers = {layer_of(module_name(p)) for p in MODULES}
    assert layers >= set(RANKS) - {"console"}


BAD = [
    ("store imports outreach", "bot.store.deliveries", "from bot.outreach import dispatcher"),
    ("core imports store", "bot.core.keywords", "import bot.store.engine"),
    ("content imports store (beside it)", "bot.content.load", "from bot.store import roster"),
    (
        "lazy import upward",
        "bot.channels.twilio",
        "def f():\n    from bot.routes.app import create_app",
    ),
    ("relative import upward", "bot.store.contacts", "from ..outreach import inbox"),
    ("runtime imports routes", "bot.app.runtime", "from bot.routes import sms"),
    ("runtime imports the web app", "bot.app.runtime", "from bot.routes.app import create_app"),
    ("console imports routes", "bot.console.base", "from bot.routes.common import runtime"),
    ("observe imports config", "bot.observe.redact", "from bot.config import Settings"),
    (
        "observe imports core (same rank)",
        "bot.observe.logs",
        "from bot.core.names import fold_name",
    ),
    ("a layer with no rank", "bot.newthing.x", "import json"),
]


@pytest.mark.parametrize(("module", "source"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_checker_catches(module: str, source: str) -> None:
    assert violations(source, module)


GOOD = [
    ("own package", "bot.store.contacts", "from bot.store.tables import contacts"),
    ("relative, own package", "bot.store.contacts", "from .tables import contacts"),
    ("down to core", "bot.telegram.residents", "from bot.core.menus import Menu"),
    ("cli reaches everything", "bot.cli.main", "from bot.routes.app import create_app"),
    ("web app down to runtime", "bot.routes.app", "from bot.app.runtime import Runtime"),
    ("web app down to the console", "bot.routes.app", "from bot.console import mount"),
    ("redact down to logs, relative", "bot.observe.redact", "from .logs import formatter"),
    ("routes down to runtime", "bot.routes.sms", "from bot.app.runtime import Runtime"),
    ("not ours", "bot.core.keywords", "from rapidfuzz import process"),
]


@pytest.mark.parametrize(("module", "source"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD])
def test_checker_allows(module: str, source: str) -> None:
    assert violations(source, module) == []
