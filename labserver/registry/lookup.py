"""Reading the registry: a certificate's public facts by its number or its PDF's hash, and
the keys that verify an issuer's signatures.

This is how a node answers for a certificate it did not issue itself: the national node,
whose registry holds every center's facts, answers the public check for any of them. A
certificate's facts are read together and its status is its latest event: revoked,
superseded (by which number, when) or valid. Facts of one number from more than one
issuer are never merged into one answer: :class:`~labserver.registry.records.RegistryConflict`
names the issuers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .models import CertificateFact, OrganizationFact, SigningKeyFact
from .records import RegistryConflict

__all__ = [
    "RegisteredCertificate",
    "issuer_description",
    "registered_certificate",
    "registered_key",
    "registered_trust_roots",
]

Event = CertificateFact.Event


@dataclass(frozen=True, slots=True)
class RegisteredCertificate:
    """A certificate as the registry knows it: its issued fact and its status."""

    issued: CertificateFact
    status: str
    """``valid``, ``superseded`` or ``revoked``."""
    superseded_by: str | None
    superseded_at: datetime | None
    revoked_at: datetime | None

    @property
    def number(self) -> str:
        return self.issued.number

    @property
    def issuer(self) -> str:
        return self.issued.issuer

    @property
    def issued_on(self) -> date:
        return self.issued.issued_on

    @property
    def failed(self) -> bool:
        """A failed verification's notice, not a certificate."""
        return self.issued.verdict == CertificateFact.Verdict.FAIL


def _status(facts: list[CertificateFact]) -> RegisteredCertificate | None:
    by_event = {fact.event: fact for fact in facts}
    issued = by_event.get(Event.ISSUED)
    if issued is None:
        return None  # a follow-up without its issue is a conflict the feed reports
    superseded, revoked = by_event.get(Event.SUPERSEDED), by_event.get(Event.REVOKED)
    status = "revoked" if revoked else "superseded" if superseded else "valid"
    return RegisteredCertificate(
        issued=issued,
        status=status,
        superseded_by=superseded.superseded_by if superseded else None,
        superseded_at=superseded.at if superseded else None,
        revoked_at=revoked.at if revoked else None,
    )


def registered_certificate(number: str) -> RegisteredCertificate | None:
    """The registry's answer for certificate ``number``, or None when it has none.

    Raises:
        RegistryConflict: facts of ``number`` come from more than one issuer.
    """
    facts = list(CertificateFact.objects.filter(number=number).order_by("at", "key"))
    issuers = sorted({fact.issuer for fact in facts})
    if len(issuers) > 1:
        raise RegistryConflict(
            f"certificate {number} is registered by {len(issuers)} issuers: {', '.join(issuers)}"
        )
    return _status(facts)


def issuer_description(code: str) -> OrganizationFact | None:
    """The issuer's latest description, or None when the registry has none."""
    return OrganizationFact.objects.filter(code=code).order_by("-at").first()


def registered_trust_roots(issuer: str) -> list[str]:
    """The PEM texts of the roots the issuer's registered signing keys chain to."""
    return list(
        SigningKeyFact.objects.filter(issuer=issuer, event=SigningKeyFact.Event.IN_USE)
        .order_by("at")
        .values_list("trust_roots_pem", flat=True)
    )


def registered_key(issuer: str, fingerprint: str) -> bool:
    """Whether ``issuer`` registered the signing key of ``fingerprint`` (its first use)."""
    return SigningKeyFact.objects.filter(
        issuer=issuer, fingerprint=fingerprint, event=SigningKeyFact.Event.IN_USE
    ).exists()
