"""Nonconformities: reference standards found out of tolerance and the work they touched
(ISO/IEC 17025:2017 7.10).

- :mod:`.models` — :class:`~.models.Nonconformity`, its reverse-trace snapshot
  (:class:`~.models.AffectedItem`) and the decisions per issued certificate
  (:class:`~.models.Decision`), the last two append-only on PostgreSQL.
- :mod:`.services` — :func:`~.services.open_nonconformity`, :func:`~.services.decide`,
  :func:`~.services.close_nonconformity`.
- :mod:`.reevaluation` — would the verdicts change if a standard's certified value moved:
  the reverse trace's certificates (:mod:`labserver.traceability.queries`) re-evaluated with
  the server's own evaluation code.
- :mod:`.letters` — the customer letters of the recalled certificates (PDF).
- :mod:`.api` — ``/api/v1/nonconformities/`` (list, create, detail, ``decisions/``,
  ``close/``, ``letters.pdf``) and
  ``GET /api/v1/standards/{id}/impact/reevaluate/?from=&to=&shift=&unit=``.

It sits above :mod:`labserver.traceability` and :mod:`labserver.standards`, which never
import it (an import-linter contract, ``pyproject.toml``).
"""
