"""The pages of auditors and quality managers.

Auditors (read-only) and quality managers: search any certificate, instrument or
reference standard they may read (``/audit/search/``); the traceability chain of an
issued certificate or of a standard drawn as a graph, breaks in red with their reasons,
with the same content as a table (``/audit/certificates/<id>/chain/``,
``/audit/standards/<id>/chain/``); the reverse trace of a standard over a date range
with its CSV and PDF exports (``/audit/standards/<id>/impact/``). Quality managers: the
standards due for calibration and out of tolerance (``/quality/``). Both: the audit-log
browser with the verification of each organization's hash chain (``/quality/audit/``).

Quality managers (auditors read): the out-of-tolerance cases
(``/quality/nonconformities/``, ``/quality/nonconformities/<id>/``): open a
nonconformity, decide per affected certificate (a recall revokes it), close it, the
customer letters (:mod:`.nonconformities`).

Every page reads through :mod:`labserver.traceability.queries` and the models, narrowed
to the person's organizations; the only changes are made by the out-of-tolerance pages,
through :mod:`labserver.nonconformities.services`.
"""
