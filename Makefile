# Every target installs what it needs first, so a fresh clone needs only Python 3.11+ and make.
# `make run` installs only what running needs; `make test` (and `make install`) add the dev tools.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# One pytest worker per core (pytest-xdist); each worker has its own embedded PostgreSQL and tenants, so tests do not
# see each other; loadgroup keeps a module's tests that share a module-scoped server in one worker (tests/conftest.py).
# `make test PYTEST_ARGS=` runs in one process; any other pytest options go there too.
PYTEST_ARGS ?= -n auto --dist loadgroup
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install run test lint format bench bench-import clean

install: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# The dev extras include everything running needs, so they make the run stamp current too.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/segment-service serve $(ARGS)

test: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# Rewrites the tree in the project's format (what `make lint` and `make test` check).
format: $(DEV_STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(RUN_STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-import: install
	$(BIN)/python -m bench.imports $(ARGS)

clean:
	rm -rf $(VENV) .data .pytest_cache
