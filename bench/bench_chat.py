"""`outreach chat --once` start-to-reply time: ours vs the floors it cannot beat.

Compares the wall time of one chat reply, from a cold start, against a bare interpreter
(`python -c pass`) and `outreach --help` (the same interpreter and imports, no database or
content), in the same run. The difference is what the pipeline itself costs a person
waiting at the terminal.

Run: .venv/bin/python -m bench.bench_chat [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import BIN, REPO


def timed(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def row(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    return (
        f"{name:<34} median {statistics.median(ms):7.0f} ms   "
        f"min {ms[0]:6.0f} ms   max {ms[-1]:6.0f} ms   (n={len(ms)})"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        env = dict(os.environ, CONTENT_DIR=str(REPO / "content"))
        outreach = str(BIN / "outreach")
        # `db upgrade` creates and migrates the database (chat no longer does); then one
        # run, so that the timed ones are warm like a person's second.
        for argv in ([outreach, "db", "upgrade"], [outreach, "chat", "--once", "hi"]):
            subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        print(f"outreach chat --once start-to-reply, {runs} runs each, SQLite, sandbox")
        print(row("python -c pass (floor)", timed([sys.executable, "-c", "pass"], cwd, env, runs)))
        print(row("outreach --help (imports only)", timed([outreach, "--help"], cwd, env, runs)))
        print(
            row(
                "outreach chat --once jobs",
                timed([outreach, "chat", "--once", "jobs"], cwd, env, runs),
            )
        )
        print(
            row(
                "outreach chat --once نوکری --json",
                timed([outreach, "chat", "--once", "نوکری", "--json"], cwd, env, runs),
            )
        )


if __name__ == "__main__":
    main()
