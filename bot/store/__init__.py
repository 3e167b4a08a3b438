"""The store: SQLAlchemy models (:mod:`.models`), engine and sessions (:mod:`.engine`),
queries (:mod:`.repo`) and migrations (:mod:`.migrate`).

Callers own transactions (``async with sessions.begin() as s:``); nothing in here commits on
its own, and nothing reads the clock.
"""
