"""The agent's tests' fixtures, from :mod:`tests.support.agent`: an outbox in a temp dir, a
live LIMS on loopback (``lims``, and ``dcv`` for the DC-voltage runs), the server-idle
switch of the kill tests."""

from tests.support.agent import dcv, lims, outbox, server_idle  # noqa: F401  (fixtures)
