"""What the drivers share: paths, child processes, CPU accounting, py-spy, checks, reports.

Imported by every driver and by the load generators, so it imports only light standard
modules at the top; ``urllib.request`` and ``importlib.metadata`` (about 10 MB of resident
memory together) are imported where used, so that bench_queue's "after imports" baseline
stays what it was.

Children are started as ``python -m bench.NAME`` (:func:`module`) with the repository as
their working directory, or with it on ``PYTHONPATH`` (:func:`with_repo_on_path`) where they
must run elsewhere (``outreach serve`` runs in a scratch directory, away from any ``.env``).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BIN = Path(sys.executable).parent

# The shape of a real Telegram token: the bot's id, a colon, 35 characters.
TELEGRAM_TOKEN = "7000000001:AAFbEnCh_TeLeGrAm-0123456789abcdefgh"
PUBLIC = "https://outreach.example.org"


# -- child processes -------------------------------------------------------------------------


def module(name: str, *args: str) -> list[str]:
    """The command that runs ``bench/NAME.py`` as ``python -m bench.NAME``, this interpreter."""
    return [sys.executable, "-m", f"bench.{name}", *args]


def with_repo_on_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the repository first on ``PYTHONPATH``, for a ``bench.*`` child that runs
    in another directory."""
    parts = [str(REPO), env.get("PYTHONPATH", "")]
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in parts if p)}


def env_without(*prefixes: str) -> dict[str, str]:
    """This process's environment less the variables starting with ``prefixes``: a child
    configured by the bench alone, not by the caller's shell."""
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@contextlib.contextmanager
def serving(
    cmd: list[str],
    log: Path,
    *,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    ready: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server with its output in ``log``, answering on the URL ``ready`` (if given) before
    this yields; stopped (SIGINT, then kill) on the way out."""
    with log.open("wb") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    try:
        if ready is not None:
            wait_http(ready, proc, log)
        yield proc
    finally:
        stop(proc)


def migrate(cwd: Path, env: Mapping[str, str]) -> None:
    """``outreach db upgrade`` on the database ``env`` names (a fresh file: it is created)."""
    subprocess.run(
        [str(BIN / "outreach"), "db", "upgrade"], cwd=cwd, env=env, check=True, capture_output=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    """Until ``url`` answers over HTTP at all (any status), or fail with the server's log."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own 127.0.0.1)
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not answer {url} in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def get_json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (our 127.0.0.1)
        return json.loads(response.read())


def stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    """SIGINT (a server's clean shutdown, py-spy's "write the profile"), then kill."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def importable(modules: list[str], env: dict[str, str]) -> bool:
    code = "import " + ", ".join(modules)
    return (
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True).returncode == 0
    )


def dump_payloads(path: Path, payloads: dict[str, Any]) -> Path:
    """Requests built up front, for a load generator to read before it sends anything."""
    with path.open("wb") as f:
        pickle.dump(payloads, f)
    return path


class LoadGenerator(contextlib.AbstractContextManager["LoadGenerator"]):
    """A load generator child (bench._load, bench._load_telegram) and its protocol: it prints
    ``warm <json>``, waits for ``go`` on stdin, then prints ``done <json>``. Killed on exit
    from a ``with`` block if still running."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def read(self, tag: str) -> dict[str, Any]:
        """The next line's figures; fails unless it is ``tag``'s."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(tag + " "):
            during = " during warm-up" if tag == "warm" else ""
            raise SystemExit(f"generator failed{during}: {line!r}")
        figures: dict[str, Any] = json.loads(line[len(tag) + 1 :])
        return figures

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self) -> None:
        """Until the generator has exited after its last line (it writes nothing more)."""
        self.proc.wait(timeout=30)


# -- CPU and load ----------------------------------------------------------------------------


def _ticks_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (gunicorn's workers)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    return sum(_ticks_of(p) for p in pids) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def backends_cpu(url: str) -> Iterator[Callable[[], float | None]]:
    """CPU seconds used, while the block runs, by the PostgreSQL backends serving the
    database of ``url`` (a SQLAlchemy URL), read once the block is over from the callable
    this yields: None on SQLite, or when no backend was found (a server on another machine).

    A thread looks for the backends every 0.2 s by their process title, which names the
    database, and reads their CPU from /proc; one that ends between two looks loses at most
    its last 0.2 s.
    """
    if not url.startswith("postgresql"):
        yield lambda: None
        return
    title = f" {url.rpartition('/')[2].partition('?')[0]} ".encode()
    clock = os.sysconf("SC_CLK_TCK")

    def look() -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if cmdline.startswith(b"postgres: ") and title in cmdline:
                    found[int(entry.name)] = _ticks_of(int(entry.name)) / clock
        return found

    start = look()  # backends there before the block: only what they use from now counts
    last = dict(start)
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            last.update(look())

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield lambda: None if not last else sum(t - start.get(p, 0.0) for p, t in last.items())
    finally:
        stop.set()
        thread.join()
        last.update(look())


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


# -- py-spy ----------------------------------------------------------------------------------


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, out: Path, subprocesses: bool = False) -> Iterator[None]:
    """py-spy recording ``pid`` (``--gil``, raw collapsed stacks) into ``out`` until the
    block ends; said and skipped when py-spy is not installed."""
    spy = py_spy()
    if spy is None:
        print("  (no py-spy: .venv/bin/pip install py-spy; profiling skipped)")
        yield
        return
    args = ["record", "--pid", str(pid), "--rate", "250", "--gil", "--format", "raw"]
    if subprocesses:  # ours-2w: the uvicorn workers, not the supervisor
        args.append("--subprocesses")
    proc = subprocess.Popen(
        [spy, *args, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # attached before the timed run starts
    try:
        yield
    finally:
        stop(proc, timeout=30)


def profile_path(bench: str, name: str) -> Path:
    """Where ``--profile`` keeps target ``name``'s py-spy record."""
    return RESULTS / f"{bench}-profile-{name}.txt"


Layers = list[tuple[str, tuple[str, ...]]]


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw output: each stack's frames (outermost first) and its sample count."""
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text().splitlines():
        head, _, number = line.rpartition(" ")
        if head and number.isdigit():
            stacks.append((head.split(";"), int(number)))
    return stacks


def function_of(frame: str) -> str:
    """``name (path/file.py:123)`` -> ``name (path/file.py)``: self time per function."""
    head, sep, _ = frame.rpartition(":")
    return head + ")" if sep and frame.endswith(")") else frame


def layer_of(frames: list[str], layers: Layers) -> str:
    for frame in reversed(frames):  # the innermost frame of a known layer wins
        for label, marks in layers:
            if any(mark in frame for mark in marks):
                return label
    return "other"


def summarize_profile(path: Path, layers: Layers, top: int, greenlets: bool = False) -> list[str]:
    """Where the server's Python CPU time goes, from py-spy's collapsed stacks.

    Recorded with ``--gil``: only the thread holding the GIL is sampled, so the shares are
    of the Python work of the server (the SQLite threads release the GIL while in SQLite).
    Each sample is charged to the innermost layer it is in: time in SQLAlchemy called from
    bot/store counts for SQLAlchemy. SQLAlchemy runs each statement in a greenlet, which
    py-spy shows as a stack of its own: ``greenlets`` says how much.
    """
    stacks = read_stacks(path)
    total = sum(c for _, c in stacks)
    if not total:
        return ["  (no samples)"]
    self_time: Counter[str] = Counter()
    by_layer: Counter[str] = Counter()
    in_greenlets = 0
    for frames, count in stacks:
        self_time[function_of(frames[-1])] += count
        by_layer[layer_of(frames, layers)] += count
        if "sqlalchemy/" in frames[0]:
            in_greenlets += count
    lines = [f"  {total} samples of the thread holding the GIL, by innermost layer:"]
    lines += [f"    {100 * c / total:5.1f}%  {name}" for name, c in by_layer.most_common()]
    if greenlets:
        lines.append(
            f"    ({100 * in_greenlets / total:.1f}% ran inside SQLAlchemy's greenlets: "
            "execute, compile, driver adapter)"
        )
    lines.append(f"  top {top} functions by self time:")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in self_time.most_common(top)]
    return lines


