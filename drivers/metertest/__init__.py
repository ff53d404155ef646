"""Electricity-meter test benches: a power source, a reference meter and one error
calculator per position counting the test-output pulses of the meter mounted there.

* :mod:`drivers.metertest.bench` — what every bench driver offers (:class:`MeterTestBench`),
  its settings and results, the error computed from pulses and the reference energy, and
  the checks every adapter applies (typed faults of :mod:`drivers.errors`);
* :mod:`drivers.metertest.caltrace_mtb` — the driver of caltrace's own command set
  (``docs/reference/meter-test-bench.md``), not a vendor's. A vendor's bench gets its own
  module here implementing :class:`MeterTestBench` with the same checks.
"""
