"""Verify a signed certificate PDF: is it intact, signed by someone caltrace trusts,
unchanged since, and when was it signed? For the public verification page and the LIMS.

:func:`verify_pdf` reads the PDF from memory (it never writes it anywhere), finds
the certificate's signature (the first signature of the file) and validates it
with pyHanko against the trust roots and CRLs it is given, fetching nothing from
the network. The answer, :class:`PdfVerification`, states each finding separately
and lists, in ``problems``, plain sentences a member of the public can read.

Time of validation (ETSI EN 319 102-1 5.5/5.6, in short): a signature with a valid
RFC 3161 time-stamp (PAdES B-T, B-LT) is validated at the time-stamp's time, so
that a signing certificate that expired or was superseded later does not void the
documents it signed; a signature without one (B-B) is validated now, as nothing
proves when it was made. A revocation is always reported, with its date.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.generic import (
    ArrayObject,
    DictionaryObject,
    StreamObject,
)
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import (
    SignatureValidationError,
)
from pyhanko.sign.validation.status import (
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.ltv.errors import (
    TimeSlideFailure,
)

from certificates.errors import VerificationError
from certificates.signing import load_certificates, load_crls, revocation_date

__all__ = ["DCC_SUFFIX", "PdfVerification", "verify_pdf"]

#: An embedded file whose name ends so is the certificate's DCC (``<number>.dcc.xml``).
DCC_SUFFIX = ".dcc.xml"

#: The end of a PDF (ISO 32000-1 7.5.5): ``startxref``, the offset of the last
#: cross-reference section, then ``%%EOF``, each on its own line. Readers look for it
#: in the file's last kilobyte; so does this check, before the PDF reader runs.
_TRAILER = re.compile(rb"startxref\s+[0-9]+\s+%%EOF")
_TAIL_BYTES = 1024

#: Subject marker of the certificates the demo PKI issues (:mod:`certificates.pki`).
_DEMO_MARK = "DEMO — not for legal use"

_NOT_TRUSTED = "The signer is not trusted by caltrace's trust list."
_ALTERED = "The signature does not match the document: the file was altered."
_CHANGED = "The document was changed after it was signed."
_PARTIAL = "The signature does not cover the whole document."
_BAD_TIMESTAMP = "The time-stamp on the signature could not be verified."


@dataclass(frozen=True)
class PdfVerification:
    """What :func:`verify_pdf` found. Times are timezone-aware (UTC)."""

    #: The signed bytes hash to the value the signature carries, and the signature
    #: value verifies with the signer's public key.
    intact: bool
    #: The signer's certificate chains to one of the given trust roots, valid at the
    #: time of validation and not revoked then.
    trusted: bool
    #: Nothing was appended after the signature, except validation data (DSS) and
    #: document time-stamps (PAdES B-LT/LTA updates).
    covers_whole_file: bool
    #: An incremental update after the signature changes the document's content.
    modified_after_signing: bool
    #: The signer's distinguished name, RFC 4514.
    signer_subject: str
    #: SHA-256 of the signer's DER certificate, lowercase hex.
    signer_fingerprint: str
    #: When it was signed: the time-stamp's time when ``timestamped``, otherwise the
    #: time the signer's own clock wrote (``None`` when it wrote none).
    signed_at: datetime | None
    #: The signature carries a valid RFC 3161 time-stamp from a trusted authority.
    timestamped: bool
    #: PAdES baseline level: ``"B-B"``, ``"B-T"`` (time-stamped) or ``"B-LT"``
    #: (time-stamped, and the validation data are embedded in the document).
    level: str
    #: SHA-256 of the whole file as given, lowercase hex.
    sha256: str
    #: The DCC attached to the signed revision (an embedded file ``*.dcc.xml``).
    embedded_dcc: bytes | None
    #: Plain sentences for the public, one per problem found; empty when all is well.
    problems: tuple[str, ...]
    #: The signer's certificate is from caltrace's demo PKI (labelled DEMO).
    demo: bool = False
    #: When a CRL given or embedded revoked the signing certificate.
    revoked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Intact, trusted, unchanged since signing, covering the whole file, and no
        other problem (a revocation, even after signing, makes it not ok: the LIMS
        and the public page weigh ``revoked_at`` against ``signed_at``)."""
        return (
            self.intact
            and self.trusted
            and self.covers_whole_file
            and not self.modified_after_signing
            and not self.problems
        )


