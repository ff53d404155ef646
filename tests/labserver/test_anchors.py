"""Anchors of the audit trail outside the database (issue 15, point 2).

Each test plays the attacker with what the database owner could do (triggers bypassed
as in ``test_audit.py``): a history rewritten with every later hash recomputed, a
restore to before the last anchor, a forged anchor, a trail truncated. ``verify_audit``
alone cannot see the first two; ``verify_audit --anchors`` must, naming the organization,
the anchor and the first entry at fault. Signatures are real (the DEMO PKI, a local RFC
3161 TSA), the anchors endpoint is read over HTTP.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from certificates.detached import sign_detached, verify_detached
from certificates.pki import ensure_demo_pki
from certificates.tsa import serve_tsa
from labserver.core import audit
from labserver.core.audit import chain_key, hash_of, verify_audit
from labserver.core.models import GENESIS, AuditAnchor, AuditChain, AuditEntry
from labserver.issuance.anchors import published, statement_bytes
from labserver.issuance.keys import forget_signers
from labserver.issuance.models import Certificate, SigningKeyRecord
from tests.support.dbroles import as_owner
from tests.support.issuing import approved_run, issue
from tests.support.lims import PASSWORD, Center

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_pki")]


@pytest.fixture(autouse=True)
def anchor_dir(settings: Any, tmp_path: Path) -> Path:
    directory = tmp_path / "anchors"
    settings.CALTRACE_ANCHOR_DIR = directory
    forget_signers()
    return directory


def _ca(center: Center, pki_dir: Path) -> bytes:
    return (pki_dir / center.org.code / "ca.pem").read_bytes()


def _lines(anchor_dir: Path, code: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (anchor_dir / f"{code}.jsonl").read_text().splitlines()]


def _move_head(center: Center, reason: str) -> None:
    """One more audited change in the center's chain."""
    with transaction.atomic():
        audit.record(
            actor=center.quality_manager,
            action="note.test",
            object_type="note",
            object_id=reason,
            organization_id=center.org.pk,
            reason=reason,
        )


def _rewrite(key: str, seq: int, reason: str) -> None:
    """Edit entry ``seq``'s reason and recompute every later hash and the head, so that
    the chain is consistent again: the attack plain ``verify_audit`` cannot see."""
    # What a superuser of the database can still do: the triggers off for a transaction.
    with as_owner(triggers=False):
        previous = AuditEntry.objects.get(chain=key, seq=seq - 1).hash if seq > 1 else GENESIS
        for entry in AuditEntry.objects.filter(chain=key, seq__gte=seq).order_by("seq"):
            if entry.seq == seq:
                entry.reason = reason
            digest = hash_of(entry, previous)
            AuditEntry.objects.filter(pk=entry.pk).update(
                reason=entry.reason, prev_hash=previous, hash=digest
            )
            previous = digest
        AuditChain.objects.filter(key=key).update(head=previous)


def _restore_to(key: str, length: int) -> None:
    """The chain as an older backup holds it: entries after ``length`` gone, head moved back."""
    # What a superuser of the database can still do: the triggers off for a transaction.
    with as_owner(triggers=False):
        AuditEntry.objects.filter(chain=key, seq__gt=length).delete()
        head = AuditEntry.objects.get(chain=key, seq=length).hash
        AuditChain.objects.filter(key=key).update(length=length, head=head)


def _two_anchors(center: Center) -> tuple[AuditAnchor, AuditAnchor]:
    """Anchor the center's chain, append two entries, anchor it again."""
    call_command("anchor_audit", stdout=io.StringIO())
    first = AuditAnchor.objects.get(chain=chain_key(center.org.pk))
    _move_head(center, "one")
    _move_head(center, "two")
    call_command("anchor_audit", stdout=io.StringIO())
    second = AuditAnchor.objects.filter(chain=chain_key(center.org.pk)).latest("length")
    assert second.length == first.length + 2
    return first, second


def _signed_by(center: Center, statement: dict[str, Any], pki_dir: Path) -> str:
    """``statement`` signed with ``center``'s demo key, base64 as published."""
    key = ensure_demo_pki(pki_dir / center.org.code, center.org.name).signing_key()
    return base64.b64encode(sign_detached(key, statement_bytes(statement))).decode()


