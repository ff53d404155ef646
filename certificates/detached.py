"""Detached CMS signatures over small statements (RFC 5652), made with pyHanko.

Used for the anchors of the audit trail: a few hundred bytes of canonical JSON signed
with the same key that signs the certificate PDFs. Why CMS rather than a JWS:

* the key may live on a PKCS#11 token, and pyHanko's CMS signers already drive it
  (:class:`certificates.signing.SigningKey`), with the same ECDSA/RSA mechanisms;
* the signature carries the signer's certificate and its CA chain, and an RFC 3161
  signature time-stamp as an unsigned attribute (as in CAdES-T): the standard
  container for "this key signed these bytes, no later than this time";
* anyone can check it without caltrace: ``openssl cms -verify -binary -inform DER
  -in anchor.p7s -content statement.json -CAfile ca.pem`` (or any CAdES validator).

:func:`sign_detached` signs; :func:`verify_detached` validates against the trust roots
and revocation lists it is given, fetching nothing from the network, and reports each
finding separately.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import async_validate_detached_cms
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext

from certificates.errors import SigningError, VerificationError
from certificates.signing import (
    SigningKey,
    load_certificates,
    load_crls,
    revocation_date,
    signing_errors,
)

__all__ = ["DetachedVerification", "sign_detached", "verify_detached"]


def sign_detached(key: SigningKey, data: bytes, *, timestamp_url: str | None = None) -> bytes:
    """A detached CMS SignedData (DER) over ``data``: SHA-256, the signer's certificate
    and CA chain embedded, and an RFC 3161 signature time-stamp from ``timestamp_url``
    when given.

    Raises :class:`~certificates.errors.SigningError` when the TSA does not answer or the
    token refuses to sign.
    """
    if not data:
        raise SigningError("must not be empty", field="data")
    timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
    with signing_errors(key, field="data"):
        info = asyncio.run(
            key._cms_signer.async_sign_general_data(
                # Not use_cades: pyHanko's signing-certificate-v2 attribute costs ~100 ms
                # a signature here (five times the rest), paid at every issued
                # certificate. The signer is still bound: its certificate is named in
                # the SignerInfo and its key must verify the signature, and the signed
                # attributes (content type, digest, signing time, algorithm protection)
                # are what CMS validators, OpenSSL's included, check.
                data,
                "sha256",
                detached=True,
                timestamper=timestamper,
            )
        )
    signed: bytes = info.dump()
    return signed


@dataclass(frozen=True)
class DetachedVerification:
    """What :func:`verify_detached` found. Times are timezone-aware (UTC)."""

    #: The data hashes to the signed digest and the signature value verifies.
    intact: bool
    #: The signer's certificate chains to one of the trust roots, valid at the time of
    #: validation (the time-stamp's time when there is a valid one, else now).
    trusted: bool
    #: The signer's distinguished name (RFC 4514) and SHA-256 of its certificate (DER).
    signer: str
    fingerprint: str
    #: The time of a valid, trusted RFC 3161 signature time-stamp, else None.
    timestamp: datetime | None
    #: Plain sentences, one per problem; empty when the signature is good.
    problems: tuple[str, ...]
    #: When a CRL given says the signer's certificate was revoked, else None.
    revoked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and not self.problems


def _context(roots: Sequence[x509.Certificate], others: Sequence[Any], moment: Any) -> Any:
    kwargs: dict[str, Any] = {
        "trust_roots": [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in roots
        ],
        "other_certs": list(others),
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
    }
    if moment is not None:
        kwargs["moment"] = moment
    return ValidationContext(**kwargs)


def _timestamp_time(signer_info: Any) -> datetime | None:
    attrs = signer_info["unsigned_attrs"]
    if not attrs or attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            token = attr["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            when: datetime = tst_info["gen_time"].native
            return when.astimezone(UTC)
    return None


def verify_detached(
    data: bytes,
    signature: bytes,
    *,
    trust_roots: Sequence[bytes],
    crls: Sequence[bytes] = (),
    moment: datetime | None = None,
) -> DetachedVerification:
    """Validate a detached CMS ``signature`` (DER) over ``data`` against ``trust_roots``
    (PEM or DER CA certificates) and the revocation lists ``crls`` (PEM or DER), without
    network access.

    Time of validation: the time of a valid RFC 3161 signature time-stamp; without one,
    ``moment`` (timezone-aware; e.g. the time the signed data itself states, so that a
    signer certificate that expired since does not void what it signed while valid),
    else now. Only a time-stamp proves that time: ``moment`` is the signer's word.

    A signer revoked is a problem when the revocation comes before the signature's time,
    and also after it when no time-stamp proves that time: a stolen key can write any
    date it likes into what it signs.

    Raises :class:`~certificates.errors.VerificationError` only when ``signature`` is
    not a CMS SignedData with one signer; every other finding is in the result.
    """
    try:
        info = cms.ContentInfo.load(signature)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed_data = info["content"]
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise ValueError(f"{len(signer_infos)} signers")
        signer_info = signer_infos[0]
        embedded = [c.chosen for c in signed_data["certificates"] or ()]
        ts_time = _timestamp_time(signer_info)
    except (ValueError, TypeError, KeyError) as e:
        raise VerificationError(
            f"This is not a detached CMS signature with one signer ({e}).", field="signature"
        ) from e
    roots = load_certificates(trust_roots)

    def run(moment: Any) -> Any:
        return asyncio.run(
            async_validate_detached_cms(
                data,
                signed_data,
                signer_validation_context=_context(roots, embedded, moment),
                ts_validation_context=_context(roots, embedded, None),
            )
        )

    problems: list[str] = []
    try:
        status = run(ts_time or moment)
        ts_status = status.timestamp_validity
        timestamped = bool(ts_status is not None and ts_status.intact and ts_status.trusted)
        if ts_time is not None and not timestamped:
            problems.append("The time-stamp on the signature could not be verified.")
            status = run(moment)
    except (SignatureValidationError, ValueError) as e:
        return DetachedVerification(
            intact=False,
            trusted=False,
            signer="",
            fingerprint="",
            timestamp=None,
            problems=(f"The signature cannot be validated ({e}).",),
        )
    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    if not status.intact or not status.valid:
        problems.append("The signature does not match the statement: it was altered or forged.")
    elif not status.trusted:
        problems.append("The signer is not trusted: its certificate does not chain to a root.")
    issuers = [*roots, *(x509.load_der_x509_certificate(c.dump()) for c in embedded)]
    revoked_at = revocation_date(cert, load_crls(crls), issuers)
    if revoked_at is not None:
        signed_at = ts_time if timestamped else None
        when = f"{revoked_at:%Y-%m-%d %H:%M:%S} UTC"
        if signed_at is None:
            problems.append(
                f"The signer's certificate was revoked on {when}, and no time-stamp proves "
                "the signature was made before."
            )
        elif revoked_at <= signed_at:
            problems.append(
                f"The signer's certificate was revoked on {when}, before this was signed."
            )
    return DetachedVerification(
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        signer=cert.subject.rfc4514_string(),
        fingerprint=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        timestamp=ts_time if timestamped else None,
        problems=tuple(problems),
        revoked_at=revoked_at,
    )
