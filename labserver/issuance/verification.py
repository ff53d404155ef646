"""Checking a certificate file someone holds against what was issued.

The verdict on an uploaded PDF:

* ``valid`` — the file is byte for byte the PDF issued under its number, its signature
  is intact and trusted (the issuing organization's CA), and the certificate is neither
  revoked nor superseded;
* ``superseded`` / ``revoked`` — the file is the one issued, but the certificate was
  amended since (the replacement is named) or withdrawn (with the reason and date);
* ``altered`` — the file names a certificate we issued (by the number in its embedded
  DCC, or in its signature) but is not the file we issued, or its signature fails;
* ``unknown`` — nothing in the file leads to a certificate we issued, nor to one of
  another node's that this node's registry holds (:mod:`labserver.issuance.national`
  checks those against their issuer's registered keys).

No personal data is returned beyond what the certificate prints publicly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.timezone import localdate
from django.utils.translation import gettext as _
from lxml import etree  # type: ignore[import-untyped]

from .keys import pem_certificates
from .models import Certificate, CertificateStatus, SigningKeyRecord
from .services import certificate_state

__all__ = ["Verdict", "verify_upload"]

# A certificate number as services.py writes it, e.g. HN-HC-2026-000123.
NUMBER = re.compile(rb"([A-Za-z0-9_][A-Za-z0-9_-]{0,31}-(?:HC|KD)-[0-9]{4}-[0-9]{6})")


@dataclass
class Verdict:
    """What a member of the public learns about an uploaded file."""

    status: str
    sha256: str
    number: str | None = None
    problems: list[str] = field(default_factory=list)
    certificate: Certificate | None = None
    signed_at: datetime | None = None
    signer: str = ""
    level: str = ""
    superseded_by: str | None = None
    revoked_at: datetime | None = None
    revoked_reason: str = ""
    issued_sha256: str | None = None
    """The SHA-256 of the PDF issued under ``number``, when ``certificate`` is not ours (a
    registered certificate of another node, :mod:`labserver.issuance.national`)."""

    @property
    def ok(self) -> bool:
        return self.status == CertificateStatus.VALID

    def as_json(self) -> dict[str, Any]:
        """The verdict as the API and ``verify_certificate`` print it."""
        return {
            "status": self.status,
            "number": self.number,
            "problems": list(self.problems),
            "sha256": self.sha256,
            "issued_sha256": (
                self.certificate.pdf_sha256 if self.certificate else self.issued_sha256
            ),
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "signer": self.signer or None,
            "level": self.level or None,
            "superseded_by": self.superseded_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_reason": self.revoked_reason or None,
        }


def trust_roots(organization_id: int | None = None) -> list[bytes]:
    """The CA certificates of the keys an organization (or any) has signed with."""
    keys = SigningKeyRecord.objects.all()
    if organization_id is not None:
        keys = keys.filter(organization_id=organization_id)
    return roots_of(keys.values_list("trust_roots_pem", flat=True))


def roots_of(bundles: Iterable[str]) -> list[bytes]:
    """Each CA certificate of the PEM ``bundles``, once, in their order."""
    roots: list[bytes] = []
    for pem in bundles:
        for cert in pem_certificates(pem.encode("ascii")):
            if cert not in roots:
                roots.append(cert)
    return roots


def _dcc_number(dcc: bytes | None) -> str | None:
    """The certificate number a DCC carries (``dcc:uniqueIdentifier``)."""
    if not dcc:
        return None
    try:
        root = etree.fromstring(
            dcc, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError:
        return None
    for element in root.iter("{*}uniqueIdentifier"):
        text = str(element.text or "").strip()
        if text:
            return text
    return None


# How many distinct number-shaped strings of an upload are looked up. A genuine file names
# its certificate a few times (signature reason, embedded DCC, metadata); an upload made of
# number-shaped strings must cost the same one query as any other (it once cost a query each).
MAX_CANDIDATES = 64


def _number_in_bytes(data: bytes) -> str | None:
    """A number written in clear in the file (the signature's reason names it): the first,
    in the file's order, of its first ``MAX_CANDIDATES`` distinct candidates that is a
    certificate we issued. One query, whatever the upload."""
    candidates: list[str] = []
    for match in NUMBER.finditer(data):
        number = match.group(1).decode("ascii")
        if number not in candidates:
            candidates.append(number)
            if len(candidates) == MAX_CANDIDATES:
                break
    if not candidates:
        return None
    issued = set(Certificate.objects.filter(number__in=candidates).values_list("number", flat=True))
    return next((number for number in candidates if number in issued), None)


def verify_upload(data: bytes) -> Verdict:
    """The verdict on the bytes of an uploaded file (see the module's description)."""
    from certificates.errors import VerificationError
    from certificates.verify import verify_pdf

    digest = hashlib.sha256(data).hexdigest()
    issued = Certificate.objects.select_related("organization").filter(pdf_sha256=digest).first()
    roots = trust_roots(issued.organization_id if issued else None)
    check = None
    problems: list[str] = []
    try:
        check = verify_pdf(data, trust_roots=roots)
    except VerificationError as exc:
        problems.append(
            _("The file is not a signed PDF we can read: %(reason)s") % {"reason": exc.message}
        )
    number = issued.number if issued else None
    if number is None and check is not None:
        number = _dcc_number(check.embedded_dcc)
    if number is None:
        number = _number_in_bytes(data)
    certificate = issued or (Certificate.objects.filter(number=number).first() if number else None)
    if certificate is None:
        # Not one of ours: one of another node's, as the registry holds it?
        from .national import verify_registered_upload

        registered = verify_registered_upload(data, number)
        if registered is not None:
            return registered
        return Verdict(
            "unknown",
            digest,
            number=None,
            problems=[*problems, _("No certificate issued here matches this file.")],
        )
    verdict = Verdict("valid", digest, number=certificate.number, certificate=certificate)
    if check is not None:
        verdict.signed_at = check.signed_at
        verdict.signer = check.signer_subject
        verdict.level = check.level
        problems.extend(check.problems)
    state = certificate_state(certificate)
    verdict.superseded_by = state.superseded_by.number if state.superseded_by else None
    verdict.revoked_at = state.revoked_at
    verdict.revoked_reason = state.revoked_reason
    if issued is None:
        verdict.status = "altered"
        problems.insert(
            0,
            _(
                "This file is not the one issued as certificate %(number)s: "
                "its content differs from the issued PDF."
            )
            % {"number": certificate.number},
        )
    elif check is None or not (check.intact and check.trusted and check.covers_whole_file):
        verdict.status = "altered"
        problems.insert(0, _("The signature of this file does not validate."))
    elif state.status == CertificateStatus.REVOKED:
        verdict.status = "revoked"
        problems.append(
            # The organization's date, like the certificate's own dates.
            _("Certificate %(number)s was revoked on %(day)s: %(reason)s")
            % {
                "number": certificate.number,
                "day": localdate(state.revoked_at) if state.revoked_at else "",
                "reason": state.revoked_reason,
            }
        )
    elif state.status == CertificateStatus.SUPERSEDED:
        verdict.status = "superseded"
        problems.append(
            _("Certificate %(number)s was replaced by certificate %(replacement)s.")
            % {"number": certificate.number, "replacement": verdict.superseded_by}
        )
    verdict.problems = problems
    return verdict