def _verify(*sources: Any) -> tuple[bool, str]:
    out, err = io.StringIO(), io.StringIO()
    args = [f"--anchors={source}" for source in sources]
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, err.getvalue() + str(exc)
    return True, out.getvalue()


# ------------------------------------------------------------------ writing anchors


def test_issuing_a_certificate_writes_a_signed_anchor_in_the_table_and_the_file(
    center: Center,
    demo_pki_dir: Path,
    anchor_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run = approved_run(center)
    with django_capture_on_commit_callbacks(execute=True):
        response = issue(center, run)
    assert response.status_code == 201, response.json()
    key = chain_key(center.org.pk)
    head = AuditChain.objects.get(key=key)
    anchor = AuditAnchor.objects.get(chain=key)
    # The anchor states where the chain stood after the issue (its entry included).
    assert (anchor.length, anchor.head) == (head.length, head.head)
    assert AuditEntry.objects.get(chain=key, seq=anchor.length).action == "job.issued"
    assert anchor.trigger == AuditAnchor.Trigger.CERTIFICATE
    # The same statement is in the organization's file, outside the database.
    assert _lines(anchor_dir, center.org.code) == [published(anchor)]
    # The signature verifies with the organization's CA alone, by the key that signed the
    # certificate.
    found = verify_detached(
        statement_bytes(published(anchor)["statement"]),
        bytes(anchor.signature),
        trust_roots=[_ca(center, demo_pki_dir)],
    )
    assert found.ok, found.problems
    record = SigningKeyRecord.objects.get(organization=center.org)
    assert found.fingerprint == anchor.signer_fingerprint == record.fingerprint
    # An amendment (a new certificate) anchors the chain again, where it stands after it.
    with django_capture_on_commit_callbacks(execute=True):
        amended = center.client("signatory").post(
            f"/api/v1/certificates/{response.json()['id']}/amend/",
            {"password": PASSWORD, "reason": "customer address corrected"},
            format="json",
        )
    assert amended.status_code == 201, amended.json()
    latest = AuditAnchor.objects.filter(chain=key).latest("length")
    assert latest.length == AuditChain.objects.get(key=key).length > anchor.length
    assert AuditEntry.objects.get(chain=key, seq=latest.length).action == "certificate.amend"
    assert len(_lines(anchor_dir, center.org.code)) == 2


def test_a_failed_anchor_never_loses_the_certificate_and_is_logged(
    center: Center,
    settings: Any,
    tmp_path: Path,
    caplog: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the anchor directory should be")
    settings.CALTRACE_ANCHOR_DIR = blocked
    run = approved_run(center)
    with (
        caplog.at_level(logging.ERROR, logger="caltrace.audit.anchors"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = issue(center, run)
    assert response.status_code == 201, response.json()
    assert Certificate.objects.filter(run=run).exists()
    assert not AuditAnchor.objects.exists()  # no row without its line in the file
    assert f"audit anchor of {chain_key(center.org.pk)} failed" in caplog.text


def test_anchor_audit_anchors_the_moved_heads_only_and_is_idempotent(
    center: Center, other_center: Center, anchor_dir: Path
) -> None:
    out = io.StringIO()
    call_command("anchor_audit", stdout=out)
    both = {chain_key(center.org.pk), chain_key(other_center.org.pk)}
    assert set(AuditAnchor.objects.values_list("chain", flat=True)) == both
    # The system chain and the customers' chains have no key of their own: said, not signed.
    assert "not anchored system" in out.getvalue()
    assert "2 anchored, 0 unchanged" in out.getvalue()

    out = io.StringIO()
    call_command("anchor_audit", stdout=out)
    assert "0 anchored, 2 unchanged" in out.getvalue()
    assert AuditAnchor.objects.count() == 2

    _move_head(center, "moved")
    call_command("anchor_audit", stdout=io.StringIO())
    latest = AuditAnchor.objects.filter(chain=chain_key(center.org.pk)).order_by("-length")
    assert AuditAnchor.objects.count() == 3
    assert latest[0].length == AuditChain.objects.get(key=chain_key(center.org.pk)).length
    assert len(_lines(anchor_dir, center.org.code)) == 2
    assert len(_lines(anchor_dir, other_center.org.code)) == 1


def test_anchor_audit_force_time_stamps_every_head_where_a_tsa_is_set(
    center: Center,
    settings: Any,
    demo_pki_dir: Path,
) -> None:
    pki = ensure_demo_pki(demo_pki_dir / center.org.code, center.org.name)
    tsa_key, tsa_cert = pki.tsa_credentials()
    call_command("anchor_audit", stdout=io.StringIO())
    with serve_tsa(tsa_key, tsa_cert, [pki.ca_certificate]) as url:
        settings.CALTRACE_TSA_URL = url
        out = io.StringIO()
        call_command("anchor_audit", "--force", f"--organization={center.org.code}", stdout=out)
    assert "time-stamped" in out.getvalue()
    forced = AuditAnchor.objects.get(trigger=AuditAnchor.Trigger.FORCED)
    assert forced.timestamped
    found = verify_detached(
        statement_bytes(published(forced)["statement"]),
        bytes(forced.signature),
        trust_roots=[pki.ca_pem],
    )
    assert found.ok, found.problems
    assert found.timestamp is not None
    assert abs((found.timestamp - forced.at).total_seconds()) < 60


def test_a_system_anchor_organization_anchors_the_system_chain(
    center: Center,
    settings: Any,
    demo_pki_dir: Path,
) -> None:
    settings.CALTRACE_SYSTEM_ANCHOR_ORGANIZATION = center.org.code
    call_command("anchor_audit", stdout=io.StringIO())
    system = AuditAnchor.objects.get(chain="system")
    assert system.organization_code == center.org.code
    ok, text = _verify(settings.CALTRACE_ANCHOR_DIR)
    assert ok, text


# ------------------------------------------------------------------ publishing anchors


def test_the_public_endpoint_lists_the_anchors_to_anyone(
    center: Center, other_center: Center
) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    anonymous = APIClient()
    response = anonymous.get("/api/v1/audit/anchors/", {"organization": center.org.code})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    mine = AuditAnchor.objects.get(organization_code=center.org.code)
    assert body["count"] == 1
    assert body["results"] == [published(mine)]
    everything = anonymous.get("/api/v1/audit/anchors/", {"page_size": 1}).json()
    assert everything["count"] == 2
    assert everything["next"]
    refused = anonymous.get("/api/v1/audit/anchors/", {"organization": " "})
    assert refused.status_code == 400
    assert refused.json()["field"] == "organization"
    schema = anonymous.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/audit/anchors/"]["get"]
    assert operation["operationId"] == "audit_anchors"
    assert "organization" in [p["name"] for p in operation["parameters"]]


def test_the_open_data_publishes_the_anchors(center: Center) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    anchor = AuditAnchor.objects.get()
    catalogue = APIClient().get("/open-data/datasets.json").json()
    assert "audit-anchors" in [d["identifier"] for d in catalogue["dataset"]]
    response = APIClient().get("/open-data/audit-anchors.json")
    rows = json.loads(b"".join(response.streaming_content))["rows"]  # type: ignore[attr-defined]
    statement = published(anchor)["statement"]
    assert rows == [
        {
            "organization": center.org.code,
            "chain": anchor.chain,
            "length": anchor.length,
            "head": anchor.head,
            "at": statement["at"],
            "signature": published(anchor)["signature"],
            "signer_fingerprint": anchor.signer_fingerprint,
            "timestamped": False,
        }
    ]


# ------------------------------------------------------------------ checking against anchors


def test_verify_audit_passes_against_the_anchors_of_an_untouched_trail(
    center: Center, other_center: Center, anchor_dir: Path
) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    _move_head(center, "after the anchor")  # a head ahead of its anchor is normal
    ok, text = _verify(anchor_dir)
    assert ok, text
    assert "2 anchor(s) of 2 chain(s) checked" in text
    ok, text = _verify(anchor_dir / f"{center.org.code}.jsonl")
    assert ok, text


def test_verify_audit_detects_a_rewritten_history_with_recomputed_hashes(
    center: Center, anchor_dir: Path
) -> None:
    key = chain_key(center.org.pk)
    first, second = _two_anchors(center)
    _rewrite(key, first.length + 2, "nothing happened here")
    # The attacker's view: the chain is consistent again, plain verify_audit is fooled ...
    assert verify_audit().ok
    # ... the anchors are not.
    ok, text = _verify(anchor_dir)
    assert not ok
    assert f"{center.org.code}: history rewritten: entry {second.length}" in text
    assert (
        f"anchor of {center.org.code} (length {second.length}, {second.at:%Y-%m-%d %H:%M:%S} UTC)"
        in text
    )
    assert f"the last anchor that still matches is length {first.length}" in text
    at_fault = AuditEntry.objects.get(chain=key, seq=first.length + 1)
    assert f"entry {first.length + 1} (id {at_fault.pk})" in text
    assert f"first entry at fault: entry {first.length + 1}" in text


def test_verify_audit_detects_a_restore_to_before_the_last_anchor(
    center: Center, anchor_dir: Path
) -> None:
    key = chain_key(center.org.pk)
    first, second = _two_anchors(center)
    _restore_to(key, first.length + 1)
    assert verify_audit().ok  # an older backup is a consistent chain
    ok, text = _verify(anchor_dir)
    assert not ok
    assert (
        f"{center.org.code}: the chain has {first.length + 1} entries but the anchor of "
        f"{center.org.code} (length {second.length}, {second.at:%Y-%m-%d %H:%M:%S} UTC) proves "
        f"{second.length}: entries {first.length + 2}..{second.length} missing, restored to "
        f"before {second.at:%Y-%m-%d %H:%M:%S} UTC"
    ) in text


def test_verify_audit_refuses_a_forged_anchor(
    center: Center,
    other_center: Center,
    anchor_dir: Path,
    demo_pki_dir: Path,
) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    genuine = _lines(anchor_dir, center.org.code)[0]
    # A statement altered after signing: the signature no longer matches it.
    altered = json.loads(json.dumps(genuine))
    altered["statement"]["head"] = "f" * 64
    # A statement for this center signed with the other center's key: valid CMS, wrong signer.
    impostor = json.loads(json.dumps(genuine))
    impostor["signature"] = _signed_by(other_center, impostor["statement"], demo_pki_dir)
    # A statement dated in the future, signed with the right key.
    future = json.loads(json.dumps(genuine))
    future["statement"]["at"] = (timezone.now() + timedelta(days=1)).isoformat()
    future["signature"] = _signed_by(center, future["statement"], demo_pki_dir)
    forged = anchor_dir / "forged.jsonl"
    forged.write_text("\n".join(json.dumps(line) for line in (altered, impostor, future)))
    ok, text = _verify(forged)
    assert not ok
    assert text.count(f"anchor of {center.org.code} (length {genuine['statement']['length']}") == 3
    assert f"{forged}:1) is not genuine: The signature does not match" in text
    assert f"{forged}:2) is not genuine: The signer is not trusted" in text
    assert f"{forged}:3) is not genuine: It is dated in the future" in text
    ok, text = _verify(anchor_dir / f"{center.org.code}.jsonl")
    assert ok, text


def test_verify_audit_refuses_anchors_of_a_key_revoked_without_a_time_stamp(
    center: Center,
    anchor_dir: Path,
    demo_pki_dir: Path,
    settings: Any,
    tmp_path: Path,
) -> None:
    """A stolen key can date what it signs as it likes: once its certificate is revoked
    (CALTRACE_SIGNING_CRLS), an anchor it signed counts only if a time-stamp proves it
    was made before the revocation; these were not time-stamped."""
    call_command("anchor_audit", stdout=io.StringIO())
    anchors = anchor_dir / f"{center.org.code}.jsonl"
    pki = ensure_demo_pki(demo_pki_dir / center.org.code, center.org.name)
    crl = tmp_path / "ca.crl"
    crl.write_bytes(pki.crl_der)
    settings.CALTRACE_SIGNING_CRLS = [str(crl)]
    ok, text = _verify(anchors)
    assert ok, text  # the CA's CRL, nothing revoked yet
    crl.write_bytes(pki.revoke(pki.signing_key().certificate, revoked_at=timezone.now()))
    ok, text = _verify(anchors)
    assert not ok
    assert "is not genuine: The signer's certificate was revoked on" in text
    assert "no time-stamp proves the signature was made before" in text
    settings.CALTRACE_SIGNING_CRLS = [str(tmp_path / "missing.crl")]
    with pytest.raises(CommandError, match="CALTRACE_SIGNING_CRLS"):
        call_command("verify_audit", f"--anchors={anchors}", stdout=io.StringIO())


def test_verify_audit_refuses_an_anchor_of_another_centers_chain(
    center: Center,
    other_center: Center,
    anchor_dir: Path,
    demo_pki_dir: Path,
) -> None:
    """A key the trust list accepts may still not anchor another center's chain."""
    call_command("anchor_audit", stdout=io.StringIO())
    statement = dict(_lines(anchor_dir, center.org.code)[0]["statement"])
    statement.update(organization=other_center.org.code, head="0" * 64)
    signature = _signed_by(other_center, statement, demo_pki_dir)
    false = anchor_dir / "false.jsonl"
    false.write_text(json.dumps({"statement": statement, "signature": signature}))
    ok, text = _verify(false)
    assert not ok
    assert (
        f"signed by {other_center.org.code}, but {chain_key(center.org.pk)} is the chain of "
        f"{center.org.code}: only its own key anchors it"
    ) in text
    assert "history rewritten" not in text  # the false anchor is not used


def test_a_truncated_trail_fails_verify_audit_even_without_anchors(
    center: Center, anchor_dir: Path
) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    length = AuditChain.objects.get(key=chain_key(center.org.pk)).length
    # What a superuser of the database can still do: the triggers off for a transaction.
    with as_owner(triggers=False):
        AuditEntry.objects.all().delete()
        AuditChain.objects.all().delete()
    report = verify_audit()
    assert not report.ok
    assert any(
        p.chain == chain_key(center.org.pk)
        and f"organization {center.org.code} has " in p.problem
        and "but no audit chain" in p.problem
        for p in report.problems
    ), report.problems
    ok, text = _verify()
    assert not ok
    assert "0 chain(s)" in text
    ok, text = _verify(anchor_dir)
    assert f"entries 1..{length} missing" in text


def test_a_chain_reset_to_empty_fails_verify_audit(center: Center) -> None:
    # What a superuser of the database can still do: the triggers off for a transaction.
    with as_owner(triggers=False):
        AuditEntry.objects.filter(chain=chain_key(center.org.pk)).delete()
        AuditChain.objects.filter(key=chain_key(center.org.pk)).update(length=0, head=GENESIS)
    problems = [str(p) for p in verify_audit().problems]
    assert any("but an empty audit chain" in p for p in problems), problems


def test_verify_audit_names_an_unreadable_anchor_source(tmp_path: Path, center: Center) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"statement": {"chain": "org:1"}, "signature": "AA=="}\n')
    with pytest.raises(CommandError, match=rf"{broken}:1: statement.organization"):
        call_command("verify_audit", f"--anchors={broken}", stdout=io.StringIO())
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="holds no anchor"):
        call_command("verify_audit", f"--anchors={empty}", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no such file"):
        call_command("verify_audit", f"--anchors={tmp_path / 'nowhere'}", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_verify_audit_reads_the_anchors_from_the_public_url(
    center: Center, live_server: Any
) -> None:
    call_command("anchor_audit", stdout=io.StringIO())
    _move_head(center, "one")
    call_command("anchor_audit", stdout=io.StringIO())
    url = f"{live_server.url}/api/v1/audit/anchors/?page_size=1"
    ok, text = _verify(url)
    assert ok, text
    assert "2 anchor(s) of 1 chain(s) checked" in text  # both pages were read
    _rewrite(chain_key(center.org.pk), 1, "rewritten")
    ok, text = _verify(url)
    assert not ok
    assert "history rewritten" in text
