"""caltrace's LIMS: the laboratory and verification-center system (Django + DRF).

It receives the benches' evidence over its HTTP API, re-evaluates every
measurement model with :mod:`uncertainty`, runs review and approval, keeps the
hash-chained audit trail, and (later) issues certificates and traces standards.
"""
