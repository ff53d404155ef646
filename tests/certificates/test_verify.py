"""verify_pdf: what the public verification page and the LIMS learn from a signed PDF.

Tampering is done the way an attacker would: a changed byte inside the signed
range, an incremental update appended after the signature (ISO 32000-2 7.5.6),
a signer from another CA, a signing certificate revoked after issue.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from certificates.errors import VerificationError
from certificates.pki import DemoPki, ensure_demo_pki
from certificates.signing import Signer, SigningKey
from certificates.tsa import serve_tsa
from certificates.verify import verify_pdf
from tests.support.tools import require_tool

ORG = "Viện Đo lường Việt Nam"
SIGN_ARGS = {"reason": "Giấy chứng nhận kiểm định", "location": "Hà Nội", "name": "Trần Thị B"}
TITLE = b"caltrace test certificate"
DCC = b'<?xml version="1.0" encoding="UTF-8"?>\n<dcc:digitalCalibrationCertificate/>\n'


def make_pdf(*, dcc: bytes | None = None) -> bytes:
    """A one-page PDF standing in for a rendered certificate, with a DCC attached if given."""
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    page.setTitle(TITLE.decode())
    page.drawString(72, 760, "Certificate 2026-0042: the meter passed")
    page.showPage()
    page.save()
    if dcc is None:
        return out.getvalue()
    writer = IncrementalPdfFileWriter(BytesIO(out.getvalue()))
    embed.embed_file(
        writer,
        embed.FileSpec(
            file_spec_string="2026-0042.dcc.xml",
            file_name="2026-0042.dcc.xml",
            embedded_data=embed.EmbeddedFileObject.from_file_data(
                writer, DCC, mime_type="application/xml"
            ),
            af_relationship=generic.NameObject("/Data"),
        ),
    )
    with_dcc = BytesIO()
    writer.write(with_dcc)  # type: ignore[no-untyped-call]
    return with_dcc.getvalue()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return ensure_demo_pki(tmp_path_factory.mktemp("demo-pki"), ORG, key_algorithm="ec-p256")


@pytest.fixture(scope="module")
def key(pki: DemoPki) -> SigningKey:
    return pki.signing_key()


@pytest.fixture(scope="module")
def tsa_url(pki: DemoPki) -> Iterator[str]:
    tsa_key, tsa_cert = pki.tsa_credentials()
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as url:
        yield url


@pytest.fixture(scope="module")
def signed(key: SigningKey, tsa_url: str) -> bytes:
    return Signer(key, timestamp_url=tsa_url).sign(make_pdf(), **SIGN_ARGS)


def test_an_untouched_signed_pdf_is_ok(pki: DemoPki, key: SigningKey, signed: bytes):
    result = verify_pdf(signed, trust_roots=[pki.ca_pem], crls=[pki.crl_der])
    assert result.ok
    assert result.problems == ()
    assert result.sha256 == hashlib.sha256(signed).hexdigest()
    assert result.signer_fingerprint == key.fingerprint
    assert result.level == "B-T"
    assert result.embedded_dcc is None


def test_one_changed_byte_inside_the_signed_range_is_not_intact(pki: DemoPki, signed: bytes):
    at = signed.index(TITLE)
    tampered = signed[:at] + b"C" + signed[at + 1 :]
    assert len(tampered) == len(signed)

    result = verify_pdf(tampered, trust_roots=[pki.ca_pem])
    assert not result.intact
    assert not result.ok
    assert "The signature does not match the document: the file was altered." in result.problems


def test_pdfsig_sees_the_digest_mismatch_too(tmp_path: Path, signed: bytes):
    pdfsig = require_tool("pdfsig")
    at = signed.index(TITLE)
    path = tmp_path / "tampered.pdf"
    path.write_bytes(signed[:at] + b"C" + signed[at + 1 :])
    out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
    assert "Digest Mismatch" in out.stdout, out.stdout


def test_an_update_appended_after_signing_that_adds_content_is_reported(
    pki: DemoPki, signed: bytes
):
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    overlay = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (FAIL -> PASS) Tj ET")
    )
    writer.add_stream_to_page(0, overlay)  # type: ignore[no-untyped-call]
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    appended = out.getvalue()
    assert appended.startswith(signed)

    result = verify_pdf(appended, trust_roots=[pki.ca_pem])
    assert result.intact  # the signed bytes are untouched ...
    assert result.modified_after_signing  # ... but the document shown is not what was signed
    assert not result.covers_whole_file
    assert not result.ok
    assert "The document was changed after it was signed." in result.problems


def test_a_signer_from_another_ca_is_not_trusted(tmp_path: Path, signed: bytes):
    stranger = ensure_demo_pki(tmp_path, "Another laboratory", key_algorithm="ec-p256")
    result = verify_pdf(signed, trust_roots=[stranger.ca_pem])
    assert result.intact
    assert not result.trusted
    assert not result.ok
    assert "The signer is not trusted by caltrace's trust list." in result.problems


def test_a_signer_revoked_after_issue_is_reported_with_its_date(pki: DemoPki, tsa_url: str):
    signer_key = pki.issue_signer()
    signed = Signer(signer_key, timestamp_url=tsa_url).sign(make_pdf(), **SIGN_ARGS)
    before = verify_pdf(signed, trust_roots=[pki.ca_pem], crls=[pki.crl_der])
    assert before.ok, before.problems
    assert before.signed_at is not None

    # Revoked a moment after the time-stamp (CRL dates are whole seconds, RFC 5280 5.1.2.6).
    revoked_at = before.signed_at.replace(microsecond=0) + timedelta(seconds=1)
    crl = pki.revoke(signer_key.certificate, revoked_at=revoked_at)
    after = verify_pdf(signed, trust_roots=[pki.ca_pem], crls=[crl])

    assert after.revoked_at == revoked_at
    assert after.intact
    # Signed (and time-stamped) while the certificate was good: still trusted then,
    # but the revocation is reported; the LIMS decides what it means.
    assert after.trusted
    assert not after.ok
    day = f"{revoked_at:%Y-%m-%d %H:%M:%S} UTC"
    assert any(
        f"The signing certificate was revoked on {day}, after this document was signed" in p
        for p in after.problems
    ), after.problems


def test_the_attached_dcc_is_returned(pki: DemoPki, key: SigningKey):
    signed = Signer(key).sign(make_pdf(dcc=DCC), **SIGN_ARGS)
    result = verify_pdf(signed, trust_roots=[pki.ca_pem])
    assert result.ok, result.problems
    assert result.embedded_dcc == DCC
    assert result.level == "B-B"


def test_bytes_that_are_not_a_pdf_are_refused():
    with pytest.raises(VerificationError) as caught:
        verify_pdf(b"PK\x03\x04 a zip file, not a certificate", trust_roots=[])
    assert caught.value.field == "pdf"


@pytest.mark.parametrize(
    "ending",
    [
        pytest.param(b"", id="cut before its end"),
        # Megabytes without a line break: the reader would walk them back a byte at a time.
        pytest.param(b"QT1-HC-2026-000001 " * 200_000 + b"%%EOF\n", id="no startxref at the end"),
    ],
)
def test_a_file_without_the_end_every_pdf_has_is_refused_before_it_is_read(
    signed: bytes, ending: bytes
):
    # ISO 32000-1 7.5.5: a PDF ends with startxref, the offset of its last cross-reference
    # section, and %%EOF. A signed certificate cut short, or a crafted upload, lacks it.
    cut = signed[: signed.rindex(b"startxref")]
    with pytest.raises(VerificationError, match="not a complete PDF") as caught:
        verify_pdf(cut + ending, trust_roots=[])
    assert caught.value.field == "pdf"


def test_a_pdf_without_a_signature_is_refused(pki: DemoPki):
    with pytest.raises(VerificationError, match="no signature"):
        verify_pdf(make_pdf(), trust_roots=[pki.ca_pem])


def test_a_bad_timestamp_authority_is_not_counted_as_a_timestamp(
    tmp_path: Path, key: SigningKey, pki: DemoPki
):
    # A TSA from another CA: the time-stamp is intact but not from a trusted authority.
    rogue = ensure_demo_pki(tmp_path, "Rogue TSA", key_algorithm="ec-p256")
    rogue_key, rogue_cert = rogue.tsa_credentials()
    with serve_tsa(rogue_key, rogue_cert, [rogue.ca_certificate]) as url:
        signed = Signer(key, timestamp_url=url).sign(make_pdf(), **SIGN_ARGS)
    result = verify_pdf(signed, trust_roots=[pki.ca_pem])
    assert not result.timestamped
    assert result.level == "B-B"
    assert result.trusted  # the signer itself is trusted, validated at the present time
    assert "The time-stamp on the signature could not be verified." in result.problems
    assert not result.ok
    assert result.signed_at is not None
    assert abs(result.signed_at - datetime.now(UTC)) < timedelta(minutes=1)
