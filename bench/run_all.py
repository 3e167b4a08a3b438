"""Run every benchmark in bench/ (``bench_*.py``) one after another and print their output.

Run: .venv/bin/python -m bench.run_all [NAME ...]     (or `make bench`)

NAMEs pick benchmarks by name (``sms`` or ``bench_sms``); without any, all run, in name
order. Each runs with its defaults, in its own process (``python -m bench.bench_NAME``, from
the repository root), with this interpreter, one at a time (they share the machine's cores and
would skew each other). A new ``bench/bench_*.py`` joins without a change here. Exits
non-zero if any failed.

The longest is ``broadcast`` (bench_broadcast): about 25 minutes, most of it four
10,000-message broadcasts paced at Telegram's 30 a second.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench._common import REPO, module

BENCH = REPO / "bench"


def wanted(names: list[str]) -> list[str]:
    """The drivers' module names (``bench_sms``, …) that ``names`` pick, all if none."""
    drivers = sorted(p.stem for p in BENCH.glob("bench_*.py"))
    if not names:
        return drivers
    keys = {n.removeprefix("bench_").removesuffix(".py") for n in names}
    chosen = [d for d in drivers if d.removeprefix("bench_") in keys]
    missing = keys - {d.removeprefix("bench_") for d in chosen}
    if missing:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(missing))}")
    return chosen


def main() -> int:
    failed = []
    drivers = wanted(sys.argv[1:])
    for driver in drivers:
        print(f"==== {driver} ====", flush=True)
        start = time.perf_counter()
        code = subprocess.run(module(driver), cwd=REPO).returncode
        took = time.perf_counter() - start
        print(f"==== {driver}: {'ok' if code == 0 else f'FAILED ({code})'}, {took:.0f} s\n")
        if code != 0:
            failed.append(driver)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print(f"all {len(drivers)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
