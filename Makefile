# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with the machine's Python 3.11+ and installs what it needs;
# a stamp per extra keeps a second run from reinstalling when pyproject.toml is unchanged.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The editable install maps the top-level packages that exist when it runs:
# a new package (its __init__.py) makes the install run again.
PACKAGES := $(wildcard */__init__.py)

.PHONY: demo test lint bench clean

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

bench: $(VENV)/.stamp-bench
	$(BIN)/python bench/uncertainty.py
	$(BIN)/python bench/drivers.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/agent.py
	$(BIN)/python bench/certificates.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
