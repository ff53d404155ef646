"""Management commands: organizations, people, agents, the demo data set, the audit check."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError

from labserver.accounts.models import Agent, Membership, Organization, User
from labserver.core.audit import verify_audit
from labserver.core.models import AuditEntry
from labserver.jobs.models import Job, Procedure
from labserver.standards.models import ReferenceStandard
from procedures.definition import library, load_definition

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createorganization_and_createuser(monkeypatch: pytest.MonkeyPatch) -> None:
    run("createorganization", "DIR", "Directorate", "--kind", "directorate")
    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center", "--parent", "DIR")
    parent = Organization.objects.get(code="QT1").parent
    assert parent is not None
    assert parent.code == "DIR"
    monkeypatch.setenv("ALICE_PASSWORD", "a long passphrase for alice")
    out = run(
        "createuser",
        "alice",
        "--full-name",
        "Alice Nguyen",
        "--org",
        "QT1",
        "--role",
        "metrologist",
        "--role",
        "reviewer",
        "--fields",
        "mass,pressure",
        "--password-env",
        "ALICE_PASSWORD",
        "--token",
    )
    assert "token: ctu_" in out
    alice = User.objects.get(username="alice")
    assert alice.check_password("a long passphrase for alice")
    assert set(Membership.objects.filter(user=alice).values_list("role", flat=True)) == {
        "metrologist",
        "reviewer",
    }
    assert AuditEntry.objects.filter(action="membership.grant").count() == 2


def test_createuser_refuses_an_unknown_field() -> None:
    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center")
    with pytest.raises(CommandError, match="unknown field"):
        run(
            "createuser",
            "bob",
            "--full-name",
            "Bob",
            "--org",
            "QT1",
            "--role",
            "metrologist",
            "--fields",
            "massage",
        )
    assert not User.objects.filter(username="bob").exists()


def test_issuetoken_prints_a_token_that_authenticates_and_keeps_only_its_hash() -> None:
    from rest_framework.test import APIClient

    from labserver.accounts.models import ApiToken

    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center")
    run("createuser", "bob", "--full-name", "Bob Tran", "--org", "QT1", "--role", "reviewer")
    token = run("issuetoken", "bob", "--label", "demo script").strip()
    assert token.startswith("ctu_")
    assert "\n" not in token
    row = ApiToken.objects.get(user__username="bob", label="demo script")
    assert token not in row.token_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").json()["username"] == "bob"
    assert AuditEntry.objects.filter(action="token.issue").exists()
    with pytest.raises(CommandError, match="username: no person 'nobody'"):
        run("issuetoken", "nobody")


def test_registeragent_stores_the_public_key_and_prints_a_token(tmp_path: Path) -> None:
    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center")
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "bench.pub"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    out = run("registeragent", "bench-7", "--org", "QT1", "--public-key", str(pem))
    token = out.split("token: ")[1].strip()
    agent = Agent.objects.get(name="bench-7")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert agent.public_key == base64.b64encode(raw).decode()
    assert token.startswith("cta_")
    assert token not in agent.token_hash  # only the hash is stored


def test_registeragent_refuses_a_key_that_is_not_ed25519(tmp_path: Path) -> None:
    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center")
    with pytest.raises(CommandError, match="32 bytes"):
        run(
            "registeragent",
            "bench-7",
            "--org",
            "QT1",
            "--public-key-base64",
            base64.b64encode(b"short").decode(),
        )


def test_loaddemo_builds_the_ladder_and_a_clean_audit_trail(tmp_path: Path) -> None:
    out = run("loaddemo", "--keys-dir", str(tmp_path))
    # one agent per bench of the HN center, each with its key, token and bench file
    for bench in ("electrical", "mass", "pressure", "temperature", "flow"):
        assert f"HN bench-{bench}: token cta_" in out
        assert f"HN bench-{bench}: {tmp_path / f'HN-bench-{bench}.yaml'}" in out
        for suffix in ("pem", "token", "yaml"):
            assert (tmp_path / f"HN-bench-{bench}.{suffix}").exists()
    assert "DN field-1: token cta_" in out
    assert Organization.objects.filter(kind="provincial_center").count() == 2
    national = ReferenceStandard.objects.filter(level="national")
    assert national.count() == 6
    # every center's reference standard traces to a national standard through its certificate
    # (each of its certificates: the HN calibrator keeps its previous one, in force when it
    # calibrated the old reference DMM)
    for standard in ReferenceStandard.objects.filter(level="reference"):
        for certificate in standard.certificates.all():
            used = certificate.reference_standards.all()
            assert [s.level for s in used] == ["national"], certificate.number
    # every shipped procedure is in the catalog, from its YAML file, with a DEMO job
    assert set(Job.objects.values_list("procedure__procedure_id", flat=True)) == set(library())
    assert all(
        p.content_hash == load_definition(library()[p.procedure_id]).content_hash
        for p in Procedure.objects.all()
    )
    assert verify_audit().ok
    with pytest.raises(CommandError, match="already loaded"):
        run("loaddemo", "--keys-dir", str(tmp_path))


def test_verify_audit_reports_the_count() -> None:
    run("createorganization", "QT1", "Center 1", "--kind", "provincial_center")
    assert "1 chain(s), 1 entries verified" in run("verify_audit")
