"""Settings of the traceability benchmark: the demo settings with DEBUG off, served on
loopback, with the bench URLs.

The database comes from ``DATABASE_URL``, which ``bench/traceability.py`` points at its
PostgreSQL database (``caltrace_bench`` by default); connections persist between
requests (``DB_CONN_MAX_AGE``, 60 s by default), as in production.
"""

from __future__ import annotations

from labserver.settings.dev import *  # noqa: F403

DEBUG = False  # DEBUG keeps every SQL query in memory: not what production does
ROOT_URLCONF = "bench.trace_site.urls"
