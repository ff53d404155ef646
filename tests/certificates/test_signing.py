"""PAdES signing (ETSI EN 319 142-1 baseline B-B, B-T, B-LT), the demo PKI and the local TSA.

Every signed PDF is checked three ways: by caltrace's own verify_pdf, by pyHanko's
validator, and (where poppler is installed) by pdfsig through NSS.
"""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from certificates.errors import SigningError
from certificates.pki import DOCUMENT_SIGNING_EKU, DemoPki, ensure_demo_pki
from certificates.signing import Signer, SigningKey, load_pkcs12
from certificates.tsa import serve_tsa
from certificates.verify import verify_pdf
from tests.support.tools import require_tool

ORG = "Trung tâm Kiểm định Đo lường Thử nghiệm"
SIGN_ARGS = {"reason": "Giấy chứng nhận hiệu chuẩn", "location": "Hà Nội", "name": "Nguyễn Văn A"}


def make_pdf(text: str = "Certificate 2026-0001") -> bytes:
    """A two-page PDF as a certificate stands in until the renderer is merged."""
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    page.setTitle("caltrace test certificate")
    for number in (1, 2):
        page.setFont("Helvetica", 12)
        page.drawString(72, 760, f"{text}, page {number}")
        page.showPage()
    page.save()
    return out.getvalue()


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
def pdf() -> bytes:
    return make_pdf()


def pyhanko_status(signed: bytes, ca_pem: bytes, crls: list[bytes] | None = None):
    """pyHanko's own verdict on the first signature, trusting ``ca_pem``."""
    ca = asn1_x509.Certificate.load(
        x509.load_pem_x509_certificate(ca_pem).public_bytes(serialization.Encoding.DER)
    )
    vc = ValidationContext(trust_roots=[ca], crls=crls or [], allow_fetching=False)
    reader = PdfFileReader(BytesIO(signed))
    return validate_pdf_signature(reader.embedded_signatures[0], vc)


def nss_db_trusting(directory: Path, ca_pem: bytes) -> str:
    """A temporary NSS database in which the demo CA is a trusted root (for pdfsig)."""
    certutil = require_tool("certutil")
    directory.mkdir()
    (directory / "ca.pem").write_bytes(ca_pem)
    subprocess.run([certutil, "-N", "-d", f"sql:{directory}", "--empty-password"], check=True)
    subprocess.run(
        [
            certutil,
            "-A",
            "-d",
            f"sql:{directory}",
            "-n",
            "caltrace demo CA",
            "-t",
            "CT,C,C",
            "-i",
            str(directory / "ca.pem"),
        ],
        check=True,
    )
    return f"sql:{directory}"


# -- PAdES levels ----------------------------------------------------------------------


def test_a_b_b_signature_verifies_and_pyhanko_agrees(pki: DemoPki, key: SigningKey, pdf: bytes):
    signed = Signer(key).sign(pdf, **SIGN_ARGS)

    result = verify_pdf(signed, trust_roots=[pki.ca_pem])
    assert result.ok, result.problems
    assert (result.intact, result.trusted, result.covers_whole_file) == (True, True, True)
    assert not result.modified_after_signing
    assert result.level == "B-B"
    assert not result.timestamped
    assert result.demo
    assert result.signer_fingerprint == key.fingerprint
    assert result.signer_subject == key.subject
    assert result.signed_at is not None
    assert abs(result.signed_at - datetime.now(UTC)) < timedelta(minutes=1)

    status = pyhanko_status(signed, pki.ca_pem)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    # ETSI EN 319 142-1 5.1: the baseline signature is a CAdES detached CMS.
    assert (
        PdfFileReader(BytesIO(signed)).embedded_signatures[0].sig_object["/SubFilter"]
        == "/ETSI.CAdES.detached"
    )


def test_a_b_t_signature_carries_a_timestamp_from_the_tsa_over_http(
    pki: DemoPki, key: SigningKey, tsa_url: str, pdf: bytes
):
    signer = Signer(key, timestamp_url=tsa_url)
    assert signer.level == "B-T"
    signed = signer.sign(pdf, **SIGN_ARGS)

    result = verify_pdf(signed, trust_roots=[pki.ca_pem])
    assert result.ok, result.problems
    assert result.level == "B-T"
    assert result.timestamped

    status = pyhanko_status(signed, pki.ca_pem)
    assert status.bottom_line
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert result.signed_at == status.timestamp_validity.timestamp.astimezone(UTC)


def test_a_b_lt_signature_embeds_the_chain_and_the_crl(
    pki: DemoPki, key: SigningKey, tsa_url: str, pdf: bytes
):
    signer = Signer(
        key,
        timestamp_url=tsa_url,
        embed_validation_info=True,
        trust_roots=[pki.ca_pem],
        crls=[pki.crl_der],
    )
    signed = signer.sign(pdf, **SIGN_ARGS)

    reader = PdfFileReader(BytesIO(signed))
    dss = reader.root["/DSS"]
    assert len(dss["/CRLs"]) >= 1
    assert len(dss["/Certs"]) >= 2

    # Without being given the CRL: the embedded one suffices (the point of B-LT).
    result = verify_pdf(signed, trust_roots=[pki.ca_pem])
    assert result.ok, result.problems
    assert result.level == "B-LT"
    # The DSS is an incremental update after the signature: a legitimate one.
    assert result.covers_whole_file
    assert not result.modified_after_signing

    status = pyhanko_status(signed, pki.ca_pem)
    assert status.bottom_line


