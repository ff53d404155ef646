"""A PostgreSQL database of a benchmark's own, beside the test database, for the smoke
tests of the benchmarks that need PostgreSQL; skipped, with the reason, without one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest


@contextmanager
def bench_database(suffix: str) -> Iterator[str]:
    """The URL of ``<test database>_<suffix>`` on the tests' server (the owner's login where
    two roles are configured: the benchmark creates its database), dropped at the end."""
    url = (os.environ.get("DATABASE_OWNER_URL") or os.environ.get("DATABASE_URL", "")).strip()
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        pytest.skip(f"the {suffix} benchmark needs PostgreSQL: set DATABASE_URL to run this test")
    name = f"{parts.path.lstrip('/') or 'caltrace'}_{suffix}"
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        import psycopg

        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
