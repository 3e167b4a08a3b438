"""bot.observe.logs and its settings: LOG_FORMAT chooses the formatter; a JSON line is one
object with the fields the README promises."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from bot.config import Settings
from bot.observe.logs import REQUEST_ID, JsonFormatter, formatter


@pytest.mark.parametrize(
    ("given", "read"), [("json", "json"), (" JSON ", "json"), ("Text", "text")]
)
def test_log_format_is_read_whatever_its_case(given: str, read: str) -> None:
    assert Settings(_env_file=None, log_format=given).log_format == read


def test_an_unknown_log_format_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValidationError, match="log_format"):
        Settings(_env_file=None, log_format="xml")


def test_a_json_line_is_one_object_with_time_level_logger_message_and_request_id() -> None:
    record = logging.LogRecord(
        "bot.x", logging.WARNING, __file__, 1, "sent %d to %s", (3, "ق"), None
    )
    record.created = 1_764_753_302.118  # 2025-12-03 09:15:02.118 UTC
    token = REQUEST_ID.set("edge-4711")
    try:
        line = formatter("json").format(record)
    finally:
        REQUEST_ID.reset(token)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2025-12-03T09:15:02.118Z",
        "level": "WARNING",
        "logger": "bot.x",
        "message": "sent 3 to ق",
        "request_id": "edge-4711",
    }
    # Outside a request there is no id; the text format stays as it was.
    assert "request_id" not in json.loads(JsonFormatter().format(record))
    assert formatter("text").format(record).endswith(" WARNING bot.x: sent 3 to ق")
