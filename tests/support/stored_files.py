"""The certificate files in the storage, and how a test alters one behind the LIMS's back."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from labserver.issuance.models import Certificate


def stored(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / name


def tamper(certificate: Certificate) -> None:
    """Replace the stored PDF's bytes on disk: same size, one byte changed."""
    path = stored(certificate.pdf.name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
