"""The scenarios: the data caltrace is shown, tested and measured with, apart from the product.

- :mod:`scenarios.certificates` — the example certificate documents, one per shipped
  procedure (plain data for the :mod:`certificates` library, no Django), previewed with
  ``python -m scenarios example NAME`` (:mod:`scenarios.__main__`) and used by the
  certificate tests and ``benchmarks/certificates.py``.
- :mod:`scenarios.demo` — the demo data set, declared in YAML files (organizations,
  people, instrument types, standards and their certificates, instruments, benches and
  jobs), and the loader that creates it through the LIMS's services: ``manage.py
  loaddemo``, ``make demo``, the drill and the demo tests.
- :mod:`scenarios.traceability` — the deterministic generator of a ladder of standards
  with certificates, runs and issued certificates: small for the tests, national-scale for
  ``benchmarks/traceability.py``.

The LIMS and the libraries never import this package (an import-linter contract). It is a
Django app (``apps.ScenariosConfig``) only to provide ``manage.py loaddemo``; the settings
of the demo and the tests install it, production's do not. Importing the package itself
needs no Django: the examples and their command work without it.
"""
