"""Signing with a key on a PKCS#11 token (SoftHSM2 standing in for the laboratory's HSM).

The token lives in a temporary directory (SOFTHSM2_CONF points to a temporary
configuration), so the tests never touch the machine's own tokens.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from certificates.errors import SigningError
from certificates.pki import DemoPki, ensure_demo_pki
from certificates.signing import Signer, SigningKey, load_pkcs11
from certificates.verify import verify_pdf
from tests.support.tools import require_tool

SOFTHSM_LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "caltrace-test"
PIN = "1234"
SIGN_ARGS = {"reason": "Calibration certificate", "location": "Đà Nẵng", "name": "Lê Văn C"}


def make_pdf() -> bytes:
    out = BytesIO()
    page = canvas.Canvas(out, invariant=True)
    page.drawString(72, 760, "Certificate 2026-0099, signed on a token")
    page.showPage()
    page.save()
    return out.getvalue()


def import_to_token(key: SigningKey, label: str, key_id: bytes) -> None:
    """Put a demo signer's private key and certificate (and its CA) on the test token."""
    import pkcs11
    from pkcs11 import Attribute
    from pkcs11.util.ec import decode_ec_private_key
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    private, _, _ = pkcs12.load_key_and_certificates(key.to_pkcs12(None), None)
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    attrs = (
        decode_rsa_private_key(der)
        if isinstance(private, rsa.RSAPrivateKey)
        else decode_ec_private_key(der)
    )
    attrs.update(
        {
            Attribute.TOKEN: True,
            Attribute.PRIVATE: True,
            Attribute.SENSITIVE: True,
            Attribute.EXTRACTABLE: False,
            Attribute.SIGN: True,
            Attribute.LABEL: label,
            Attribute.ID: key_id,
        }
    )
    token = pkcs11.lib(str(SOFTHSM_LIBRARY)).get_token(token_label=TOKEN)
    with token.open(rw=True, user_pin=PIN) as session:
        session.create_object(attrs)
        for cert, cert_label, cert_id in (
            (key.certificate, label, key_id),
            (key.chain[0], f"{label} CA", key_id + b"\xca"),
        ):
            cert_attrs = decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
            cert_attrs.update(
                {Attribute.TOKEN: True, Attribute.LABEL: cert_label, Attribute.ID: cert_id}
            )
            session.create_object(cert_attrs)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return ensure_demo_pki(
        tmp_path_factory.mktemp("demo-pki"), "Token lab", key_algorithm="ec-p256"
    )


@pytest.fixture(scope="module")
def token(
    tmp_path_factory: pytest.TempPathFactory, pki: DemoPki
) -> Iterator[dict[str, SigningKey]]:
    """A SoftHSM2 token in a temporary directory with an ECDSA P-256 and an RSA-3072 signer."""
    softhsm = require_tool("softhsm2-util")
    if not SOFTHSM_LIBRARY.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SOFTHSM_LIBRARY} is required in CI but is missing")
        pytest.skip(f"{SOFTHSM_LIBRARY} is missing")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            [softhsm, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "5678"],
            check=True,
            capture_output=True,
        )
        keys = {
            "ec-p256": pki.issue_signer(key_algorithm="ec-p256"),
            "rsa-3072": pki.issue_signer(key_algorithm="rsa-3072"),
        }
        for number, (algorithm, key) in enumerate(keys.items(), start=1):
            import_to_token(key, f"signer-{algorithm}", bytes([number]))
        yield keys


@pytest.mark.parametrize("algorithm", ["ec-p256", "rsa-3072"])
def test_a_key_on_a_pkcs11_token_signs_and_verifies(
    token: dict[str, SigningKey], pki: DemoPki, algorithm: str
):
    on_token = load_pkcs11(SOFTHSM_LIBRARY, TOKEN, f"signer-{algorithm}", PIN)
    try:
        assert on_token.fingerprint == token[algorithm].fingerprint
        assert on_token.key_algorithm == algorithm
        assert pki.ca_certificate in on_token.chain
        signer = Signer(on_token)
        signed = [signer.sign(make_pdf(), **SIGN_ARGS) for _ in range(2)]
    finally:
        on_token.close()
    for pdf in signed:
        result = verify_pdf(pdf, trust_roots=[pki.ca_pem])
        assert result.ok, result.problems
        assert result.signer_fingerprint == token[algorithm].fingerprint
        assert PdfFileReader(BytesIO(pdf)).embedded_signatures[0].field_name


def test_a_wrong_pin_is_refused_naming_the_token(token: dict[str, SigningKey]):
    with pytest.raises(SigningError) as caught:
        load_pkcs11(SOFTHSM_LIBRARY, TOKEN, "signer-ec-p256", "0000")
    assert caught.value.field is not None
    assert TOKEN in caught.value.field


def test_an_absent_token_or_key_is_refused(token: dict[str, SigningKey]):
    with pytest.raises(SigningError):
        load_pkcs11(SOFTHSM_LIBRARY, "no-such-token", "signer-ec-p256", PIN)
    with pytest.raises(SigningError):
        load_pkcs11(SOFTHSM_LIBRARY, TOKEN, "no-such-key", PIN)


def test_the_private_key_on_a_token_cannot_be_exported(token: dict[str, SigningKey]):
    on_token = load_pkcs11(SOFTHSM_LIBRARY, TOKEN, "signer-ec-p256", PIN)
    try:
        with pytest.raises(SigningError, match="cannot be exported"):
            on_token.to_pkcs12(None)
    finally:
        on_token.close()