def test_b_lt_without_a_tsa_is_refused_by_name(pki: DemoPki, key: SigningKey):
    # ETSI EN 319 142-1 6.3: B-LT builds on B-T, which needs a signature time-stamp.
    with pytest.raises(SigningError) as caught:
        Signer(key, embed_validation_info=True, trust_roots=[pki.ca_pem])
    assert caught.value.field == "embed_validation_info"
    with pytest.raises(SigningError) as no_roots:
        Signer(key, timestamp_url="http://127.0.0.1:9/", embed_validation_info=True)
    assert no_roots.value.field == "trust_roots"


@pytest.mark.parametrize("algorithm", ["rsa-3072", "ec-p256"])
def test_rsa_3072_and_ecdsa_p256_keys_both_sign(pki: DemoPki, pdf: bytes, algorithm: str):
    key = pki.issue_signer(key_algorithm=algorithm)  # type: ignore[arg-type]
    assert key.key_algorithm == algorithm
    signer = Signer(key)
    first = signer.sign(pdf, **SIGN_ARGS)
    second = signer.sign(make_pdf("Certificate 2026-0002"), **SIGN_ARGS)
    for signed in (first, second):
        result = verify_pdf(signed, trust_roots=[pki.ca_pem])
        assert result.ok, result.problems
        assert pyhanko_status(signed, pki.ca_pem).bottom_line


# -- keys --------------------------------------------------------------------------------


def test_pkcs12_with_and_without_password_loads_and_signs(
    tmp_path: Path, pki: DemoPki, key: SigningKey, pdf: bytes
):
    locked, open_ = tmp_path / "locked.p12", tmp_path / "open.p12"
    locked.write_bytes(key.to_pkcs12(b"s3cret"))
    open_.write_bytes(key.to_pkcs12(None))
    for loaded in (load_pkcs12(locked, b"s3cret"), load_pkcs12(open_, None)):
        assert loaded.fingerprint == key.fingerprint
        assert [c.subject for c in loaded.chain] == [pki.ca_certificate.subject]
        signed = Signer(loaded).sign(pdf, **SIGN_ARGS)
        assert verify_pdf(signed, trust_roots=[pki.ca_pem]).ok


def test_a_wrong_pkcs12_password_is_refused_naming_the_file(tmp_path: Path, key: SigningKey):
    path = tmp_path / "signer.p12"
    path.write_bytes(key.to_pkcs12(b"right"))
    with pytest.raises(SigningError, match="wrong password") as caught:
        load_pkcs12(path, b"wrong")
    assert caught.value.field == str(path)
    with pytest.raises(SigningError) as missing:
        load_pkcs12(tmp_path / "absent.p12", None)
    assert missing.value.field == str(tmp_path / "absent.p12")


def test_it_refuses_an_expired_signing_certificate(pki: DemoPki, pdf: bytes):
    now = datetime.now(UTC)
    expired = pki.issue_signer(
        not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
    )
    with pytest.raises(SigningError, match="expired"):
        Signer(expired)


def test_it_refuses_a_signing_certificate_not_yet_valid(pki: DemoPki):
    now = datetime.now(UTC)
    future = pki.issue_signer(
        not_before=now + timedelta(days=1), not_after=now + timedelta(days=30)
    )
    with pytest.raises(SigningError, match="not valid before"):
        Signer(future)


def test_it_refuses_a_revoked_signing_key(pki: DemoPki, pdf: bytes):
    doomed = pki.issue_signer()
    signer = Signer(doomed, crls=[pki.crl_der])
    assert verify_pdf(signer.sign(pdf, **SIGN_ARGS), trust_roots=[pki.ca_pem]).ok

    crl = pki.revoke(doomed.certificate, reason=x509.ReasonFlags.key_compromise)
    with pytest.raises(SigningError, match="revoked") as caught:
        Signer(doomed, crls=[crl])
    assert caught.value.field == doomed.source


def test_a_revocation_dated_later_stops_signing_from_that_date(pki: DemoPki):
    later = pki.issue_signer()
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    crl = pki.revoke(later.certificate, revoked_at=when)
    signer = Signer(later, crls=[crl])  # not yet revoked: it may sign today
    signer.check_key()
    with pytest.raises(SigningError, match="revoked"):
        signer.check_key(at=when + timedelta(seconds=1))


