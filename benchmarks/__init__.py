"""The benchmarks of ``make bench``, one script each (``.venv/bin/python benchmarks/X.py``).

Not installed with caltrace. A package so that each script has a name of its own
(``benchmarks.agent``, not ``agent``) for mypy and for the tests that import them; run as a
script, each takes its own folder off ``sys.path`` first, where it would shadow the package
it measures.
"""
