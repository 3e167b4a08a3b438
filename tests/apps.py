"""The app as the tests build it: ``create_app`` with the repository's content loaded once.

Loading and validating ``content/`` and building its matcher cost about 40 ms of CPU, and the
suite starts the app about a thousand times. Both are immutable, so one load per test process
serves every app built on the repository's own content; an app on any other content directory
(a test's own files) loads it as ``serve`` does.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from bot.config import Settings
from bot.content.load import load_catalog
from bot.core.catalog import Catalog
from bot.core.keywords import Matcher
from bot.routes.app import create_app

CONTENT = Path(__file__).resolve().parents[1] / "content"


@functools.cache
def _repository_content() -> tuple[Catalog, Matcher]:
    catalog = load_catalog(CONTENT)
    return catalog, Matcher.from_catalog(catalog)


def app_for(settings: Settings, **kwargs: Any) -> Starlette:
    """``create_app(settings, **kwargs)``, reusing the repository's content once loaded."""
    if settings.content_dir.resolve() == CONTENT and "catalog" not in kwargs:
        kwargs["catalog"], kwargs["matcher"] = _repository_content()
    return create_app(settings, **kwargs)
