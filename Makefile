# The two commands of the README: `make demo` and `make test`.
# Each creates .venv with the machine's Python 3.11+ and installs into it exactly one lock file
# of requirements/ (every release pinned, every file's SHA-256 checked), then caltrace itself
# without dependencies. A stamp per lock keeps a second run from reinstalling while the lock and
# the packages are unchanged. `make lock` regenerates the locks from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check
# The editable install maps the top-level packages that exist when it runs:
# a new package (its __init__.py) makes the install run again.
PACKAGES := $(wildcard */__init__.py)

.PHONY: demo test lint bench clean messages lock upgrade-check docs docs-serve drill

# requirements/<set>.txt -> .venv/.stamp-<set>: the virtual environment (made when missing),
# the lock installed with --require-hashes (pip refuses a package the lock does not name or a
# file whose hash differs), then caltrace itself without dependencies or build isolation (its
# build back-end is in the lock too, so nothing unlocked is fetched). Prints the time it took.
$(VENV)/.stamp-%: requirements/%.txt pyproject.toml $(PACKAGES)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "caltrace needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	@started=$$(date +%s); \
	if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV) || exit 1; fi; \
	echo "installing $< into $(VENV)"; \
	$(PIP) install --quiet --require-hashes -r $< && \
	$(PIP) install --quiet --no-deps --no-build-isolation -e . && \
	echo "installed $< into $(VENV) in $$(( $$(date +%s) - started )) s"
	@touch $@

DEMO_PORT ?= 8000
DEMO_ENV  := DJANGO_SETTINGS_MODULE=labserver.settings.dev

demo: $(VENV)/.stamp-runtime
	$(BIN)/python -m uncertainty evaluate examples/models/gum-h1-end-gauge.json --method both --seed 1 --format text
	$(DEMO_ENV) $(BIN)/python scripts/demo.py --port $(DEMO_PORT) $(DEMO_ARGS)

# Phase by phase, each timed: lint (ruff), types (mypy), imports (import-linter), tests
# (pytest, one worker more than the cores; CALTRACE_TEST_WORKERS=N sets another count).
test: $(VENV)/.stamp-dev
	$(BIN)/python scripts/suite.py $(PYTEST_ARGS)

lint: $(VENV)/.stamp-dev
	$(BIN)/python scripts/suite.py --only lint,types,imports

# The backup and recovery drill (docs/operators/backup-and-recovery.md): a throw-away PostgreSQL
# cluster archiving to pgBackRest, the demo's certificates, a full backup, work, the instant T,
# work after T, destruction, point-in-time restore to T, then every check of the runbook; prints
# the backup's size and time and the restore time. One to two minutes: CI runs it after `make test`.
# Needs pgBackRest and the PostgreSQL server binaries (skipped without them, failed in CI).
drill: $(VENV)/.stamp-dev
	$(BIN)/python scripts/drill.py $(DRILL_ARGS)

# Regenerate requirements/*.txt from pyproject.toml (uv, from the dev lock). Versions the
# lock already holds are kept; `make lock LOCK_ARGS=--upgrade` takes the newest releases.
lock: $(VENV)/.stamp-dev
	$(BIN)/python scripts/lock.py --uv $(BIN)/uv $(LOCK_ARGS)

# For the maintainers, not CI: a throw-away environment with the newest releases that
# pyproject.toml's ranges allow (no lock, no holds), and the whole of `make test` in it, so a
# breaking release is met here before a newcomer meets it. Prints what differs from the lock.
upgrade-check: $(VENV)/.stamp-dev
	$(BIN)/python scripts/upgrade_check.py --uv $(BIN)/uv

# benchmarks/traceability.py needs PostgreSQL: TRACEBENCH_DATABASE_URL, by default the local
# server's database caltrace_bench (created when missing; the first run generates the
# 2,000,000-certificate data set, about ten minutes, later runs reuse it). Without a
# PostgreSQL it says how to point it and make stops; `make bench TRACEBENCH=` leaves it out.
TRACEBENCH ?= $(BIN)/python benchmarks/traceability.py
# benchmarks/registry_lookup.py too (REGISTRYBENCH_DATABASE_URL, by default the database
# caltrace_registrybench; the first run generates 10,000,000 certificates, about five
# minutes and 6.5 GiB); `make bench REGISTRYBENCH=` leaves it out. benchmarks/replication.py
# runs three clusters of its own (the PostgreSQL server binaries); `REPLBENCH=` leaves it out.
REGISTRYBENCH ?= $(BIN)/python benchmarks/registry_lookup.py
REPLBENCH ?= $(BIN)/python benchmarks/replication.py

bench: $(VENV)/.stamp-bench
	$(BIN)/python benchmarks/uncertainty.py
	$(BIN)/python benchmarks/drivers.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/agent.py
	$(BIN)/python benchmarks/certificates.py
	$(BIN)/python benchmarks/verify_upload.py
	$(BIN)/python benchmarks/batch_issue.py
	$(BIN)/python benchmarks/electricity_bench.py
	$(TRACEBENCH)
	$(REGISTRYBENCH)
	$(REPLBENCH)

# Refresh the translation catalogues of the pages (needs GNU gettext: apt-get install
# gettext): collect the strings of each app with a locale/ folder, then compile them.
# Translate the new entries of each .po (a test fails on an empty one) and commit both.
messages: $(VENV)/.stamp-dev
	for dir in labserver/*/locale; do \
		app=$$(dirname $$dir); \
		(cd $$app && $(CURDIR)/$(BIN)/django-admin makemessages -l vi --no-obsolete && \
		 $(CURDIR)/$(BIN)/django-admin compilemessages) || exit 1; \
	done

# The documentation site: docs/ built by MkDocs in strict mode into site/ (a broken link or a
# page left out of the navigation fails it); `make docs-serve` previews it on port 8001.
docs: $(VENV)/.stamp-dev
	$(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.stamp-dev
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8001

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .mypy_cache .ruff_cache
