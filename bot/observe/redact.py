"""Secrets never printed: the configured secrets are masked in every log line and traceback
and in every error the commands show.

``SecretStr`` keeps a secret out of our own messages, but not out of the libraries': at DEBUG
python-telegram-bot logs its API URL (``…/bot<token>``) and the parameters of ``setWebhook``
(the webhook secret), and its ``InvalidToken`` says the token. So the commands register the
secrets of their settings here (:func:`keep_secret`), and :class:`RedactingFilter`, installed
on the log handlers, replaces each of them with :data:`MASK` in the formatted message and in
the exception's text; :func:`redact` does the same for any text a command prints.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import quote

MASK = "[secret]"
# Shorter values are not masked: they would mask ordinary words and give nothing away.
_SHORTEST = 4

_secrets: list[str] = []


def keep_secret(values: Iterable[str]) -> None:
    """Mask ``values`` (and their URL-encoded forms) from now on in this process."""
    found = set(_secrets)
    for value in values:
        if len(value) >= _SHORTEST:
            found |= {value, quote(value, safe="")}
    _secrets[:] = sorted(found, key=len, reverse=True)  # a secret inside another: longest first


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by :data:`MASK`."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks the secrets in a record's message, exception and stack before any handler
    formats it (on a handler, it sees the records of every logger that reaches it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger) -> None:
    """Put a :class:`RedactingFilter` on each of ``logger``'s handlers (once)."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook`` for a traceback nobody caught: printed as usual, secrets masked."""
    import sys

    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))
