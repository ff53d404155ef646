"""Settings of the ingest benchmark: the demo settings, served on loopback, with the bench URLs.

The database comes from ``DATABASE_URL``, which ``benchmarks/ingest.py`` points at a
database of its own (a PostgreSQL database it creates and drops, or a temporary
SQLite file); the rest is the LIMS's configuration unchanged.
"""

from __future__ import annotations

from labserver.settings.dev import *  # noqa: F403

DEBUG = False  # DEBUG keeps every SQL query in memory: not what production does
ROOT_URLCONF = "benchmarks.ingest_site.urls"
