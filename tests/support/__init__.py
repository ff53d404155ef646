"""What the tests share: helpers, data and fixtures, the one ``tests.`` package a test module
imports (``tests/project/test_test_imports.py`` holds every test to it).

A test module never imports another test module or a conftest: that would collect the
other module's tests again under a new name, or run its autouse fixtures where nobody asked
for them. Fixtures defined here reach a directory's tests through that directory's
``conftest.py``, which imports them by name.

- :mod:`.lims` — the LIMS of the tests: centers, role personas, run payloads, the DEMO PKI;
  :mod:`.issuing`, :mod:`.pages`, :mod:`.stored_files`, :mod:`.deploy`, :mod:`.browser`
  (Debian's Chromium), :mod:`.ladder` (a hand-built ladder of standards),
  :mod:`.nonconformity` (a standard found out of tolerance), :mod:`.demo`;
- :mod:`.agent` — the agent's world: outboxes, a live LIMS, bench files, child processes;
- :mod:`.nawi`, :mod:`.bath` — the simulated worlds of two shipped procedures, and
  :mod:`.bench_runs`, their runs submitted to the LIMS;
- :mod:`.driver_options` — the driver tests' timeouts; :mod:`.tools` — the Debian tools the
  suite checks with; :mod:`.readable` — what a certificate's reader must never meet;
- :mod:`.dbroles` — the test database as production's two roles (the test settings'
  database engine on PostgreSQL).
"""
