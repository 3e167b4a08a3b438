"""deploy/ holds to the code: the systemd units parse and start `outreach` commands that exist
with the options they give; every variable named is a setting (the environment file names
them all, with their true defaults, and no secret); the reverse proxies send to the ports the
units listen on, and carry exactly the app's webhook routes with the app's body limits.

Where the tools are installed, `systemd-analyze verify`, `nginx -t` and `caddy adapt` read the
files too; without them those parts are skipped, saying so."""

from __future__ import annotations

import inspect
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
import typer.main
import uvicorn.config
from pydantic import SecretStr
from starlette.routing import Mount, Route
from typer.core import TyperGroup
from typer.exceptions import TyperException

from bot.cli.main import app as outreach_app
from bot.config import Settings
from bot.console.subscribers import MAX_BODY_BYTES as CONSOLE_BODY_BYTES
from bot.routes.app import create_app
from bot.store.engine import sqlite_file

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
ENV_EXAMPLE = DEPLOY / "outreach.env.example"
SECTIONS = {
    ".service": {"Unit", "Service", "Install"},
    ".target": {"Unit", "Install"},
    ".timer": {"Unit", "Timer", "Install"},
}
UNITS = sorted(p for p in DEPLOY.iterdir() if p.suffix in SECTIONS)
WEB = DEPLOY / "outreach-web@.service"
WORKER = DEPLOY / "outreach-worker.service"
BACKUP = DEPLOY / "outreach-backup.service"
TARGET = DEPLOY / "outreach.target"
EXEC_KEYS = ("ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop")
# Variables named that are not our settings, and who reads them (checked below).
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}
# The installed `outreach` in the units, and where the tests find one to verify them with.
INSTALLED = "/opt/outreach/.venv/bin/"
TIMEOUT = 60


# -- a small reader of systemd's unit syntax ----------------------------------------------------


class UnitSyntaxError(ValueError):
    """A line that is not a section, a comment or Key=Value; names the file and line."""


@dataclass
class Unit:
    path: Path
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def values(self, section: str, key: str) -> list[str]:
        return [value for k, value in self.sections.get(section, []) if k == key]

    def value(self, section: str, key: str) -> str:
        found = self.values(section, key)
        assert len(found) == 1, f"{self.path.name}: [{section}] {key}= is set {len(found)} times"
        return found[0]


_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def parse_unit(path: Path, text: str | None = None) -> Unit:
    """Sections, then Key=Value lines, comments (# or ;) and continuation lines (a trailing
    backslash), as systemd.syntax(7) has them; a section the unit's type does not know, or
    any other line, raises :class:`UnitSyntaxError`."""
    text = path.read_text(encoding="utf-8") if text is None else text
    unit = Unit(path)
    known = SECTIONS[path.suffix]
    section: str | None = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{path.name}:{number}"
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if section not in known:
                raise UnitSyntaxError(f"{where}: unknown section [{section}] in a {path.suffix}")
            unit.sections.setdefault(section, [])
            continue
        key, equals, value = line.partition("=")
        if section is None or not equals or not _KEY.fullmatch(key.strip()):
            raise UnitSyntaxError(f"{where}: not Key=Value in a section: {line!r}")
        unit.sections[section].append((key.strip(), value.strip()))
    return unit


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("[Service]\nExecStart=/bin/true\n", None, id="good"),
        pytest.param("[Timer]\nOnCalendar=daily\n", "unknown section [Timer]", id="section"),
        pytest.param("ExecStart=/bin/true\n", "not Key=Value in a section", id="outside"),
        pytest.param("[Service]\nExecStart /bin/true\n", "not Key=Value", id="no equals"),
        pytest.param("[Service]\nExec-Start=/bin/true\n", "not Key=Value", id="bad key"),
    ],
)
def test_the_unit_reader_refuses_what_systemd_would_not_read(text: str, says: str | None) -> None:
    path = Path("x.service")
    if says is None:
        assert parse_unit(path, text).value("Service", "ExecStart") == "/bin/true"
    else:
        with pytest.raises(UnitSyntaxError, match=re.escape(says)):
            parse_unit(path, text)


def test_continuation_lines_join() -> None:
    unit = parse_unit(Path("x.service"), "[Service]\nExecStart=/bin/echo \\\n  one two\n")
    assert unit.value("Service", "ExecStart") == "/bin/echo one two"


@pytest.fixture(scope="module")
def units() -> dict[str, Unit]:
    return {path.name: parse_unit(path) for path in UNITS}


