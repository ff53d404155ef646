"""The agent's tests' fixtures, from :mod:`tests.support.agent`: an outbox in a temp dir, a
live LIMS on loopback (``lims``, and ``dcv`` for the DC-voltage runs), the server-idle
switch of the kill tests; from :mod:`tests.support.flow_bench`, the live LIMS with a
water-meter bench of four registered meters, each with its job (``flow_bench``)."""

from tests.support.agent import dcv, lims, outbox, server_idle  # noqa: F401  (fixtures)
from tests.support.flow_bench import flow_bench  # noqa: F401  (fixture)
