"""Traceability: the links between reference standards, the chain view and the reverse trace.

- :mod:`.models` — :class:`~.models.StandardLink`, one append-only row per upstream
  standard used to calibrate a standard certificate, pinning the upstream certificate in
  force then.
- :mod:`.services` — :func:`~.services.record_links` (called by
  ``standards.services.record_certificate``).
- :mod:`.queries` — the chain view (upwards, to the national standard and the SI) and the
  reverse trace (downwards, what a standard touched in a date range), each one recursive
  CTE in portable SQL (PostgreSQL and SQLite).
- :mod:`.reevaluation` — would the verdicts change if a standard's certified value moved:
  the reverse trace's certificates re-evaluated with the server's own evaluation code.
- :mod:`.services` also holds the out-of-tolerance workflow (ISO/IEC 17025 7.10):
  :func:`~.services.open_nonconformity`, :func:`~.services.decide`,
  :func:`~.services.close_nonconformity`; :mod:`.letters` the customer letters (PDF).
- :mod:`.api` — ``GET /api/v1/certificates/{id}/chain/``,
  ``GET /api/v1/standards/{id}/chain/?on=``, ``GET /api/v1/standards/{id}/impact/?from=&to=``,
  ``GET /api/v1/standards/{id}/impact/reevaluate/?from=&to=&shift=&unit=``,
  ``/api/v1/nonconformities/`` (list, create, detail, ``decisions/``, ``close/``,
  ``letters.pdf``).
"""