def web_ports(units: dict[str, Unit]) -> list[int]:
    """The ports of the web processes ``outreach.target`` starts (outreach-web@PORT)."""
    wants = " ".join(units[TARGET.name].values("Unit", "Wants")).split()
    return sorted(
        int(m[1]) for w in wants if (m := re.fullmatch(r"outreach-web@(\d+)\.service", w))
    )


def test_the_files_are_all_there(units: dict[str, Unit]) -> None:
    assert {
        "outreach-web@.service",
        "outreach-worker.service",
        "outreach.target",
        "outreach-backup.service",
        "outreach-backup.timer",
    } <= set(units)
    assert (DEPLOY / "Caddyfile").is_file() and (DEPLOY / "nginx.conf").is_file()
    assert "deploy/README.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_the_target_starts_web_processes_and_the_worker(units: dict[str, Unit]) -> None:
    assert len(web_ports(units)) >= 2
    wants = " ".join(units[TARGET.name].values("Unit", "Wants")).split()
    assert WORKER.name in wants
    for name in (WEB.name, WORKER.name):
        assert units[name].value("Install", "WantedBy") == TARGET.name
        assert units[name].value("Unit", "PartOf") == TARGET.name


# -- the commands the units start ---------------------------------------------------------------


def specifiers(value: str, instance: str | None) -> str:
    """``value`` with systemd's ``%i`` (the instance) and ``%%`` expanded."""
    if "%i" in value:
        assert instance is not None, f"%i outside a template: {value}"
    return re.sub(r"%([i%])", lambda m: instance or "" if m[1] == "i" else "%", value)


def exec_lines(units: dict[str, Unit]) -> Iterator[tuple[str, list[str]]]:
    """Every command line of every unit, as (where, argv), once per web port for the template."""
    for name, unit in units.items():
        instances: list[str | None] = [None]
        if name == WEB.name:
            instances = [str(port) for port in web_ports(units)]
        for key in EXEC_KEYS:
            for value in unit.values("Service", key):
                for instance in instances:
                    argv = shlex.split(specifiers(value, instance))
                    argv[0] = argv[0].lstrip("-@:+!")  # systemd's prefixes on the program
                    yield f"{name.replace('@', f'@{instance}' if instance else '@')} {key}", argv


def outreach_command(argv: list[str]) -> typer.Context:
    """The context ``outreach ARGV`` would run its command in, read from the Typer app's own
    command tree and parsed as it parses it (nothing runs). Raises ``LookupError`` for a
    command that is not there, Typer's usage errors for an option it does not take or a value
    of the wrong type."""
    command = typer.main.get_command(outreach_app)
    args = list(argv)
    name = "outreach"
    while isinstance(command, TyperGroup):
        if not args or args[0].startswith("-"):
            raise LookupError(f"`outreach {' '.join(argv)}` names no command")
        name = args.pop(0)
        found = command.get_command(typer.Context(command), name)
        if found is None:
            raise LookupError(f"no command {name!r} in `outreach {' '.join(argv)}`")
        command = found
    return command.make_context(name, args)


def test_every_command_line_starts_an_outreach_command_that_takes_its_options(
    units: dict[str, Unit],
) -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    started = []
    for where, argv in exec_lines(units):
        program = Path(argv[0])
        assert program.is_absolute(), f"{where}: systemd wants an absolute path: {program}"
        if program.name != "outreach":
            continue
        assert program.name in scripts, f"{where}: {program.name} is not a console script"
        assert argv[0].startswith(INSTALLED), f"{where}: {program} is not in {INSTALLED}"
        try:
            ctx = outreach_command(argv[1:])
        except (LookupError, TyperException) as exc:
            pytest.fail(f"{where}: `{shlex.join(argv)}`: {exc}")
        started.append((where, ctx.info_name, ctx.params))
    commands = {name for _, name, _ in started}
    assert {"serve", "worker", "backup"} <= commands
    ports = {params["port"] for _, path, params in started if path == "serve"}
    assert ports == set(web_ports(units))
    hosts = {params["host"] for _, path, params in started if path == "serve"}
    assert hosts == {"127.0.0.1"}  # only the proxy reaches them


