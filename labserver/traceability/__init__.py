"""Traceability: the links between reference standards, the chain view and the reverse trace.

- :mod:`.models` — :class:`~.models.StandardLink`, one append-only row per upstream
  standard used to calibrate a standard certificate, pinning the upstream certificate in
  force then.
- :mod:`.services` — :func:`~.services.record_links` (called by
  ``standards.services.record_certificate``).
- :mod:`.queries` — the chain view (upwards, to the national standard and the SI) and the
  reverse trace (downwards, what a standard touched in a date range), each one recursive
  CTE in portable SQL (PostgreSQL and SQLite).
- :mod:`.api` — ``GET /api/v1/certificates/{id}/chain/``,
  ``GET /api/v1/standards/{id}/chain/?on=``, ``GET /api/v1/standards/{id}/impact/?from=&to=``.
- :mod:`.generate` — a deterministic generator of a standards ladder with certificates,
  links, runs, usages and issued certificates, set-based, for tests and benchmarks.
"""
