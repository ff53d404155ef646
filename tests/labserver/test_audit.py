"""The audit trail: every change recorded, hash-chained, append-only, verified."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

from labserver.core.audit import verify_audit
from labserver.core.models import AuditChain, AuditEntry
from tests.support.dbroles import as_owner
from tests.support.lims import (  # noqa: F401  (CENTER_BUILT_ONCE)
    PASSWORD,
    Center,
    center_built_once,
    center_world,
    dmm_built_once,
    post_run,
    procedure_built_once,
    run_payload,
)

pytestmark = pytest.mark.django_db


def run_through_review(center: Center) -> str:
    payload = run_payload(center)
    post_run(center, payload)
    center.client("reviewer").post(
        f"/api/v1/runs/{payload['run_id']}/review/",
        {"password": PASSWORD, "comment": "budget checked"},
        format="json",
    )
    return str(payload["run_id"])


def test_every_state_change_is_recorded_with_who_what_and_why(center: Center) -> None:
    run_id = run_through_review(center)
    review = AuditEntry.objects.get(action="run.review", object_id=run_id)
    assert review.actor == f"user:{center.reviewer.username}"
    assert review.before == {"state": "submitted"}
    assert review.after is not None
    assert review.after["state"] == "reviewed"
    assert review.reason == "budget checked"
    submit = AuditEntry.objects.get(action="run.submit", object_id=run_id)
    assert submit.actor == "agent:bench-1"
    job_moves = list(
        AuditEntry.objects.filter(object_type="job", object_id=str(center.job.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert job_moves == [
        "job.create",
        "job.accepted",
        "job.in_progress",
        "job.measured",
        "job.reviewed",
    ]


def test_the_chain_verifies_when_nothing_was_touched(center: Center) -> None:
    run_through_review(center)
    report = verify_audit()
    assert report.ok, report.problems
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "audit trail intact" in out.getvalue()


def test_verify_audit_detects_an_altered_entry(center: Center) -> None:
    run_through_review(center)
    entry = AuditEntry.objects.get(action="run.review")
    with as_owner(triggers=False):  # what a database superuser could still do
        AuditEntry.objects.filter(pk=entry.pk).update(reason="nothing to see")
    report = verify_audit()
    assert [(p.seq, "altered" in p.problem) for p in report.problems] == [(entry.seq, True)]
    err = io.StringIO()
    with pytest.raises(CommandError, match="NOT intact"):
        call_command("verify_audit", stderr=err)
    assert f"entry {entry.seq} (id {entry.pk})" in err.getvalue()


def test_verify_audit_detects_a_deleted_entry(center: Center) -> None:
    run_through_review(center)
    entry = AuditEntry.objects.get(action="run.submit")
    with as_owner(triggers=False):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    problems = verify_audit().problems
    assert any("deleted" in p.problem for p in problems)


def test_verify_audit_detects_the_last_entry_deleted(center: Center) -> None:
    run_through_review(center)
    chain = AuditChain.objects.get(key=f"org:{center.org.pk}")
    last = AuditEntry.objects.get(chain=chain.key, seq=chain.length)
    with as_owner(triggers=False):
        AuditEntry.objects.filter(pk=last.pk).delete()
    problems = verify_audit().problems
    assert len(problems) == 1
    assert "latest entries deleted" in problems[0].problem


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditentry SET reason = 'x'",
        "DELETE FROM core_auditentry",
        "UPDATE measurements_reading SET value = 0",
        "DELETE FROM measurements_point",
    ],
)
def test_the_database_refuses_to_change_evidence(center: Center, statement: str) -> None:
    run_through_review(center)
    # As the owner: the runtime role is refused before the trigger (no UPDATE nor DELETE
    # granted, test_append_only.py); the trigger refuses the owner as well.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        as_owner(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
