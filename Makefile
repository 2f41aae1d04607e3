# Clausier — the two commands: `make run` (web server and background worker) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests run with production-like settings except HTTPS redirection (the test client speaks plain HTTP).
TEST_ENV := SECRET_KEY=insecure-test-only-key SECURE_SSL_REDIRECT=0 DEBUG=0

.PHONY: run worker install test test-unit test-browser lint format clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Clausier demande Python ≥ 3.12 (trouvé %s). Avec pyenv : pyenv install 3.13" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The web server and, beside it, the worker of background tasks (big imports): both stop together.
run: install
	DEBUG=1 $(BIN)/clausier migrate --noinput
	DEBUG=1 $(BIN)/clausier load_reference
	DEBUG=1 $(BIN)/clausier demo --if-empty --verbosity 0
	DEBUG=1 $(BIN)/clausier demo --logins
	@DEBUG=1 $(BIN)/clausier db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(BIN)/clausier runserver $(HOST):$(PORT); status=$$?; kill $$worker 2>/dev/null; exit $$status

# The worker alone (big imports are validated and committed by background tasks), reloaded on code changes.
worker: install
	DEBUG=1 $(BIN)/clausier db_worker

# The whole suite: unit and HTTP tests, then the browser tests (system Chromium).
test: test-unit test-browser

# Unit and HTTP tests on every core (pytest-xdist, one database per worker; a test file stays on one worker,
# so that its module fixtures are built once). TEST_WORKERS=0: in one process, to replay an order exactly.
TEST_WORKERS ?= auto
test-unit: install
	$(TEST_ENV) $(BIN)/pytest -m "not browser" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-browser: install
	@if [ -x /usr/bin/chromium ]; then \
		$(TEST_ENV) DJANGO_ALLOW_ASYNC_UNSAFE=true $(BIN)/pytest -m browser tests/browser $(PYTEST_ARGS); \
	else \
		echo "Tests navigateur non lancés : /usr/bin/chromium absent (apt-get install chromium)."; \
	fi

# The project reads nothing outside itself: no tracked file but documentation may name the folder beside it
# (the pattern is split so that this line does not match itself).
lint: install
	@if git grep -n -I -e '\.\./shar''ed' -- ':!*.md' ':!docs/'; then \
		echo "Ces fichiers nomment un dossier hors du dépôt : Clausier doit se suffire à lui-même."; exit 1; fi
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports  # the layers and import contracts of pyproject.toml (docs/architecture.md)
	$(TEST_ENV) $(BIN)/clausier makemigrations --check --dry-run

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