def _day(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _timestamp_time(signer_info: Any) -> datetime | None:
    """The genTime of the signature time-stamp token (RFC 3161 2.4.2), unverified."""
    attrs = signer_info["unsigned_attrs"]
    if attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            token: cms.ContentInfo = attr["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            gen_time: datetime = tst_info["gen_time"].native
            return gen_time.astimezone(UTC)
    return None


def _dss(reader: Any) -> tuple[list[bytes], list[bytes], bool]:
    """Certificates (DER) and CRLs (DER) of the document security store, and whether
    it holds any revocation data at all (CRLs or OCSP responses)."""
    try:
        dss = _deref(reader.root["/DSS"])
    except KeyError:
        return [], [], False
    certs: list[bytes] = []
    crls: list[bytes] = []
    has_ocsp = False
    if isinstance(dss, DictionaryObject):
        for key, out in (("/Certs", certs), ("/CRLs", crls)):
            items = _deref(dss.get(key))
            if isinstance(items, ArrayObject):
                out.extend(
                    item.get_object().data
                    for item in items
                    if isinstance(item.get_object(), StreamObject)
                )
        ocsps = _deref(dss.get("/OCSPs"))
        has_ocsp = isinstance(ocsps, ArrayObject) and len(ocsps) > 0
    return certs, crls, bool(crls) or has_ocsp


def _deref(obj: Any) -> Any:
    """The object an indirect reference points to (or the object itself)."""
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _embedded_dcc(reader: Any, revision: int) -> bytes | None:
    """The first embedded file named ``*.dcc.xml`` in the given revision's name tree."""
    try:
        root = reader.get_historical_root(revision)
        tree = root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return None
    stack = [tree]
    seen = 0
    while stack and seen < 10_000:
        seen += 1
        node = _deref(stack.pop(0))
        names = _deref(node.get("/Names"))
        if isinstance(names, ArrayObject):
            for i in range(0, len(names) - 1, 2):
                name = str(names[i])
                spec = _deref(names[i + 1])
                file_name = str(spec.get("/UF", spec.get("/F", name)))
                if not (name.endswith(DCC_SUFFIX) or file_name.endswith(DCC_SUFFIX)):
                    continue
                ef = _deref(spec.get("/EF"))
                if not isinstance(ef, DictionaryObject):
                    continue
                stream = _deref(ef.get("/F", ef.get("/UF")))
                if isinstance(stream, StreamObject):
                    data: bytes = stream.data
                    return data
        kids = _deref(node.get("/Kids"))
        if isinstance(kids, ArrayObject):
            stack.extend(kids)
    return None


def _validation_context(
    roots: Sequence[x509.Certificate],
    other_certs: Sequence[bytes],
    crls: Sequence[bytes],
    moment: datetime | None,
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": [
            asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in roots
        ],
        "other_certs": [asn1_x509.Certificate.load(c) for c in other_certs],
        "crls": [asn1_crl.CertificateList.load(c) for c in crls],
        "allow_fetching": False,
        "revocation_mode": "soft-fail",
    }
    if moment is not None:
        # Validation at the time-stamp's time: a CRL issued later still tells
        # whether the certificate had been revoked by then.
        kwargs.update(moment=moment, retroactive_revinfo=True)
    return ValidationContext(**kwargs)


def _validate(embedded: Any, signer_vc: ValidationContext, ts_vc: ValidationContext) -> Any:
    return validate_pdf_signature(
        embedded, signer_validation_context=signer_vc, ts_validation_context=ts_vc
    )


def verify_pdf(
    data: bytes, *, trust_roots: Sequence[bytes], crls: Sequence[bytes] = ()
) -> PdfVerification:
    """Verify the signature of a certificate PDF, in memory, without network access.

    ``trust_roots``: CA certificates (PEM or DER) that caltrace trusts; ``crls``:
    revocation lists (PEM or DER) to check the signer against, besides those the
    PDF embeds (B-LT). Raises :class:`~certificates.errors.VerificationError` only
    when ``data`` is not a PDF or holds no signature; every other finding is in the
    result.
    """
    digest = hashlib.sha256(data).hexdigest()
    if b"%PDF-" not in data[:1024]:
        raise VerificationError("This file is not a PDF.", field="pdf")
    if not _TRAILER.search(data[-_TAIL_BYTES:]):
        # Without it the reader walks the file backwards a byte at a time looking for one
        # (9 MB of anything without a line break took it over 6 s): refuse at once.
        raise VerificationError(
            "This file is not a complete PDF: it does not end with the cross-reference "
            "pointer (startxref) and %%EOF that every PDF ends with.",
            field="pdf",
        )
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    except (PdfError, ValueError, KeyError, TypeError) as e:
        raise VerificationError(f"This file cannot be read as a PDF ({e}).", field="pdf") from e
    if not signatures:
        raise VerificationError("This PDF holds no signature.", field="pdf")
    embedded = signatures[0]

    roots = load_certificates(trust_roots)
    given_crls = [c.public_bytes(serialization.Encoding.DER) for c in load_crls(crls)]
    dss_certs, dss_crls, dss_revinfo = _dss(reader)
    all_crls = given_crls + dss_crls
    signer_cert = x509.load_der_x509_certificate(embedded.signer_cert.dump())
    signer_subject = signer_cert.subject.rfc4514_string()
    fingerprint = hashlib.sha256(signer_cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    embedded_certs = [c.dump() for c in embedded.other_embedded_certs]
    others = dss_certs + embedded_certs

    problems: list[str] = []
    ts_time = _timestamp_time(embedded.signer_info)
    try:
        ts_vc = _validation_context(roots, others, all_crls, None)
        status = _validate(embedded, _validation_context(roots, others, all_crls, ts_time), ts_vc)
        ts_status = status.timestamp_validity
        timestamped = bool(ts_status is not None and ts_status.valid and ts_status.trusted)
        if ts_time is not None and not timestamped:
            # The time-stamp proves nothing: validate at the present time instead.
            problems.append(_BAD_TIMESTAMP)
            status = _validate(
                embedded,
                _validation_context(roots, others, all_crls, None),
                _validation_context(roots, others, all_crls, None),
            )
    except (SignatureValidationError, PdfError, ValueError, TimeSlideFailure) as e:
        return PdfVerification(
            intact=False,
            trusted=False,
            covers_whole_file=False,
            modified_after_signing=False,
            signer_subject=signer_subject,
            signer_fingerprint=fingerprint,
            signed_at=None,
            timestamped=False,
            level="B-B",
            sha256=digest,
            embedded_dcc=None,
            problems=(f"The signature cannot be checked: it is malformed ({e}).",),
            demo=_DEMO_MARK in signer_subject,
        )

    intact = bool(status.intact and status.valid)
    if not intact:
        problems.append(_ALTERED)
    trusted = bool(intact and status.trusted)

    coverage = status.coverage
    level_mod = status.modification_level
    harmless = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        covers, modified = True, False
    elif coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        covers = level_mod in harmless
        modified = not covers
    else:
        covers, modified = False, False
    if modified:
        problems.append(_CHANGED)
    elif not covers:
        problems.append(_PARTIAL)

    signed_at: datetime | None
    if timestamped:
        signed_at = status.timestamp_validity.timestamp.astimezone(UTC)
    elif status.signer_reported_dt is not None:
        signed_at = status.signer_reported_dt.astimezone(UTC)
    else:
        signed_at = None

    issuers = [*roots, *load_certificates(others)]
    revoked_at = revocation_date(signer_cert, load_crls(all_crls), issuers)
    if revoked_at is not None:
        if signed_at is None:
            problems.append(f"The signing certificate was revoked on {_day(revoked_at)}.")
        elif revoked_at <= signed_at:
            trusted = False
            problems.append(
                f"The signing certificate was revoked on {_day(revoked_at)}, "
                f"before this document was signed on {_day(signed_at)}."
            )
        elif timestamped:
            problems.append(
                f"The signing certificate was revoked on {_day(revoked_at)}, after this "
                f"document was signed (time-stamped {_day(signed_at)})."
            )
        else:
            problems.append(
                f"The signing certificate was revoked on {_day(revoked_at)}; the document "
                f"says it was signed on {_day(signed_at)}, but no time-stamp proves it."
            )
    if intact and not trusted and revoked_at is None:
        indic = status.trust_problem_indic
        name = getattr(indic, "name", "")
        if "OUT_OF_BOUNDS" in name or "EXPIRED" in name or "NOT_YET_VALID" in name:
            problems.append(
                "The signing certificate was not valid at the time of validation "
                "(expired or not yet valid)."
            )
        else:
            problems.append(_NOT_TRUSTED)

    level = "B-B"
    if timestamped:
        level = "B-LT" if dss_revinfo else "B-T"

    return PdfVerification(
        intact=intact,
        trusted=trusted,
        covers_whole_file=covers,
        modified_after_signing=modified,
        signer_subject=signer_subject,
        signer_fingerprint=fingerprint,
        signed_at=signed_at,
        timestamped=timestamped,
        level=level,
        sha256=digest,
        embedded_dcc=_embedded_dcc(reader, embedded.signed_revision),
        problems=tuple(problems),
        demo=_DEMO_MARK in signer_subject,
        revoked_at=revoked_at,
    )
