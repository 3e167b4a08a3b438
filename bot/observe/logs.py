"""Log lines as plain text (the default) or as JSON (``LOG_FORMAT=json``), and the id of the
HTTP request each line was written for.

Every HTTP request gets an id (:mod:`bot.routes.observe` sets :data:`REQUEST_ID` while the
request is handled, and answers it in ``X-Request-ID``), so every line written on its behalf,
by our code or a library's, can be found again. In JSON each line is one object::

    {"time": "2026-12-03T09:15:02.118Z", "level": "INFO", "logger": "bot.outreach.inbox",
     "message": "sms from +92300****567: intent=jobs ...", "request_id": "6f1c..."}

with ``exception`` (the traceback's text) when there is one. Secrets are masked the same way
in both formats: :class:`bot.observe.redact.RedactingFilter` sits on the handler and cleans
the record (message, traceback, stack) before any formatter sees it; phone numbers are masked
where they are logged (:func:`bot.core.phones.mask`).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

# The id of the HTTP request being handled; None outside one (the worker, start-up).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; see the module docstring."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # already masked by the redacting filter, when there is one
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT``."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