def test_a_command_that_does_not_exist_or_takes_no_such_option_is_caught() -> None:
    with pytest.raises(LookupError, match="no command 'serv'"):
        outreach_command(["serv"])
    with pytest.raises(LookupError, match="no command 'dump'"):
        outreach_command(["db", "dump"])
    with pytest.raises(TyperException, match="--workers"):
        outreach_command(["serve", "--workers", "4"])
    with pytest.raises(typer.BadParameter, match="valid integer"):
        outreach_command(["serve", "--port", "eighty"])
    assert outreach_command(["db", "backup", "/tmp/x"]).params["file"] == Path("/tmp/x")


def test_the_web_processes_leave_the_sending_to_the_worker(units: dict[str, Unit]) -> None:
    web = dict(
        pair.split("=", 1)
        for value in units[WEB.name].values("Service", "Environment")
        for pair in shlex.split(value)
    )
    assert Settings(_env_file=None, run_worker=web["RUN_WORKER"]).run_worker is False
    assert "RUN_WORKER" not in dict(
        pair.split("=", 1)
        for value in units[WORKER.name].values("Service", "Environment")
        for pair in shlex.split(value)
    )
    # An EnvironmentFile= wins over Environment=: the example must not set it.
    assert "RUN_WORKER" not in active_settings()


LONG_RUNNING = (WEB.name, WORKER.name)


@pytest.mark.parametrize("name", [*LONG_RUNNING, BACKUP.name])
def test_the_services_are_hardened(units: dict[str, Unit], name: str) -> None:
    service = dict(units[name].sections["Service"])
    assert service["User"] == "outreach" and service["Group"] == "outreach"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    assert service["EnvironmentFile"] == "/etc/outreach/outreach.env"
    data = sqlite_file(Settings(_env_file=ENV_EXAMPLE).database_url)
    assert data is not None
    assert str(data.parent) in service["ReadWritePaths"].split()  # the SQLite file's folder
    if name in LONG_RUNNING:
        assert service["Restart"] == "on-failure"
        assert service["StateDirectory"] == data.parent.name  # systemd makes it, theirs


def test_the_backup_runs_every_night_into_the_folder_it_may_write(units: dict[str, Unit]) -> None:
    assert units["outreach-backup.timer"].value("Timer", "OnCalendar")
    assert units["outreach-backup.timer"].value("Install", "WantedBy") == "timers.target"
    (argv,) = [
        argv for where, argv in exec_lines(units) if where.endswith("backup.service ExecStart")
    ]
    folder = argv[-1]
    assert folder in units[BACKUP.name].value("Service", "ReadWritePaths").split()


# -- the settings they name ----------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")


