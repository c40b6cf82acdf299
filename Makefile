# mesoclinic: `make run` serves the demo clinic, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install install-dev chromium lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev

# Serve the demo clinic on http://127.0.0.1:$(PORT), seeding it when the database is empty.
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/mesoclinic migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/mesoclinic demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)/ (Ctrl-C stops)"
	DEBUG=$${DEBUG:-1} $(BIN)/mesoclinic runserver 127.0.0.1:$(PORT)

# Debian's Chromium drives the browser tests (Playwright cannot download its own here);
# Pango and a font let WeasyPrint render consent PDFs.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! ldconfig -p | grep -q libpangoft2; then \
		echo "Installing Debian's chromium, pango and fonts"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			chromium libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; \
	fi
	@command -v chromium >/dev/null

# The whole suite; with DATABASE_URL set it runs against that PostgreSQL.
test: install-dev chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check src tests bench

typecheck: install-dev
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/charting.py
	$(BIN)/python bench/safety.py
	$(BIN)/python bench/outcomes.py
	$(BIN)/python bench/trichoscopy.py
	$(BIN)/python bench/trichoscopy_units.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
