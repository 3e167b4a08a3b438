"""The cost and loop guards, as a table of labelled cases."""

from __future__ import annotations

import pytest

from bot.core.decision import Intent
from bot.core.guards import GuardLimits, hold_reply

LIMITS = GuardLimits(replies_per_hour=10, loop_repeats=3)


@pytest.mark.parametrize(
    ("intent", "replies", "same", "held"),
    [
        ("answer", 0, 1, None),
        ("answer", 9, 1, None),
        ("answer", 10, 1, "cost_guard"),
        ("menu", 25, 1, "cost_guard"),
        ("opt_out", 10, 1, None),
        ("help", 50, 1, None),
        ("opt_in", 10, 1, None),
        ("answer", 0, 2, None),
        ("answer", 0, 3, "loop_guard"),
        ("help", 0, 3, "loop_guard"),
    ],
    ids=[
        "first-reply",
        "ninth-reply",
        "tenth-reply-held",
        "menu-held-too",
        "stop-always-confirmed",
        "help-always-answered",
        "start-always-confirmed",
        "twice-same-text-ok",
        "third-same-text-held",
        "loop-holds-compliance-too",
    ],
)
def test_hold_reply(intent: Intent, replies: int, same: int, held: str | None) -> None:
    assert (
        hold_reply(intent, replies_last_hour=replies, same_text_recently=same, limits=LIMITS)
        == held
    )
