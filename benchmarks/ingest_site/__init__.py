"""The benchmark-only Django site of ``benchmarks/ingest.py``: the LIMS plus a bare baseline
endpoint.

Nothing here ships in ``labserver/``; it is imported only by the benchmark.
"""
