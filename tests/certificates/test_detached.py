"""Detached CMS signatures over small statements (the audit trail's anchors).

Each signature is checked by caltrace's verify_detached and, where it is installed, by
OpenSSL (``openssl cms -verify``): an anchor must be checkable without caltrace.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certificates.detached import sign_detached, verify_detached
from certificates.errors import VerificationError
from certificates.pki import DemoPki, ensure_demo_pki
from certificates.tsa import serve_tsa
from tests.support.tools import require_tool

STATEMENT = b'{"at":"2026-12-06T08:00:00.000000+00:00","chain":"org:1","length":3}'


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return ensure_demo_pki(tmp_path_factory.mktemp("pki"), "Anchor test", key_algorithm="ec-p256")


def test_a_detached_signature_verifies_and_names_its_signer(pki: DemoPki) -> None:
    key = pki.signing_key()
    found = verify_detached(STATEMENT, sign_detached(key, STATEMENT), trust_roots=[pki.ca_pem])
    assert found.ok, found.problems
    assert found.fingerprint == key.fingerprint
    assert found.signer == key.subject
    assert found.timestamp is None  # no TSA given


def test_altered_data_and_an_untrusted_signer_are_refused(pki: DemoPki, tmp_path: Path) -> None:
    signature = sign_detached(pki.signing_key(), STATEMENT)
    altered = verify_detached(STATEMENT.replace(b"3", b"4"), signature, trust_roots=[pki.ca_pem])
    assert not altered.intact
    assert altered.problems == (
        "The signature does not match the statement: it was altered or forged.",
    )
    stranger = ensure_demo_pki(tmp_path / "other", "Another organization")
    untrusted = verify_detached(STATEMENT, signature, trust_roots=[stranger.ca_pem])
    assert untrusted.intact
    assert not untrusted.trusted
    assert not untrusted.ok
    with pytest.raises(VerificationError, match="signature"):
        verify_detached(STATEMENT, b"not CMS", trust_roots=[pki.ca_pem])


def test_a_time_stamped_signature_carries_the_tsa_time(pki: DemoPki) -> None:
    tsa_key, tsa_cert = pki.tsa_credentials()
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as url:
        signature = sign_detached(pki.signing_key(), STATEMENT, timestamp_url=url)
    found = verify_detached(STATEMENT, signature, trust_roots=[pki.ca_pem])
    assert found.ok, found.problems
    assert found.timestamp is not None
    assert abs((datetime.now(UTC) - found.timestamp).total_seconds()) < 60


def test_without_a_time_stamp_the_signature_is_validated_at_the_moment_given(
    pki: DemoPki,
) -> None:
    """A signer valid only later (as one that expired since is valid only earlier) is
    trusted at the moment the signed statement states, not now."""
    start = datetime.now(UTC) + timedelta(hours=1)
    later = pki.issue_signer(not_before=start, not_after=start + timedelta(days=1))
    signature = sign_detached(later, STATEMENT)
    assert not verify_detached(STATEMENT, signature, trust_roots=[pki.ca_pem]).trusted
    then = verify_detached(
        STATEMENT, signature, trust_roots=[pki.ca_pem], moment=start + timedelta(hours=1)
    )
    assert then.ok, then.problems


def test_a_revoked_signer_is_refused_unless_a_time_stamp_proves_it_signed_before(
    pki: DemoPki,
) -> None:
    # RFC 5280 5.3.2: a CRL lists the revoked certificate with its revocation date. A
    # key revoked (stolen) can write any date into what it signs: only the TSA's time
    # proves the signature was made before the revocation.
    signer = pki.issue_signer()
    bare = sign_detached(signer, STATEMENT)
    tsa_key, tsa_cert = pki.tsa_credentials()
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as url:
        stamped = sign_detached(signer, STATEMENT, timestamp_url=url)
    before = verify_detached(STATEMENT, stamped, trust_roots=[pki.ca_pem], crls=[pki.crl_der])
    assert before.ok, before.problems
    assert before.timestamp is not None

    # Revoked a moment after the time-stamp (CRL dates are whole seconds).
    revoked_at = before.timestamp.replace(microsecond=0) + timedelta(seconds=1)
    crl = pki.revoke(signer.certificate, revoked_at=revoked_at)
    after = verify_detached(STATEMENT, stamped, trust_roots=[pki.ca_pem], crls=[crl])
    assert after.ok, after.problems  # time-stamped before the revocation: still genuine
    assert after.revoked_at == revoked_at

    unproven = verify_detached(
        STATEMENT, bare, trust_roots=[pki.ca_pem], crls=[crl], moment=before.timestamp
    )
    day = f"{revoked_at:%Y-%m-%d %H:%M:%S} UTC"
    assert unproven.problems == (
        f"The signer's certificate was revoked on {day}, and no time-stamp proves "
        "the signature was made before.",
    )
    assert not unproven.ok

    # Another key, revoked before it signed: refused even with a time-stamp.
    stolen = pki.issue_signer()
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as url:
        late = sign_detached(stolen, STATEMENT, timestamp_url=url)
    early = pki.revoke(stolen.certificate, revoked_at=datetime.now(UTC) - timedelta(seconds=5))
    revoked_first = verify_detached(STATEMENT, late, trust_roots=[pki.ca_pem], crls=[early])
    assert not revoked_first.ok
    assert "before this was signed" in revoked_first.problems[-1], revoked_first.problems


def test_openssl_verifies_the_signature_without_caltrace(pki: DemoPki, tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    (tmp_path / "statement.json").write_bytes(STATEMENT)
    (tmp_path / "anchor.p7s").write_bytes(sign_detached(pki.signing_key(), STATEMENT))
    command = [
        openssl,
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(tmp_path / "anchor.p7s"),
        "-content",
        str(tmp_path / "statement.json"),
        "-CAfile",
        str(pki.ca_path),
        "-out",
        str(tmp_path / "out"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    (tmp_path / "statement.json").write_bytes(STATEMENT.replace(b"3", b"4"))
    refused = subprocess.run(command, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
