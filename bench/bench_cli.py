"""How long the ``outreach`` command takes to answer, against the interpreter it runs on.

Compares, in the same run and interleaved: ``outreach --help``, ``outreach chat --once naukri``
and ``outreach broadcast list`` (sandbox mode, on a migrated SQLite file in a temporary folder)
with two peers: the bare interpreter (``python -c pass``) and ``python -c 'import typer'``,
the least any Typer command can cost.

Run from the repository root: python -m bench.bench_cli [--runs 20] [--json FILE]

The venv's entry point is used: ``outreach`` next to ``sys.executable`` (run it with
``.venv/bin/python``). Each case is one fresh process, timed wall-clock from ``Popen`` to
exit; the cases take turns (one run of each, then the next round) so that a busy moment
of a shared machine falls on all of them alike. A warm-up round is not counted. The
table shows the median and the 90th percentile per case, and each median as a multiple
of the bare interpreter's. Provider credentials are taken out of the environment and the
working directory is a temporary folder (no ``.env`` is read), so the commands run in
sandbox mode. The database is migrated once with ``outreach db upgrade`` before the runs.
Targets (issue 10): ``--help`` <= 0.3 s and ``chat --once`` <= 0.5 s on an
idle machine; the load average is printed with the figures.

Standalone: the standard library and subprocess only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUTREACH = str(BIN / "outreach")
PYTHON = sys.executable

# Names of the settings that would switch a provider on (see bot/config.py).
_PROVIDER_VARIABLES = (
    "TELEGRAM_BOT_TOKEN",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_MESSAGING_SERVICE_SID",
    "SMSGATE_URL",
    "SMSGATE_USERNAME",
    "SMSGATE_PASSWORD",
)

CASES: list[tuple[str, list[str]]] = [
    ("python -c pass", [PYTHON, "-c", "pass"]),
    ("python -c 'import typer'", [PYTHON, "-c", "import typer"]),
    ("outreach --help", [OUTREACH, "--help"]),
    # Each run texts from a number of its own (added below), so the loop guard, which holds
    # a reply to the same words from the same number, never spares a run its reply.
    ("outreach chat --once naukri", [OUTREACH, "chat", "--once", "naukri"]),
    ("outreach broadcast list", [OUTREACH, "broadcast", "list"]),
]


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_VARIABLES}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'outreach.db'}"
    env["CONTENT_DIR"] = str(REPO / "content")
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    return env


def _once(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each case")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not Path(OUTREACH).exists():
        raise SystemExit(f"no {OUTREACH}: run this with the venv's python (make venv)")

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        folder = Path(tmp)
        env = _environment(folder)
        _once([OUTREACH, "db", "upgrade"], env, folder)
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name, _ in CASES}
        for round_ in range(args.runs + 1):
            for name, argv in CASES:
                if "chat" in argv:
                    argv = [*argv, "--from", f"0300{round_:07d}"]
                elapsed = _once(argv, env, folder)
                if round_:  # the first round warms the disk cache and is not counted
                    times[name].append(elapsed)
        load_after = os.getloadavg()

    base = statistics.median(times[CASES[0][0]])
    print(f"{args.runs} runs each; load {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'case':<30} {'median s':>9} {'p90 s':>7} {'x python':>9}")
    print("-" * 58)
    figures = {}
    for name, _ in CASES:
        median = statistics.median(times[name])
        figures[name] = {"median": median, "p90": _p90(times[name]), "runs": times[name]}
        print(f"{name:<30} {median:>9.3f} {_p90(times[name]):>7.3f} {median / base:>9.1f}")
    if args.json:
        load = {"before": load_before, "after": load_after}
        args.json.write_text(json.dumps({"load": load, "cases": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
