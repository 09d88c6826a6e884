# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint format install install-dev migrate seed clean bench bench-instructions api-fuzz \
	translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The Nu Html Checker the suite validates pages with (package.json; run with the machine's
# Java). Reinstalled only when the lock changes; --ignore-scripts: its install script would
# download a Java of its own. Without npm the HTML test skips (and fails in CI).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the HTML validity test will be skipped"; fi

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) seed-demo --if-empty

run: seed
	@echo "Serving the portal on http://$(HOST):$(PORT)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A longer schemathesis campaign against the API (the suite runs 50 examples per operation in
# CI): every check, 1,000 examples per operation and mode, in-process. API_FUZZ_EXAMPLES=n.
API_FUZZ_EXAMPLES ?= 1000
api-fuzz: install-dev
	API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/api/test_schemathesis.py

# Seeds its own databases, serves the portal and a minimal Flask app with gunicorn, drives
# both with wrk (or a Python fallback). Options: make bench BENCH_ARGS="--db postgres --items 2000"
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Instructions per request under valgrind's callgrind (needs valgrind and gcc): figures the
# machine's other work does not move, to compare two trees. Options:
# make bench-instructions BENCH_ARGS="--tree ../before --runs 3"; --compare A.json B.json
bench-instructions: install
	$(BIN)/python bench/instructions.py $(BENCH_ARGS)

# Gather every marked word into portal/translations/messages.pot and merge it into each
# language's catalog. Catalogs are compiled when the app starts (portal/i18n.py).
# A new language: .venv/bin/pybabel init -i portal/translations/messages.pot -d portal/translations -l de
translations: install
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k t -k tn:1,2 --sort-by-file \
		--project=portal --copyright-holder="the portal's authors" \
		--ignore-dirs=".* ._ node_modules bench tests migrations" \
		-o portal/translations/messages.pot .
	@if ls portal/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q update -i portal/translations/messages.pot -d portal/translations; fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache
