"""The caltrace bench agent: command line, bench configuration, outbox and sync client.

It drives instruments through :mod:`drivers` and speaks to the LIMS over HTTP only.
"""
