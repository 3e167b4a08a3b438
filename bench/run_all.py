"""Run every benchmark in bench/ (``bench_*.py``) one after another and print their output.

Run: .venv/bin/python bench/run_all.py [NAME ...]     (or `make bench`)

NAMEs pick benchmarks by name (``sms`` or ``bench_sms.py``); without any, all run, in name
order. Each runs with its defaults, in its own process, with this interpreter, one at a time
(they share the machine's cores and would skew each other). Exits non-zero if any failed.

The longest is ``broadcast`` (bench_broadcast.py): about 25 minutes, most of it four
10,000-message broadcasts paced at Telegram's 30 a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def wanted(names: list[str]) -> list[Path]:
    scripts = sorted(BENCH.glob("bench_*.py"))
    if not names:
        return scripts
    keys = {n.removeprefix("bench_").removesuffix(".py") for n in names}
    chosen = [s for s in scripts if s.stem.removeprefix("bench_") in keys]
    missing = keys - {s.stem.removeprefix("bench_") for s in chosen}
    if missing:
        raise SystemExit(f"no such benchmark: {', '.join(sorted(missing))}")
    return chosen


def main() -> int:
    failed = []
    scripts = wanted(sys.argv[1:])
    for script in scripts:
        print(f"==== {script.name} ====", flush=True)
        start = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent).returncode
        took = time.perf_counter() - start
        print(f"==== {script.name}: {'ok' if code == 0 else f'FAILED ({code})'}, {took:.0f} s\n")
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    print(f"all {len(scripts)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
