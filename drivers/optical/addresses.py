"""Which protocol an optical port's address speaks, told from the address alone.

Kept apart from :mod:`drivers.optical.dlms` so that whoever only needs to tell the two
protocols apart (the agent reading a bench file, the simulators) does not import the
DLMS/COSEM library, nearly a second of every ``caltrace-agent`` start.
"""

from __future__ import annotations

__all__ = ["SCHEMES", "is_dlms_address"]

SCHEMES = ("dlms+tcp", "dlms+hdlc")
"""The schemes of a DLMS meter's address: the IEC 62056-47 wrapper, or HDLC, over TCP."""


def is_dlms_address(address: str) -> bool:
    """True for ``dlms+tcp://...`` and ``dlms+hdlc://...``."""
    return any(address.startswith(f"{scheme}://") for scheme in SCHEMES)