def print_profiles(
    bench: str,
    names: Iterable[str],
    layers: Layers,
    top: int,
    greenlets: bool = False,
    run: str = "",
) -> None:
    """The summary of each target's py-spy record, for those that have one."""
    for name in names:
        path = profile_path(bench, name)
        if path.exists():
            print(f"\nprofile of {name} (py-spy, {run}{path.relative_to(REPO)}):")
            print("\n".join(summarize_profile(path, layers, top, greenlets)))


# -- checks and reports ----------------------------------------------------------------------


def check_counts(
    db: Path | str, queries: Mapping[str, str], expected: Mapping[str, int]
) -> dict[str, Any]:
    """What a server stored, counted after it stopped, against what it should have stored:
    ``{"found", "expected", "ok", "problems"}``. ``db`` is a SQLite file (read with the
    sqlite3 module) or a PostgreSQL URL (read with asyncpg)."""
    if isinstance(db, str):
        import asyncio

        found = asyncio.run(_pg_counts(db, queries))
    else:
        con = sqlite3.connect(db)
        try:
            found = {name: con.execute(sql).fetchone()[0] for name, sql in queries.items()}
        finally:
            con.close()
    problems = [
        f"{k}: {found[k]} stored, {v} expected" for k, v in expected.items() if found[k] != v
    ]
    return {"found": found, "expected": dict(expected), "ok": not problems, "problems": problems}


async def _pg_counts(url: str, queries: Mapping[str, str]) -> dict[str, int]:
    import asyncpg

    from fakes.postgres import asyncpg_dsn

    con = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {name: int(await con.fetchval(sql)) for name, sql in queries.items()}
    finally:
        await con.close()


# The PostgreSQL server the benchmarks' PostgreSQL targets use (--postgres-url overrides).
POSTGRES_URL = os.environ.get(
    "OUTREACH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def fresh_postgres(url: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on ``url``'s server for one target (SQLAlchemy URL),
    dropped on the way out: each target starts from nothing, as a fresh SQLite file does."""
    import asyncio

    from fakes.postgres import admin, database_url

    db = f"bench_{name.replace('-', '_')}_{os.getpid()}"
    asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    asyncio.run(admin(url, f'CREATE DATABASE "{db}"'))
    try:
        yield database_url(url, db)
    finally:
        asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def print_problems(result: Mapping[str, Any]) -> None:
    """What went wrong in a webhook target's run, if anything: answers other than 200,
    failed connections, rows missing from its database."""
    if result["exceptions"] or set(result["statuses"]) - {"200"}:
        print(f"  statuses {result['statuses']}, exceptions {result['exceptions']}")
    if "db" in result and not result["db"]["ok"]:
        print("  DATABASE CHECK FAILED: " + "; ".join(result["db"]["problems"]))


def pick(spec: str, known: Iterable[str]) -> list[str]:
    """The comma-separated names in ``spec``, each one of ``known``."""
    known = list(known)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; choose from {known}")
    return names


def versions(*names: str) -> dict[str, str]:
    """Installed versions of ``names``, '-' if absent."""
    import importlib.metadata

    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def machine(**more: Any) -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(), **more}


def write_report(name: str, report: dict[str, Any]) -> None:
    """bench/results/NAME.json, and a line saying so."""
    out = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nfigures written to {out.relative_to(REPO)}")
