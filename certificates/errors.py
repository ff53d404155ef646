"""Errors of the certificates package.

Every error names what is at fault (``field``): a field of the document, an
element of the DCC, a signing key, so that the LIMS can say what to correct.
"""

from __future__ import annotations


class CertificateError(Exception):
    """Base of every error raised by :mod:`certificates`."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class DocumentError(CertificateError, ValueError):
    """A certificate document lacks a field its kind requires, or holds a value it cannot."""


class DccError(CertificateError, ValueError):
    """A DCC that the schema refuses (``field``: the element's path; the message names the line)."""


class SigningError(CertificateError):
    """The signing key cannot sign: missing, wrong password, expired, revoked, token absent."""


class VerificationError(CertificateError, ValueError):
    """A file that cannot be read as a signed certificate at all (not a PDF, no signature)."""
