"""The caltrace bench agent: command line, bench configuration, outbox and sync client.

It drives instruments through :mod:`drivers` and speaks to the LIMS over HTTP only.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

try:
    __version__ = _version("caltrace")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
