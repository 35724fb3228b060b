# Two commands: `make run` serves the product, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format install browser migrate demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the browser tests (Playwright drives it).
browser:
	scripts/ensure_chromium.sh

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

## Serve the product on http://127.0.0.1:8000 with an embedded worker and demo data.
run: demo
	$(BIN)/python manage.py devserver

## The whole suite (SQLite unless DATABASE_URL says otherwise).
test: install browser
	$(BIN)/python -m pytest

## Messages API benchmark on PostgreSQL (not part of `make test`): N=1,000,000 by default.
bench: install
	$(BIN)/python bench/messages_api.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var
