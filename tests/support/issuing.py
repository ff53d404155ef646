"""Runs taken through review and approval to an issued certificate, through the API as the
people do it (the DEMO PKI signs: a test asks for the ``demo_pki`` fixture).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labserver.accounts.models import User
from labserver.issuance.models import Certificate
from labserver.measurements.models import Run
from labserver.standards.models import ReferenceStandard
from tests.support.bench_runs import nawi_run
from tests.support.lims import (
    PASSWORD,
    Center,
    next_job,
    person,
    post_run,
    run_payload,
    with_serial,
)


def submitted_run(center: Center, **changes: Any) -> Run:
    payload = run_payload(center, **changes)
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    return Run.objects.get(pk=payload["run_id"])


def submitted_runs(center: Center, count: int) -> list[Run]:
    """``count`` runs, one job each, as the agent submits them."""
    runs = []
    for _ in range(count):
        next_job(center)
        runs.append(submitted_run(center))
    return runs


def disagreeing_run(center: Center) -> Run:
    """A run, on a job of its own, whose bench halved an uncertainty: one disagreement
    between the bench and the server."""
    next_job(center)
    payload = run_payload(center, points=2)
    payload["points"][1]["result"]["U"] *= 0.5
    response = post_run(center, payload)
    assert response.status_code == 201, response.json()
    run = Run.objects.get(pk=payload["run_id"])
    assert run.disagreements == 1
    return run


def reviewed_run(center: Center) -> Run:
    run = submitted_run(center)
    response = center.client("reviewer").post(
        f"/api/v1/runs/{run.pk}/review/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.json()
    return run


def approved_run(center: Center) -> Run:
    with_serial(center)
    run = reviewed_run(center)
    response = center.client("signatory").post(
        f"/api/v1/runs/{run.pk}/approve/", {"password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.json()
    return Run.objects.get(pk=run.pk)


def issue(center: Center, run: Run) -> Any:
    return center.client("signatory").post(
        "/api/v1/certificates/", {"run": str(run.pk), "password": PASSWORD}, format="json"
    )


def approve_with(center: Center, run: Run, field: str) -> Run:
    """Review and approve ``run`` by people certified for ``field``."""
    from labserver.measurements.services import approve_run, review_run

    code = center.org.code.lower()
    reviewer = person(center.org, f"{code}-reviewer-{field}", "reviewer", [field])
    signatory = person(center.org, f"{code}-signatory-{field}", "signatory", [field])
    review_run(actor=reviewer, run=run, password=PASSWORD)
    approve_run(actor=signatory, run=run, password=PASSWORD)
    run.refresh_from_db()
    return run


def approved_verification(
    center: Center, tmp_path: Path, *, repeat_offsets: tuple[float, ...] = ()
) -> tuple[Run, Any]:
    """A verification of a class III balance (nawi-r76, the simulated balance), approved,
    and the signatory certified for mass who may issue it (``repeat_offsets``: what the
    balance adds to its repeated weighings, to fail its repeatability)."""
    from labserver.instruments.models import InstrumentType

    submitted = nawi_run(center, tmp_path, repeat_offsets=repeat_offsets)
    assert post_run(center, submitted.body).status_code == 201
    InstrumentType.objects.filter(code="nawi").update(verification_interval_months=12)
    ReferenceStandard.objects.filter(organization=center.org, serial="").update(
        manufacturer="Häfner", model="M1 set", serial="W-1"
    )
    with_serial(center)
    run = approve_with(center, Run.objects.get(pk=submitted.body["run_id"]), "mass")
    return run, User.objects.get(username=f"{center.org.code.lower()}-signatory-mass")


def issued(center: Center) -> Certificate:
    response = issue(center, approved_run(center))
    assert response.status_code == 201, response.json()
    return Certificate.objects.get(number=response.json()["number"])


def as_another_nodes(center: Center) -> tuple[Certificate, bytes, list[Any]]:
    """A certificate that exists here only as registry facts, as on the national node: it
    is issued for real (signed with the DEMO PKI), its PDF and facts read, then the issue
    rolled back and its facts written again as replication writes them."""
    from django.db import transaction

    from labserver.registry.models import CertificateFact, SigningKeyFact

    sid = transaction.savepoint()
    certificate = Certificate.objects.get(pk=issue(center, approved_run(center)).json()["id"])
    with certificate.pdf.open("rb") as handle:
        pdf = handle.read()
    facts: list[Any] = [
        *CertificateFact.objects.filter(number=certificate.number),
        *SigningKeyFact.objects.filter(issuer=center.org.code),
    ]
    transaction.savepoint_rollback(sid)
    assert not Certificate.objects.filter(number=certificate.number).exists()
    for fact in facts:
        type(fact).objects.bulk_create([fact])
    return certificate, pdf, facts
