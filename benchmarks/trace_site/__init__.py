"""The benchmark-only Django site of ``benchmarks/traceability.py``: the LIMS plus a bare
DRF get-by-key endpoint as the public lookup's baseline.

Nothing here ships in ``labserver/``; it is imported only by the benchmark.
"""
