"""Benchmarks: each driver runs our code against a peer on the same load (not part of the tests).

Run one from the repository root as ``.venv/bin/python -m bench.NAME``, or all with
``make bench`` (``python -m bench.run_all``). Drivers, each with what it compares at the top of
its docstring:

- ``bench_matching``: keyword matching, ours vs rapidfuzz ``extractOne``;
- ``bench_chat``: ``outreach chat --once`` vs a bare interpreter and ``outreach --help``;
- ``bench_queue``: queueing a 1,000,000-subscriber broadcast vs load + ``executemany``, on
  SQLite, PostgreSQL or both;
- ``bench_sms``: signed Twilio webhooks, ``outreach serve`` vs Flask + gunicorn, and floors;
- ``bench_telegram``: webhook update -> reply, ``outreach serve`` vs PTB's webhook example;
- ``bench_broadcast``: our dispatcher vs a PTB loop with ``AIORateLimiter``, paced and flat out.
- ``bench_console``: every console page at 100,000 subscribers (goal p95 < 150 ms), and the
  dispatcher with and without a console polling its progress.

The rest serve them. Imported: ``_common`` (what the drivers share) and ``_seed``
(subscribers in bulk, and the console's town). Run as child processes: ``_load`` and
``_load_telegram`` (load generators), ``_serve``, ``_floor_app`` and ``_fakes`` (servers),
and the peers ``peer_flask``, ``peer_ptb`` and ``peer_ptb_broadcast``. Figures go to
bench/results/ (not in git).
"""
