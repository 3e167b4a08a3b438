# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080
CHECK_DB := $(CURDIR)/.alembic-check.db
# Test processes: many tests wait (servers, subprocesses, the database), so more than the
# two cores these machines have; measured on them with PostgreSQL: 4 processes 178 s with
# --dist load, 144 s with --dist worksteal (an idle process takes tests from a busy one's
# share instead of waiting at the end), 6 processes 198 s. `make test PYTEST_WORKERS=0` runs
# them in one process.
PYTEST_WORKERS ?= 4

.PHONY: run test venv migrate lint typecheck migrations-check pytest pytest-warm pytest-run bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(BIN)/outreach db upgrade

run: migrate
	$(BIN)/outreach serve --host $(HOST) --port $(PORT)

lint: venv
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: venv
	$(BIN)/mypy

# A model change without a migration fails here.
migrations-check: venv
	rm -f $(CHECK_DB)
	$(BIN)/alembic -x url=sqlite+aiosqlite:///$(CHECK_DB) upgrade head
	$(BIN)/alembic -x url=sqlite+aiosqlite:///$(CHECK_DB) check
	rm -f $(CHECK_DB)

# These machines set PYTHONDONTWRITEBYTECODE: each test process would then compile the project
# and rewrite the tests' asserts anew (8 s of CPU each), and every `outreach` a test starts
# would compile the project again. The tests write their bytecode (__pycache__/, ignored by
# git); one collection fills it before the processes start.
pytest-warm pytest-run: export PYTHONDONTWRITEBYTECODE =
pytest-warm: venv
	$(BIN)/pytest --collect-only -q > /dev/null

pytest-run: venv
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

pytest: pytest-warm
	$(MAKE) --no-print-directory pytest-run

# The quick checks and the collection that fills the bytecode run first, two at a time; then
# mypy (14 s of one core on a clean clone, no cache) runs beside the tests. Before them, it
# was that long on the gate's path; beside them it costs the tests only its share of the two
# cores (clean clone: 178 s before, see the note of the commit that made this change).
test: venv
	$(MAKE) --no-print-directory -j2 --output-sync=target lint migrations-check pytest-warm
	$(MAKE) --no-print-directory -j2 --output-sync=target typecheck pytest-run