def test_a_crl_not_signed_by_the_issuer_is_refused(tmp_path: Path, pki: DemoPki, key: SigningKey):
    other = ensure_demo_pki(tmp_path, ORG, key_algorithm="ec-p256")
    # Another demo CA's CRL says nothing of this signer: it is not this issuer's.
    Signer(key, crls=[other.crl_der])
    # A CRL in this CA's name but signed with another key proves nothing: refused.
    now = datetime.now(UTC)
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.ca_certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )
    with pytest.raises(SigningError) as caught:
        Signer(key, crls=[forged.public_bytes(serialization.Encoding.DER)])
    assert caught.value.field == "crls"


def test_key_rotation_keeps_earlier_signatures_valid(tmp_path: Path, pdf: bytes):
    pki = ensure_demo_pki(tmp_path, ORG, key_algorithm="ec-p256")
    tsa_key, tsa_cert = pki.tsa_credentials()
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as tsa_url:
        old_key = pki.signing_key()
        old_signed = Signer(old_key, timestamp_url=tsa_url).sign(pdf, **SIGN_ARGS)

        new_key = pki.rotate_signer()
        new_signed = Signer(new_key, timestamp_url=tsa_url).sign(pdf, **SIGN_ARGS)
    assert new_key.fingerprint != old_key.fingerprint
    assert pki.signing_key().fingerprint == new_key.fingerprint
    assert new_key.certificate.issuer == old_key.certificate.issuer

    old_result = verify_pdf(old_signed, trust_roots=[pki.ca_pem], crls=[pki.crl_der])
    new_result = verify_pdf(new_signed, trust_roots=[pki.ca_pem], crls=[pki.crl_der])
    assert old_result.ok, old_result.problems
    assert new_result.ok, new_result.problems
    assert old_result.signer_fingerprint == old_key.fingerprint
    assert new_result.signer_fingerprint == new_key.fingerprint


# -- the demo PKI ---------------------------------------------------------------------


def test_the_demo_pki_is_made_once_labelled_demo_and_loaded_unchanged(tmp_path: Path):
    directory = tmp_path / "var" / "demo-pki"
    first = ensure_demo_pki(directory, ORG, key_algorithm="ec-p256")
    files = {p.name: p.read_bytes() for p in directory.iterdir() if not p.name.startswith(".")}
    assert {"ca.pem", "ca-key.pem", "signer.p12", "crl.pem"} <= set(files)

    second = ensure_demo_pki(directory, ORG, key_algorithm="ec-p256")
    assert second.ca_pem == first.ca_pem
    assert second.signing_key().fingerprint == first.signing_key().fingerprint
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.name in files} == files

    for secret in ("ca-key.pem", "signer.p12"):
        assert stat.S_IMODE((directory / secret).stat().st_mode) == 0o600
    first.tsa_credentials()
    assert stat.S_IMODE((directory / "tsa.p12").stat().st_mode) == 0o600

    ca = first.ca_certificate
    signer = first.signing_key().certificate
    for cert in (ca, signer):
        org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
        common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert org == f"{ORG} (DEMO — not for legal use)"
        assert str(common).startswith("caltrace DEMO")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_demo_signer_has_key_usages_validators_accept(pki: DemoPki, key: SigningKey):
    usage = key.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    eku = key.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    # RFC 9336 documentSigning, with emailProtection for NSS (pdfsig).
    assert set(eku) == {DOCUMENT_SIGNING_EKU, ExtendedKeyUsageOID.EMAIL_PROTECTION}
    _, tsa_cert = pki.tsa_credentials()
    tsa_eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    # RFC 3161 2.3: the TSA's certificate has the sole, critical EKU timeStamping.
    assert tsa_eku.critical
    assert list(tsa_eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_the_demo_pki_of_another_organization_is_refused(tmp_path: Path):
    ensure_demo_pki(tmp_path, ORG, key_algorithm="ec-p256")
    with pytest.raises(SigningError) as caught:
        ensure_demo_pki(tmp_path, "Another laboratory", key_algorithm="ec-p256")
    assert caught.value.field == "organization"


# -- pdfsig (poppler, NSS) as an independent validator -----------------------------


@pytest.mark.parametrize("level", ["B-B", "B-LT"])
def test_pdfsig_says_valid_and_trusted(
    tmp_path: Path, pki: DemoPki, key: SigningKey, tsa_url: str, pdf: bytes, level: str
):
    pdfsig = require_tool("pdfsig")
    if level == "B-B":
        signer = Signer(key)
    else:
        signer = Signer(
            key,
            timestamp_url=tsa_url,
            embed_validation_info=True,
            trust_roots=[pki.ca_pem],
            crls=[pki.crl_der],
        )
    path = tmp_path / "signed.pdf"
    path.write_bytes(signer.sign(pdf, **SIGN_ARGS))

    plain = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid" in plain.stdout, plain.stdout

    nss = nss_db_trusting(tmp_path / "nss", pki.ca_pem)
    trusted = subprocess.run(
        [pdfsig, "-nssdir", nss, str(path)], capture_output=True, text=True, check=False
    )
    assert "Signature is Valid" in trusted.stdout, trusted.stdout
    assert "Certificate is Trusted" in trusted.stdout, trusted.stdout
