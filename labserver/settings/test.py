"""Settings for the test suite: PostgreSQL when ``DATABASE_URL`` is set (CI), else SQLite."""

from __future__ import annotations

from .dev import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# On SQLite the test database is a file, not shared memory: the live server of the
# browser tests then serves each request on its own connection, as in production
# (a shared in-memory connection cannot be closed by the server's request threads).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import os as _os
    import tempfile as _tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": _os.path.join(_tempfile.gettempdir(), f"caltrace-test-{_os.getpid()}.sqlite3")
    }

# Throttles (issue 15, point 3): off for the suite, whose clients all share 127.0.0.1 and
# whose query-count tests measure the endpoints themselves; tests/labserver/test_throttles.py
# sets the rates it tests. The cache stays the database cache of base.py, cleared between
# tests (tests/labserver/conftest.py).
CALTRACE_THROTTLE_RATES = dict.fromkeys(CALTRACE_THROTTLE_RATES)  # noqa: F405

# PostgreSQL: the two roles of production (docs/developers/tests.md, "Two roles"). The test
# connection logs in as the owner (DATABASE_OWNER_URL), which creates, migrates and grants
# each worker's database; the conftest then makes it SET ROLE to the runtime role of
# DATABASE_URL for the tests. Its backend flushes as the owner (tests/support/dbroles/base.py).
CALTRACE_TEST_RUNTIME_ROLE = ""
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    if "owner" in DATABASES:  # noqa: F405
        CALTRACE_TEST_RUNTIME_ROLE = CALTRACE_RUNTIME_ROLE  # noqa: F405
        DATABASES["default"] = DATABASES.pop("owner")  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.support.dbroles"  # noqa: F405

# The staff's search falls back to icontains on SQLite (labserver.search.queries). Its tests
# run that fallback on a real SQLite database beside the suite's own (PostgreSQL in CI):
# this alias, its tables made from the models (no migrations to run: about a second), set up
# only when a collected test names it (databases=[..., "sqlite"]). A file per process, not
# memory: Django hands an in-memory SQLite connection to the live server's threads, which
# would then close it from the wrong thread at the end of every browser test.
import os as _os  # noqa: E402
import tempfile as _tempfile  # noqa: E402

DATABASES["sqlite"] = {  # noqa: F405
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": _os.path.join(_tempfile.gettempdir(), f"caltrace-search-{_os.getpid()}.sqlite3"),
    "TEST": {
        "NAME": _os.path.join(
            _tempfile.gettempdir(), f"caltrace-search-test-{_os.getpid()}.sqlite3"
        ),
        "MIGRATE": False,
    },
}