def example_lines() -> list[tuple[bool, str, str]]:
    """(active, NAME, value) of each ``NAME=value`` and ``#NAME=value`` line of the example;
    prose comments start with ``# ``."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return [(not m[1], m[2], m[3]) for line in lines if (m := _ASSIGNMENT.match(line))]


def active_settings() -> dict[str, str]:
    return {name: value for active, name, value in example_lines() if active}


SETTINGS = {name.upper(): info for name, info in Settings.model_fields.items()}


def test_the_environment_example_names_every_setting_and_nothing_else() -> None:
    named = [name for _, name, _ in example_lines()]
    assert set(named) - UVICORN_VARIABLES == set(SETTINGS)
    for name in UVICORN_VARIABLES:  # not ours: uvicorn reads it
        assert f'"{name}"' in inspect.getsource(uvicorn.config)
    active = [name for active, name, _ in example_lines() if active]
    assert len(active) == len(set(active)), "a setting given twice"


def test_the_environment_example_sets_what_is_required_and_no_secret() -> None:
    active = active_settings()
    required = {name for name, info in SETTINGS.items() if info.is_required()}
    assert required | {"DATABASE_URL", "PUBLIC_BASE_URL"} <= set(active)
    secrets = {name for name, info in SETTINGS.items() if SecretStr in _types(info.annotation)}
    assert secrets, "the settings' secrets are SecretStr"
    assert not secrets & set(active), "secrets are filled in on the server, not in the example"
    settings = Settings(_env_file=ENV_EXAMPLE)  # it reads, and each value is valid
    assert settings.public_base_url is not None
    assert settings.public_base_url.startswith("https://")
    assert settings.mode == "sandbox"


def test_the_commented_values_are_the_defaults() -> None:
    active = active_settings()
    for is_active, name, value in example_lines():
        if is_active or not value or name in active or name in UVICORN_VARIABLES:
            continue
        field_name = name.lower()
        given = Settings(_env_file=None, **{field_name: value})
        assert getattr(given, field_name) == getattr(Settings(_env_file=None), field_name), name


def test_the_units_name_only_settings_and_pythons_own_variables(units: dict[str, Unit]) -> None:
    python_help = subprocess.run(
        [sys.executable, "--help-env"], capture_output=True, text=True, check=True, timeout=TIMEOUT
    ).stdout
    for name, unit in units.items():
        for value in unit.values("Service", "Environment"):
            for pair in shlex.split(value):
                variable = pair.split("=", 1)[0]
                assert variable in SETTINGS or re.search(
                    rf"^{variable}\b", python_help, re.MULTILINE
                ), f"{name}: {variable} is neither a setting nor Python's"


def _types(annotation: object) -> set[object]:
    return {annotation, *getattr(annotation, "__args__", ())}


# -- the reverse proxies -------------------------------------------------------------------------


@dataclass
class Block:
    """A ``header { ... }`` block of an nginx or Caddy file: its directives and inner blocks."""

    header: str
    directives: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def walk(self) -> Iterator[Block]:
        yield self
        for block in self.blocks:
            yield from block.walk()

    def directive(self, name: str) -> list[str] | None:
        for line in self.directives:
            words = line.rstrip(";").split()
            if words and words[0] == name:
                return words[1:]
        return None


def parse_blocks(text: str) -> Block:
    """The blocks of a file written one directive a line, ``{`` ending a block's first line
    and ``}`` alone on its last (as both examples are)."""
    root = Block("")
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            block = Block(line[:-1].strip())
            stack[-1].blocks.append(block)
            stack.append(block)
        elif line == "}":
            stack.pop()
        else:
            stack[-1].directives.append(line)
    assert len(stack) == 1, "unbalanced braces"
    return root


def nginx_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024**2}
    return int(size[:-1]) * units[size[-1].lower()] if size[-1].isalpha() else int(size)


def caddy_bytes(size: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", size).groups()  # type: ignore[union-attr]
    units = {"": 1, "KB": 1000, "MB": 1000**2, "KiB": 1024, "MiB": 1024**2}
    return int(number) * units[unit]


@pytest.fixture(scope="module")
def webhooks() -> dict[str, int]:
    """The app's webhook routes (every POST route outside the console) and their body limits."""
    routes = create_app(Settings(_env_file=None)).routes
    found = {}
    for route in routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            found[route.path] = route.app.max_body_size  # type: ignore[attr-defined]
    assert found, "the app has webhook routes"
    return found


def app_paths() -> set[str]:
    """The paths the app answers at the top, and the console's mount and its pages."""
    paths = set()
    for route in create_app(Settings(_env_file=None)).routes:
        if isinstance(route, Route | Mount):
            paths.add(route.path)
        if isinstance(route, Mount):
            paths.update(route.path + r.path for r in route.routes if isinstance(r, Route))
    return paths


