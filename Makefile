# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with the machine's Python 3.11+ and installs what it needs;
# a stamp per extra keeps a second run from reinstalling when pyproject.toml is unchanged.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The editable install maps the top-level packages that exist when it runs:
# a new package (its __init__.py) makes the install run again.
PACKAGES := $(wildcard */__init__.py)

.PHONY: demo test lint bench clean messages

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "caltrace needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.stamp-base: pyproject.toml $(PACKAGES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml $(PACKAGES) $(VENV)/.stamp-base
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.stamp-bench: pyproject.toml $(PACKAGES) $(VENV)/.stamp-base
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

DEMO_PORT ?= 8000
DEMO_ENV  := DJANGO_SETTINGS_MODULE=labserver.settings.dev

demo: $(VENV)/.stamp-base
	$(BIN)/python -m uncertainty evaluate examples/models/gum-h1-end-gauge.json --method both --seed 1 --format text
	$(DEMO_ENV) $(BIN)/python scripts/demo.py --port $(DEMO_PORT) $(DEMO_ARGS)

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# bench/traceability.py needs PostgreSQL: TRACEBENCH_DATABASE_URL, by default the local
# server's database caltrace_bench (created when missing; the first run generates the
# 2,000,000-certificate data set, about ten minutes, later runs reuse it). Without a
# PostgreSQL it says how to point it and make stops; `make bench TRACEBENCH=` leaves it out.
TRACEBENCH ?= $(BIN)/python bench/traceability.py

bench: $(VENV)/.stamp-bench
	$(BIN)/python bench/uncertainty.py
	$(BIN)/python bench/drivers.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/agent.py
	$(BIN)/python bench/certificates.py
	$(TRACEBENCH)

# Refresh the translation catalogues of the pages (needs GNU gettext: apt-get install
# gettext): collect the strings of each app with a locale/ folder, then compile them.
# Translate the new entries of each .po (a test fails on an empty one) and commit both.
messages: $(VENV)/.stamp-dev
	for dir in labserver/*/locale; do \
		app=$$(dirname $$dir); \
		(cd $$app && $(CURDIR)/$(BIN)/django-admin makemessages -l vi --no-obsolete && \
		 $(CURDIR)/$(BIN)/django-admin compilemessages) || exit 1; \
	done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
