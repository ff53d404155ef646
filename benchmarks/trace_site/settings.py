"""Settings of the traceability benchmark: the demo settings with DEBUG off, served on
loopback, with the bench URLs.

The database comes from ``DATABASE_URL``, which ``benchmarks/traceability.py`` points at its
PostgreSQL database (``caltrace_bench`` by default); connections persist between
requests (``DB_CONN_MAX_AGE``, 60 s by default), as in production.
"""

from __future__ import annotations

from labserver.settings.dev import *  # noqa: F403

DEBUG = False  # DEBUG keeps every SQL query in memory: not what production does
ROOT_URLCONF = "benchmarks.trace_site.urls"

# Every benchmark client comes from 127.0.0.1: at the deployed per-address limits the
# look-ups would be refused after 60 a minute. The limits stay on, so that each request
# still pays for being counted in the shared cache, but far above what the run sends.
CALTRACE_THROTTLE_RATES = dict.fromkeys(CALTRACE_THROTTLE_RATES, "1000000/minute")  # noqa: F405