@pytest.fixture(scope="module")
def nginx() -> Block:
    return parse_blocks((DEPLOY / "nginx.conf").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def caddy() -> Block:
    return parse_blocks((DEPLOY / "Caddyfile").read_text(encoding="utf-8"))


def test_nginx_sends_to_the_web_processes(nginx: Block, units: dict[str, Unit]) -> None:
    upstreams = [b for b in nginx.walk() if b.header.startswith("upstream ")]
    assert upstreams
    for upstream in upstreams:
        servers = [line.split()[1] for line in upstream.directives if line.startswith("server ")]
        assert sorted(int(s.removeprefix("127.0.0.1:")) for s in servers) == web_ports(units)


def test_nginx_carries_the_apps_webhooks_with_its_limit(
    nginx: Block, webhooks: dict[str, int]
) -> None:
    limited = {}
    for block in nginx.walk():
        words = block.header.split()
        size = block.directive("client_max_body_size")
        if words[:2] == ["location", "="] and size is not None:
            limited[words[2]] = nginx_bytes(size[0])
    assert limited == webhooks


def test_nginx_passes_only_app_paths_and_the_console_gets_its_limit(nginx: Block) -> None:
    (https,) = [b for b in nginx.walk() if b.header == "server" and b.directive("ssl_certificate")]
    size = https.directive("client_max_body_size")
    assert size is not None and nginx_bytes(size[0]) >= CONSOLE_BODY_BYTES
    proxied = {block.header.split()[-1] for block in https.blocks if block.directive("proxy_pass")}
    assert proxied <= app_paths()
    assert "/console" in proxied
    for header in ("Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"):
        assert any(d.startswith(f"proxy_set_header {header} ") for d in https.directives), header


def caddy_site(caddy: Block) -> Block:
    (site,) = caddy.blocks
    return site


def caddy_paths(site: Block, handle: Block) -> list[str]:
    """The paths a ``handle`` block takes: its own, or its named matcher's."""
    what = handle.header.split()[1:]
    if what and what[0].startswith("@"):
        for line in site.directives:
            words = line.split()
            if words[0] == what[0] and words[1] == "path":
                return words[2:]
        raise AssertionError(f"no matcher {what[0]}")
    return what


def test_caddy_sends_to_the_web_processes(caddy: Block, units: dict[str, Unit]) -> None:
    proxies = [b for b in caddy.walk() if b.header.startswith("reverse_proxy ")]
    assert proxies
    for proxy in proxies:
        ports = [int(u.removeprefix("127.0.0.1:")) for u in proxy.header.split()[1:]]
        assert sorted(ports) == web_ports(units)


def test_caddy_carries_the_apps_webhooks_with_its_limit(
    caddy: Block, webhooks: dict[str, int]
) -> None:
    site = caddy_site(caddy)
    limited = {}
    console = None
    for handle in site.blocks:
        bodies = [b for b in handle.blocks if b.header == "request_body"]
        if not bodies:
            continue
        size = bodies[0].directive("max_size")
        assert size is not None
        for path in caddy_paths(site, handle):
            if path.startswith("/console"):
                console = caddy_bytes(size[0])
            else:
                limited[path] = caddy_bytes(size[0])
    assert limited == webhooks
    assert console is not None and console >= CONSOLE_BODY_BYTES
    handles = [h for h in site.blocks if h.header.split()[0] == "handle"]
    proxied = {p for h in handles for p in caddy_paths(site, h)}
    assert {p.removesuffix("/*") for p in proxied} <= app_paths()


# -- the tools themselves, where they are installed ----------------------------------------------


def verify_problems(folder: Path, names: list[str]) -> list[str]:
    """What ``systemd-analyze verify`` says about ``names`` in ``folder``: it exits 0 on an
    unknown key or a bad value, and says so on stderr."""
    result = subprocess.run(
        [
            shutil.which("systemd-analyze") or "systemd-analyze",
            "verify",
            "--man=no",
            *(str(folder / n) for n in names),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    lines = (result.stdout + result.stderr).splitlines()
    stems = [n.split("@")[0].removesuffix(".service") for n in names]
    mine = [line for line in lines if any(stem in line for stem in stems)]
    return mine if mine or result.returncode == 0 else lines


@pytest.fixture
def installed_units(tmp_path: Path, units: dict[str, Unit]) -> list[str]:
    """The units as systemd would load them here: `outreach` where this checkout has it, the
    template once per port the target starts."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the units were only parsed")
    here = str(Path(sys.executable).parent) + "/"
    names = []
    for path in UNITS:
        text = path.read_text(encoding="utf-8").replace(INSTALLED, here)
        copies = [f"outreach-web@{p}.service" for p in web_ports(units)] if path == WEB else []
        for name in copies or [path.name]:
            (tmp_path / name).write_text(text, encoding="utf-8")
            names.append(name)
    return names


def test_systemd_analyze_verifies_the_units(tmp_path: Path, installed_units: list[str]) -> None:
    assert verify_problems(tmp_path, installed_units) == []


def test_systemd_analyze_would_say_what_is_wrong(
    tmp_path: Path, installed_units: list[str]
) -> None:
    broken = tmp_path / WORKER.name
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("Restart=on-failure", "Restart=sometimes"),
        encoding="utf-8",
    )
    assert any("sometimes" in line for line in verify_problems(tmp_path, [WORKER.name]))


def test_nginx_accepts_the_site(tmp_path: Path) -> None:
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx (or openssl) is not installed: nginx.conf was only parsed")
    certificate = "-subj /CN=outreach.example.org -keyout key.pem -out cert.pem -days 1"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", *certificate.split()],
        cwd=tmp_path,
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    live = "/etc/letsencrypt/live/outreach.example.org/"
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    site = site.replace(live + "fullchain.pem", str(tmp_path / "cert.pem"))
    site = site.replace(live + "privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(site, encoding="utf-8")
    temp = " ".join(
        f"{kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "main.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};\n"
        f"events {{}}\nhttp {{ access_log off; {temp} include {tmp_path / 'site.conf'}; }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "main.conf")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_caddy_adapts_the_caddyfile() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed: the Caddyfile was only parsed")
    result = subprocess.run(
        [caddy, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"warn"' not in result.stderr, result.stderr
