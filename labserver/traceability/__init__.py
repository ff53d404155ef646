"""Traceability: the chain view and the reverse trace over the links between reference
standards (``standards.StandardLink``, recorded by ``standards.services.record_certificate``)
and the runs' usages of them (``measurements.StandardUsage``).

- :mod:`.queries` — the chain view (upwards, to the national standard and the SI) and the
  reverse trace (downwards, what a standard touched in a date range), each one recursive
  CTE in portable SQL (PostgreSQL and SQLite).
- :mod:`.api` — ``GET /api/v1/certificates/{id}/chain/``,
  ``GET /api/v1/standards/{id}/chain/?on=``, ``GET /api/v1/standards/{id}/impact/?from=&to=``.

The app has no models of its own any more: its migrations created the tables of the links
(now ``standards.StandardLink``) and of the nonconformities (now the
:mod:`labserver.nonconformities` app), which kept their names; migration 0005 moved the
models in the migrations' state only.
"""
