"""Fake provider APIs that speak real HTTP on 127.0.0.1 (see ``server.serve`` / ``aserve``).

Each fake is a small Starlette app that records what it receives, answers like the real
service and can be told to misbehave; the real client libraries are pointed at it by base URL.
``residents.ROWS`` is the labelled table of what residents really send, for tests and bench;
``postgres`` makes and drops their scratch databases on a PostgreSQL server.
"""
